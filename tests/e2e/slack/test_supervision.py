"""The Slack connection, supervised: a dropped Socket Mode websocket comes back (retried while Slack refuses a new
URL for a while) and is counted, health says why it is down meanwhile; a token Slack refuses, at start or later (a
reconnect refused, the token revoked, the app uninstalled), ends the adapter with the credentials exit code."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from adapters.slack.adapter import SlackAdapter
from bot.errors import AdapterFatal, ExitCode
from bot.events import MessageCreated
from tests.e2e.slack.mock_slack import BOT_USER, SIGNING_SECRET, event_body, message_event, wait_for
from tests.support import steward_env

CHANNEL = "C0GENERAL"


def _adapter(h) -> SlackAdapter:
    return next(a for a in h.app.adapters if isinstance(a, SlackAdapter))


async def _fatal(adapter: SlackAdapter) -> AdapterFatal:
    with pytest.raises(AdapterFatal) as ended:
        await asyncio.wait_for(adapter.wait_closed(), 10)
    return ended.value


async def test_a_dropped_websocket_is_retried_until_slack_gives_a_url_then_counted_as_a_reconnect(start_slack):
    h = await start_slack(mode="socket", ping_interval=0.2)
    adapter = _adapter(h)
    h.mock.fail_next["apps.connections.open"] = ["internal_error", "internal_error"]

    await h.mock.drop_sockets()

    down = await wait_for(lambda: (report := adapter.health()) and not report["up"] and report)
    assert "reconnecting" in down["reason"]
    await wait_for(lambda: adapter.health()["up"], limit=15)
    assert len(h.mock.calls_to("apps.connections.open")) >= 4  # at start, twice refused, then the new URL
    assert h.app.metrics.value("steward_adapter_reconnects_total", platform="slack") == 1
    assert adapter.health()["reconnects"] == 1 and "reason" not in adapter.health()
    await h.mock.send_envelope("events_api", event_body(message_event(CHANNEL, "U0BOB", "back", "1700000020.000001")))
    await wait_for(lambda: h.cog.of(MessageCreated))


async def test_an_app_token_refused_while_reconnecting_ends_the_adapter(start_slack):
    h = await start_slack(mode="socket", ping_interval=0.2)
    adapter = _adapter(h)
    h.mock.fail["apps.connections.open"] = "invalid_auth"

    await h.mock.drop_sockets()

    fatal = await _fatal(adapter)
    assert fatal.code == ExitCode.CREDENTIALS and "invalid_auth" in fatal.problem
    assert "STEWARD_SLACK__APP_TOKEN" in fatal.hint
    report = adapter.health()
    assert report["up"] is False and "refused" in report["reason"]


async def test_a_socket_envelope_of_the_wrong_shape_is_acknowledged_and_dropped(start_slack):
    h = await start_slack(mode="socket")
    bad = event_body(message_event(CHANNEL, "U0ALICE", "x", "NaN"))

    envelope = await h.mock.send_envelope("events_api", bad)

    await wait_for(lambda: envelope in {ack.get("envelope_id") for ack in h.mock.socket_acks})
    assert h.app.metrics.value("steward_slack_payload_rejected_total", kind="events_api", reason="bad_timestamp") == 1
    await h.mock.send_envelope("events_api", event_body(message_event(CHANNEL, "U0BOB", "ok", "1700000020.000002")))
    [message] = await wait_for(lambda: h.cog.of(MessageCreated))
    assert message.text == "ok"


@pytest.mark.parametrize(
    "event",
    [{"type": "tokens_revoked", "tokens": {"bot": [BOT_USER]}}, {"type": "app_uninstalled"}],
    ids=["tokens_revoked", "app_uninstalled"],
)
async def test_a_revoked_bot_token_ends_a_single_workspace_adapter(start_slack, event):
    h = await start_slack()
    adapter = _adapter(h)

    assert (await h.send_event(event_body(event))).status == 200

    fatal = await _fatal(adapter)
    assert fatal.code == ExitCode.CREDENTIALS and event["type"] in fatal.problem
    assert adapter.health()["up"] is False


async def test_revoking_only_user_tokens_is_not_fatal(start_slack):
    h = await start_slack()
    adapter = _adapter(h)

    await h.send_event(event_body({"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"]}}))

    await wait_for(lambda: h.app.metrics.value("steward_slack_events_total", type="tokens_revoked", outcome="ignored"))
    assert adapter.health()["up"] is True


@pytest.mark.slow
async def test_steward_run_with_a_refused_bot_token_exits_3_with_one_line(tmp_path: Path, mock_slack) -> None:
    """The real process: Slack answers auth.test with invalid_auth; ``steward run`` says so in one line and exits
    with the credentials code."""
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "steward.db"\n[http]\nenabled = true\nport = 0\n[toxicity]\nenabled = false\n'
        '[cogs]\nenabled = []\n[logging]\nlevel = "ERROR"\n'
        f'[slack]\nmode = "http"\napi_base_url = "{mock_slack.api_url}"\n'
    )
    env = steward_env(STEWARD_SLACK__BOT_TOKEN="xoxb-revoked", STEWARD_SLACK__SIGNING_SECRET=SIGNING_SECRET)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == ExitCode.CREDENTIALS, err.decode()
    # One line for the operator (the structured log may say it too, as JSON, at level error).
    lines = [line for line in err.decode().splitlines() if line.startswith("steward:")]
    assert len(lines) == 1, err.decode()
    assert lines[0].startswith("steward: slack: Slack refused the bot token (auth.test: invalid_auth)")
    assert "STEWARD_SLACK__BOT_TOKEN" in lines[0]
