"""What Slack sends that Steward cannot use: bodies that do not parse (400), payloads of the wrong shape or with a
message timestamp that is no time (acknowledged 200 and dropped), times that are not believed (the receive time
is used), payloads no listener takes (acknowledged, counted as ignored); each rejection counted and logged without
the body. And the order: Slack gets its answer while Steward's listener is still busy."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import structlog
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.adapter import SlackAdapter
from adapters.slack.edge import Edge
from adapters.slack.web import SlackMetrics
from bot.events import MessageCreated
from bot.metrics import Metrics
from tests.e2e.slack.mock_slack import TEAM, block_actions_body, event_body, message_event, sign, wait_for

CHANNEL = "C0GENERAL"


@contextlib.contextmanager
def _info_logs() -> Iterator[list[dict[str, Any]]]:
    """The structured log entries made meanwhile, info and above."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with structlog.testing.capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(**saved)


def _rejected(h, kind: str, reason: str) -> float:
    return h.app.metrics.value("steward_slack_payload_rejected_total", kind=kind, reason=reason)


def _adapter(h) -> SlackAdapter:
    return next(a for a in h.app.adapters if isinstance(a, SlackAdapter))


async def _still_handled(h, ts: str) -> None:
    """A normal message after the bad ones is published as usual."""
    assert (await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "normal", ts)))).status == 200
    await wait_for(lambda: any(m.message_id == ts for m in h.cog.of(MessageCreated)))


async def test_a_body_that_does_not_parse_is_a_400_with_a_small_json_answer(start_slack):
    h = await start_slack()
    for body, content_type in (
        ("not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("payload=%7B", "application/x-www-form-urlencoded"),
    ):
        async with h.session.post(
            h.base + "/slack/events",
            data=body,
            headers={
                "Content-Type": content_type,
                **sign(body),
            },
        ) as response:
            assert response.status == 400
            assert await response.json() == {"error": "unparseable"}
    assert _rejected(h, "request", "unparseable") == 3
    await _still_handled(h, "1700000010.000001")


async def test_a_payload_of_the_wrong_shape_is_acknowledged_dropped_and_logged_without_its_body(start_slack):
    h = await start_slack()
    bad = event_body(message_event(CHANNEL, "U0ALICE", "secret words", "1700000010.000002"))
    bad["event"]["user"] = {"id": 42}
    with _info_logs() as logs:
        response = await h.send_event(bad)
    assert response.status == 200 and await response.text() == ""
    assert _rejected(h, "events_api", "invalid_shape") == 1
    [entry] = [e for e in logs if e["event"] == "slack_payload_rejected"]
    assert entry["kind"] == "events_api" and entry["reason"] == "invalid_shape" and "event.user.id" in entry["fields"]
    assert "secret words" not in json.dumps(entry, default=str)
    await _still_handled(h, "1700000010.000003")
    assert not any(m.message_id == "1700000010.000002" for m in h.cog.of(MessageCreated))


async def test_an_event_time_of_nan_infinity_or_the_far_future_is_replaced_by_the_receive_time(start_slack):
    h = await start_slack()
    before = time.time()
    for n, (event_time, event_ts) in enumerate([(float("nan"), "NaN"), (float("inf"), "-1"), (10**12, "1e12")]):
        body = event_body(message_event(CHANNEL, "U0ALICE", "hi", f"1700000011.00000{n}"))
        body["event_time"] = event_time
        body["event"]["event_ts"] = event_ts
        raw = json.dumps(body)  # NaN and Infinity are written as the bare JSON tokens
        assert "NaN" in raw or "Infinity" in raw or "1000000000000" in raw
        assert (await h.post(raw, content_type="application/json")).status == 200
    messages = await wait_for(lambda: len(h.cog.of(MessageCreated)) == 3 and h.cog.of(MessageCreated))
    assert all(before <= m.at <= time.time() for m in messages)
    assert _rejected(h, "events_api", "bad_timestamp") == 3


async def test_a_message_whose_ts_is_no_time_is_dropped_since_the_ts_is_its_identity(start_slack):
    h = await start_slack()
    for ts in ("NaN", "Infinity", "-1.000100", "999999999999.000100", "1e12", 1700000012):
        body = event_body(message_event(CHANNEL, "U0ALICE", "hi", ts))  # type: ignore[arg-type]
        body["event"]["event_ts"] = "1700000012.000000"
        assert (await h.send_event(body)).status == 200
    raw = json.dumps(event_body(message_event(CHANNEL, "U0ALICE", "hi", "x"))).replace('"x"', "NaN")
    assert (await h.post(raw, content_type="application/json")).status == 200
    assert _rejected(h, "events_api", "bad_timestamp") == 7
    await _still_handled(h, "1700000012.000001")
    await h.app.bus.join()
    assert [m.message_id for m in h.cog.of(MessageCreated)] == ["1700000012.000001"]


async def test_payloads_no_listener_takes_are_acknowledged_and_counted_as_ignored(start_slack):
    h = await start_slack()
    view = {"type": "view_submission", "team": {"id": TEAM}, "user": {"id": "U0ALICE"}, "view": {"id": "V1"}}
    other_command = "command=%2Fother&text=x&team_id=T0TEAM1&user_id=U0A&response_url=http%3A%2F%2Fx%2Fy"
    click = block_actions_body(
        user="U0A", action_id="theirs:1", channel=CHANNEL, message_ts="1700000013.000001", response_url="http://x/y"
    )
    assert (await h.send_form("payload=" + urllib.parse.quote(json.dumps(view)))).status == 200
    assert (await h.send_form(other_command)).status == 200
    assert (await h.send_form(click)).status == 200
    assert (await h.send_event({"type": "app_rate_limited", "minute_rate_limited": 1})).status == 200
    metrics = h.app.metrics
    for kind in ("view_submission", "slash_command", "block_actions", "unknown"):
        assert metrics.value("steward_slack_events_total", type=kind, outcome="ignored") == 1, kind
    assert metrics.value("steward_slack_payload_rejected_total", kind="unknown", reason="unhandled") == 0
    await _still_handled(h, "1700000013.000002")


async def test_slack_gets_its_answer_while_stewards_listener_is_still_busy(start_slack):
    h = await start_slack()
    adapter = _adapter(h)
    release = asyncio.Event()
    translate = adapter.listeners.translator.translate

    async def slow_translate(*args, **kwargs):
        await release.wait()
        return await translate(*args, **kwargs)

    adapter.listeners.translator.translate = slow_translate  # type: ignore[method-assign]
    response = await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "hello", "1700000014.000001")))

    assert response.status == 200  # answered although the listener has not translated the event yet
    assert not h.cog.of(MessageCreated)
    release.set()
    await wait_for(lambda: h.cog.of(MessageCreated))


