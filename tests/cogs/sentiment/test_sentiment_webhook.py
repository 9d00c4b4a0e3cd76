"""Forwarding stored feedback to a webhook: a real aiohttp server on localhost plays the receiving pipeline."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from bot.events import FeedbackRecorded
from cogs.sentiment.suggester import INTERACTION_KIND
from tests.cogs.sentiment.helpers import ROOM


class Receiver:
    """Answers with the queued statuses in turn (200 once they run out); ``delay`` stalls every answer."""

    def __init__(self, statuses=(), delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.bodies: list[dict] = []
        self.hits = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        assert request.content_type == "application/json"
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.bodies.append(body)
        return web.Response(status=status, text="{}", content_type="application/json")


@pytest.fixture
async def serve():
    runners = []

    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_post("/feedback", receiver.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/feedback"

    yield start
    for runner in runners:
        await runner.cleanup()


async def forward(app, *events: FeedbackRecorded) -> None:
    for event in events:
        await app.bus.dispatch(event)
    await asyncio.wait_for(app.cogs.cogs["sentiment"].forwarder.queue.join(), 10)


async def test_each_stored_event_is_posted_as_json_with_retries(start_app, serve, clock):
    receiver = Receiver(statuses=[503])
    url = await serve(receiver)
    app = await start_app(webhook={"url": url, "backoff_seconds": 0, "max_attempts": 3})
    await forward(
        app,
        FeedbackRecorded(
            at=clock.now(),
            agent="helper",
            reward=0.5,
            source="explicit.reaction",
            room=ROOM,
            users=("alice",),
            context={"emoji": "👍"},
        ),
        FeedbackRecorded(at=clock.now(), agent="helper", reward=9.0, source="bad"),  # refused: never forwarded
    )
    assert receiver.hits == 2  # one 503, then the retry
    [body] = receiver.bodies
    assert body["agent"] == "helper" and body["reward"] == 0.5 and body["room"] == ROOM.key
    assert body["users"] == ["alice"] and body["context"] == {"emoji": "👍"} and body["id"] == 1
    assert app.metrics.value("steward_feedback_webhook_total", outcome="retried") == 1
    assert app.metrics.value("steward_feedback_webhook_total", outcome="ok") == 1


async def test_a_refusing_endpoint_is_given_up_at_once_and_counted(start_app, serve, clock):
    receiver = Receiver(statuses=[400])
    app = await start_app(webhook={"url": await serve(receiver), "backoff_seconds": 0, "max_attempts": 3})
    await forward(app, FeedbackRecorded(at=clock.now(), agent="helper", reward=0.1, source="explicit.owner"))
    assert receiver.hits == 1
    assert app.metrics.value("steward_feedback_webhook_total", outcome="failed") == 1
    assert await app.cogs.cogs["sentiment"].store.count("helper") == 1  # stored all the same


async def test_a_stalled_endpoint_times_out_and_does_not_hold_up_the_bus(start_app, serve, clock):
    receiver = Receiver(delay=2.0)
    app = await start_app(
        webhook={"url": await serve(receiver), "backoff_seconds": 0, "max_attempts": 2, "timeout_seconds": 0.2}
    )
    event = FeedbackRecorded(at=clock.now(), agent="helper", reward=0.1, source="explicit.owner")
    await app.bus.dispatch(event)  # returns at once: sending happens on the forwarder's own task
    assert app.cogs.cogs["sentiment"].forwarder.pending <= 1
    await asyncio.wait_for(app.cogs.cogs["sentiment"].forwarder.queue.join(), 10)
    assert receiver.hits == 2
    assert app.metrics.value("steward_feedback_webhook_total", outcome="failed") == 1


async def test_a_full_queue_drops_and_counts(start_app, clock):
    app = await start_app(webhook={"url": "http://127.0.0.1:9/none", "queue_size": 1, "max_attempts": 1})
    forwarder = app.cogs.cogs["sentiment"].forwarder
    # no await between the submissions, so the sender cannot take any: one fits, four are dropped
    assert [forwarder.submit({"id": n}) for n in range(5)] == [True, False, False, False, False]
    assert app.metrics.value("steward_feedback_webhook_total", outcome="dropped") == 4


def test_the_webhook_url_is_checked(make_settings):
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as info:
        make_settings(sentiment={"webhook": {"url": "ftp://example.org/x"}})
    assert "sentiment.webhook.url" in str(info.value)


async def test_events_not_delivered_are_sent_again_at_the_next_start(start_app, serve, clock):
    down = Receiver(statuses=[503, 503])
    app = await start_app(webhook={"url": await serve(down), "backoff_seconds": 0, "max_attempts": 2})
    await forward(app, FeedbackRecorded(at=clock.now(), agent="helper", reward=0.4, source="explicit.owner"))
    store = app.cogs.cogs["sentiment"].store
    assert [r.agent for r in await store.pending_forward()] == ["helper"]
    await app.stop()

    up = Receiver()
    app2 = await start_app(webhook={"url": await serve(up), "backoff_seconds": 0})
    await asyncio.wait_for(app2.cogs.cogs["sentiment"].forwarder.queue.join(), 10)
    [body] = up.bodies
    assert body["agent"] == "helper" and body["reward"] == 0.4 and body["id"] == 1
    assert await app2.cogs.cogs["sentiment"].store.pending_forward() == []


async def test_without_a_webhook_nothing_is_owed(sapp, clock):
    await sapp.bus.dispatch(FeedbackRecorded(at=clock.now(), agent="helper", reward=0.4, source="explicit.owner"))
    assert await sapp.cogs.cogs["sentiment"].store.pending_forward() == []


async def test_a_failed_load_is_rolled_back_cleanly(sentiment_settings, adapter, clock):
    from bot.app import StewardApp

    settings = sentiment_settings(webhook={"url": "http://127.0.0.1:9/none"})
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    # Taken: the cog's own claim on its button prefix fails at the end of its load.
    app.interactions.register(INTERACTION_KIND, lambda click: None, owner="someone-else")
    await app.start()
    try:
        assert "sentiment" in app.cogs.failed and "already owned" in app.cogs.failed["sentiment"]
        assert app.commands.get("feedback") is None and "sentiment" not in app.health_probes
    finally:
        await app.stop()
