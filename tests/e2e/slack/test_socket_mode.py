"""Socket Mode end to end: Steward opens the websocket the mock's ``apps.connections.open`` hands out, receives
envelopes on it, and acknowledges each one."""

from __future__ import annotations

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.app import StewardApp
from bot.errors import AdapterFatal, ExitCode
from bot.events import ButtonPressed, MessageCreated
from domain import Room
from tests.e2e.slack.mock_slack import APP_TOKEN, BOT_TOKEN, TEAM, event_body, message_event, wait_for

CHANNEL = "C0GENERAL"


async def test_socket_mode_delivers_events_acknowledges_them_and_drops_retries(start_slack):
    h = await start_slack(mode="socket")
    [opened] = h.mock.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    adapter = next(a for a in h.app.adapters if isinstance(a, SlackAdapter))
    assert adapter.health()["up"] is True

    body = event_body(message_event(CHANNEL, "U0ALICE", "over the socket", "1700000003.000001"), event_id="Ev0SOCK")
    first = await h.mock.send_envelope("events_api", body)
    retry = await h.mock.send_envelope("events_api", body, retry_attempt=1)

    await wait_for(lambda: {first, retry} <= {ack.get("envelope_id") for ack in h.mock.socket_acks})
    await wait_for(lambda: h.app.metrics.value("steward_slack_events_total", type="message", outcome="duplicate"))
    [message] = await wait_for(lambda: h.cog.of(MessageCreated))
    await h.app.bus.join()
    assert len(h.cog.of(MessageCreated)) == 1
    assert message.room == Room("slack", TEAM, CHANNEL) and message.text == "over the socket"


async def test_socket_mode_button_clicks_are_acknowledged_and_published(start_slack):
    h = await start_slack(mode="socket")
    payload = {
        "type": "block_actions",
        "user": {"id": "U0OWNER"},
        "team": {"id": TEAM},
        "channel": {"id": "D0OWNER"},
        "container": {"type": "message", "message_ts": "1700000003.000009", "channel_id": "D0OWNER"},
        "message": {"ts": "1700000003.000009", "text": "prompt"},
        "response_url": h.mock.response_url("socket-click"),
        "actions": [{"action_id": "steward:trial:9:approve", "value": "steward:trial:9:approve", "type": "button"}],
    }

    envelope = await h.mock.send_envelope("interactive", payload)

    await wait_for(lambda: envelope in {ack.get("envelope_id") for ack in h.mock.socket_acks})
    [pressed] = await wait_for(lambda: h.cog.of(ButtonPressed))
    assert pressed.custom_id == "steward:trial:9:approve"
    assert pressed.parts == ("trial", "9", "approve")
    assert pressed.message_id == "1700000003.000009"
    # The test cog approves and the answer goes back through the click's response_url.
    await wait_for(lambda: h.mock.responses.get("socket-click"))


async def test_health_follows_the_socket_and_the_connection_comes_back(start_slack):
    h = await start_slack(mode="socket", ping_interval=0.2)
    adapter = next(a for a in h.app.adapters if isinstance(a, SlackAdapter))
    assert adapter.health()["up"] is True

    await h.mock.drop_sockets()

    await wait_for(lambda: not adapter.health()["up"])
    # The socket client asks apps.connections.open again and reconnects; events flow once more.
    await wait_for(lambda: len(h.mock.calls_to("apps.connections.open")) >= 2 and adapter.health()["up"])
    await h.mock.send_envelope("events_api", event_body(message_event(CHANNEL, "U0BOB", "back", "1700000003.000020")))
    [message] = await wait_for(lambda: h.cog.of(MessageCreated))
    assert message.text == "back"


async def test_a_wrong_app_token_fails_start_up_with_slacks_error(make_settings, mock_slack, monkeypatch):
    monkeypatch.setenv("STEWARD_SLACK__BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("STEWARD_SLACK__APP_TOKEN", "xapp-wrong")
    settings = make_settings(slack={"mode": "socket", "api_base_url": mock_slack.api_url}, cogs={"enabled": []})
    app = StewardApp(settings)
    try:
        with pytest.raises(AdapterFatal, match="invalid_auth") as refused:
            await app.start()
    finally:
        await app.stop()
    assert refused.value.code == ExitCode.CREDENTIALS and "STEWARD_SLACK__APP_TOKEN" in refused.value.hint
    assert [c.token for c in mock_slack.calls_to("apps.connections.open")] == ["xapp-wrong"]


async def test_a_wrong_bot_token_fails_start_up_with_slacks_error(make_settings, mock_slack, monkeypatch):
    monkeypatch.setenv("STEWARD_SLACK__BOT_TOKEN", "xoxb-wrong")
    monkeypatch.setenv("STEWARD_SLACK__APP_TOKEN", APP_TOKEN)
    settings = make_settings(slack={"mode": "socket", "api_base_url": mock_slack.api_url}, cogs={"enabled": []})
    app = StewardApp(settings)
    try:
        with pytest.raises(AdapterFatal, match="invalid_auth") as refused:
            await app.start()
    finally:
        await app.stop()
    assert refused.value.code == ExitCode.CREDENTIALS and "STEWARD_SLACK__BOT_TOKEN" in refused.value.hint
    assert not mock_slack.calls_to("apps.connections.open")


async def test_socket_mode_slash_commands_are_answered(start_slack):
    h = await start_slack(mode="socket")
    payload = {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/steward",
        "text": "status",
        "response_url": h.mock.response_url("socket-status"),
        "trigger_id": "1.trigger",
    }

    envelope = await h.mock.send_envelope("slash_commands", payload)

    await wait_for(lambda: envelope in {ack.get("envelope_id") for ack in h.mock.socket_acks})
    [answer] = await wait_for(lambda: h.mock.responses.get("socket-status"))
    assert answer["response_type"] == "ephemeral" and "slack (up)" in answer["text"]
