"""Overload: when Detoxify cannot answer in time, the fast model does; every message is still moderated, the texts
shed are counted, health says so, and an episode is logged once at its start and once at its end."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from structlog.testing import capture_logs

from bot.actions import SendDirectMessage
from bot.app import StewardApp
from bot.events import MessageCreated
from bot.metrics import Metrics
from bot.scoring import ScorerState, TextScorer
from cogs.toxicity.metrics import ToxicityMetrics
from cogs.toxicity.shedding import Shedding
from domain import Actor, ActorKind, Room

ROOM = Room(platform="test", server="s1", channel="general")
OFFENSIVE = "shut up you stupid moron"


class Stuck:
    """Wraps Detoxify's batch function so that it answers only once released (a model far slower than traffic)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.started = threading.Event()
        self.texts: list[str] = []

    def __call__(self, texts: Sequence[str]) -> Any:
        self.texts.extend(texts)
        self.started.set()
        self.release.wait(30)
        return self.inner(texts)


async def start(make_settings, adapter, clock, section: dict[str, Any], **sections: Any) -> tuple[StewardApp, Any]:
    settings = make_settings(cogs={"enabled": ["toxicity", "moderator"]}, toxicity=section, **sections)
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    scorer = app.services.get(TextScorer)
    assert await scorer.wait_loaded() is ScorerState.READY
    return app, scorer


def stick(scorer: Any) -> Stuck:
    batcher = scorer.detoxify._batcher
    stuck = Stuck(batcher._score)
    batcher._score = stuck
    return stuck


def human(number: int, at: float, text: str = OFFENSIVE) -> MessageCreated:
    author = Actor("test", f"user{number}", ActorKind.HUMAN, f"user{number}", frozenset())
    return MessageCreated(at=at, room=ROOM, message_id=f"h{number}", author=author, text=text)


def shed(app: StewardApp, audience: str, reason: str) -> float:
    return app.metrics.value("steward_toxicity_shed_total", audience=audience, reason=reason) or 0.0


async def test_people_are_moderated_by_the_fast_model_while_detoxify_is_stuck(
    make_settings, adapter, clock, torch_section
) -> None:
    app, scorer = await start(make_settings, adapter, clock, {**torch_section, "deadline_ms": 50})
    stuck = stick(scorer)
    try:
        with capture_logs() as logs:
            await asyncio.gather(*(app.bus.dispatch(human(n, clock.now() + n)) for n in range(1, 4)))
        # Every author warned, from the fast model's score: none was left waiting behind Detoxify.
        assert sorted(w.user_id for w in adapter.of(SendDirectMessage)) == ["user1", "user2", "user3"]
        assert app.metrics.value("steward_listener_errors_total", cog="moderator", listener="on_message") in (
            None,
            0.0,
        )
        assert shed(app, "human", "deadline") + shed(app, "human", "wait") == 3
        started = [entry for entry in logs if entry["event"] == "toxicity_shedding_started"]
        assert len(started) == 1 and started[0]["log_level"] == "warning"
        health = app.health()["components"]["toxicity"]
        assert health["up"] and health["shedding"] == "yes"
        assert health["shed"].startswith("now: 3 of 3 texts for Detoxify scored by the fast model")
        assert app.metrics.value("steward_toxicity_shedding") == 1
    finally:
        stuck.release.set()
        await app.stop()


async def test_a_full_queue_sends_agents_to_the_fast_model_at_once(
    make_settings, adapter, clock, torch_section
) -> None:
    section = {**torch_section, "queue_limit": 1, "deadline_ms": 60_000}
    app, scorer = await start(make_settings, adapter, clock, section)
    stuck = stick(scorer)
    try:
        first = asyncio.create_task(scorer.assess("hello there", ROOM, agent=True))
        await asyncio.get_running_loop().run_in_executor(None, stuck.started.wait, 30)
        second = asyncio.create_task(scorer.assess("and again", ROOM, agent=True))
        await asyncio.sleep(0.01)
        assert scorer.detoxify.pending == 1  # the queue is at its bound
        refused = await scorer.assess("you are a worthless idiot", ROOM, agent=True)
        assert (refused.action, set(refused.scores)) == ("reject", {"toxicity"})
        assert refused.reason.endswith("by the fast model")
        assert shed(app, "agent", "queue_full") == 1
        stuck.release.set()
        # Those admitted get Detoxify's verdict.
        assert len((await first).scores) > 1 and len((await second).scores) > 1
    finally:
        stuck.release.set()
        await app.stop()