async def test_a_slash_command_is_acknowledged_before_it_runs(start_slack):
    h = await start_slack()
    release = asyncio.Event()
    invoke = h.app.commands.invoke

    async def slow_invoke(invocation):
        await release.wait()
        return await invoke(invocation)

    h.app.commands.invoke = slow_invoke  # type: ignore[method-assign]
    body = urllib.parse.urlencode(
        {
            "command": "/steward",
            "text": "help",
            "team_id": TEAM,
            "user_id": "U0ALICE",
            "channel_id": CHANNEL,
            "response_url": h.mock.response_url("slow-help"),
        }
    )
    response = await h.send_form(body)

    assert response.status == 200 and not h.mock.responses.get("slow-help")
    release.set()
    await wait_for(lambda: h.mock.responses.get("slow-help"))


async def test_a_listener_that_raises_is_counted_by_the_error_handler_and_the_next_event_is_handled(start_slack):
    h = await start_slack()
    adapter = _adapter(h)

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    adapter.listeners.on_action = broken  # type: ignore[method-assign]
    click = block_actions_body(
        user="U0A",
        action_id="steward:x:1:y",
        channel=CHANNEL,
        message_ts="1700000015.000001",
        response_url="http://x/y",
    )
    assert (await h.send_form(click)).status == 200
    await wait_for(lambda: _rejected(h, "block_actions", "listener_error") == 1)
    await _still_handled(h, "1700000015.000002")


async def test_bolts_unhandled_request_is_acknowledged_and_counted():
    metrics = Metrics()
    edge = Edge(SlackMetrics.register(metrics), "/steward")
    request = AsyncBoltRequest(body="{}", headers={"content-type": "application/json"})
    error = BoltUnhandledRequestError(request=request, current_response=None)

    response = await edge.on_bolt_error(error, {"type": "shortcut", "trigger_id": "1.2"})

    assert response.status == 200
    assert metrics.value("steward_slack_payload_rejected_total", kind="interactive", reason="unhandled") == 1