async def test_the_deadline_stays_under_the_bus_listener_timeout(make_settings, adapter, clock, torch_section) -> None:
    # Configured to wait a minute for Detoxify, with listeners cut off after 0.4 s: the listener's budget wins.
    app, scorer = await start(
        make_settings, adapter, clock, {**torch_section, "deadline_ms": 60_000}, bus={"listener_timeout": 0.4}
    )
    stuck = stick(scorer)
    try:
        assert scorer.deadline == 0.2
        await app.bus.dispatch(human(1, clock.now() + 1))
        assert [w.user_id for w in adapter.of(SendDirectMessage)] == ["user1"]
    finally:
        stuck.release.set()
        await app.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_episode_is_logged_once_when_it_starts_and_once_when_it_ends() -> None:
    clock = FakeClock()
    shedding = Shedding(ToxicityMetrics.register(Metrics()), quiet_seconds=10.0, clock=clock)
    assert shedding.health() == {"shedding": "no", "shed_total": 0}
    with capture_logs() as logs:
        for _ in range(5):
            clock.now += 1
            shedding.shed("human", "wait", pending=40, expected_wait=3.2)
        shedding.served()
        shedding.shed("agent", "queue_full", pending=256, expected_wait=9.0)
        assert shedding.active
        clock.now += 10
        assert not shedding.active
        clock.now += 100
        assert not shedding.active
    events = [entry["event"] for entry in logs]
    assert events == ["toxicity_shedding_started", "toxicity_shedding_ended"]
    ended = logs[1]
    assert (ended["shed"], ended["served"], ended["by_reason"]) == (6, 1, {"wait": 5, "queue_full": 1})
    health = shedding.health()
    assert health["shedding"] == "no" and health["shed_total"] == 6
    assert health["shed"] == "last episode: 6 of 7 texts for Detoxify scored by the fast model (queue_full 1, wait 5)"
    # A new episode starts afresh.
    with capture_logs() as logs:
        shedding.shed("human", "deadline", pending=1, expected_wait=0.5)
    assert [entry["event"] for entry in logs] == ["toxicity_shedding_started"]
    assert shedding.episodes == 2 and shedding.health()["shed"].startswith("now: 1 of 1")


async def test_a_message_that_waited_its_budget_elsewhere_gets_the_fast_model_only_while_detoxify_is_busy(
    make_settings, adapter, clock, torch_section
) -> None:
    app, scorer = await start(make_settings, adapter, clock, {**torch_section, "deadline_ms": 1000})
    stuck = stick(scorer)
    try:
        # Idle: a message that waited 5 s (say, in the bus's queue) is still Detoxify's.
        stuck.release.set()
        assert len((await scorer.assess("hello there", ROOM, agent=False, waited=5.0)).scores) > 1
        assert shed(app, "human", "late") == 0
        # Busy: it is past its budget, so the fast model answers at once.
        stuck.release.clear()
        stuck.started.clear()
        running = asyncio.create_task(scorer.assess("keeps the model busy", ROOM, agent=True))
        await asyncio.get_running_loop().run_in_executor(None, stuck.started.wait, 30)
        await app.bus.dispatch(human(1, clock.now() - 5.0))  # sent 5 s ago by the app's clock
        assert [w.user_id for w in adapter.of(SendDirectMessage)] == ["user1"]
        assert shed(app, "human", "late") == 1
        stuck.release.set()
        assert len((await running).scores) > 1
    finally:
        stuck.release.set()
        await app.stop()
