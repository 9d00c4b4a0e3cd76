"""The gateway connection under supervision: a session Discord ends for good ends ``steward run`` with the reason
and an exit code a supervisor can act on; a transient close, a cut connection or a Discord restart is reconnected,
counted, and shown in health while it lasts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bot.app import StewardApp, build_adapters
from bot.errors import AdapterFatal, ExitCode
from bot.events import MessageCreated
from tests.e2e.discord.conftest import eventually, probe
from tests.support import ROOT, steward_env

FATAL = {
    4004: ("authentication failed", ExitCode.CREDENTIALS),
    4010: ("invalid shard", ExitCode.PLATFORM),
    4011: ("sharding required", ExitCode.PLATFORM),
    4012: ("invalid API version", ExitCode.PLATFORM),
    4013: ("invalid intents", ExitCode.PLATFORM),
    4014: ("disallowed intents", ExitCode.PLATFORM),
}
TRANSIENT = [1000, 1001, 4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009]


def reconnects(app: StewardApp) -> float:
    return app.metrics.value("steward_adapter_reconnects_total", platform="discord")


def disconnects(app: StewardApp) -> float:
    return app.metrics.value("steward_adapter_disconnects_total", platform="discord")


async def says_and_arrives(world, app: StewardApp, text: str) -> None:
    await world.fake.user_says(world.general["id"], world.bob, text)
    await eventually(lambda: any(e.text == text for e in probe(app).of(MessageCreated)))


@pytest.mark.parametrize("code", sorted(FATAL))
async def test_a_session_discord_ends_for_good_ends_the_adapter_with_the_reason(world, start_steward, code):
    _app, adapter = await start_steward()
    await world.fake.drop_connections(code=code)

    with pytest.raises(AdapterFatal) as ended:
        await asyncio.wait_for(adapter.wait_closed(), 10)

    name, exit_code = FATAL[code]
    assert ended.value.code == exit_code and ended.value.platform == "discord"
    assert str(code) in ended.value.problem and name in ended.value.problem and ended.value.hint
    health = adapter.health()
    assert health["up"] is False and str(code) in health["reason"]
    assert len(world.fake.identifies) == 1 and world.fake.resumes == []  # it did not try again


async def test_disallowed_intents_while_connecting_fail_start_with_what_to_enable(world, start_steward):
    world.fake.close_on_identify = 4014
    with pytest.raises(AdapterFatal) as refused:
        await start_steward()
    assert refused.value.code == ExitCode.PLATFORM and "4014" in refused.value.problem
    assert "Message Content" in refused.value.hint and "Developer Portal" in refused.value.hint


async def test_a_bad_token_at_identify_fails_start_as_a_credentials_error(world, start_steward):
    world.fake.close_on_identify = 4004
    with pytest.raises(AdapterFatal, match="4004") as refused:
        await start_steward()
    assert refused.value.code == ExitCode.CREDENTIALS


@pytest.mark.parametrize("code", TRANSIENT)
async def test_a_transient_close_is_resumed_and_counted(world, start_steward, code):
    app, adapter = await start_steward()
    await world.fake.drop_connections(code=code)

    await eventually(lambda: world.fake.resumes and world.fake.connected() == 1)
    await eventually(lambda: reconnects(app) == 1)
    assert disconnects(app) == 1
    await says_and_arrives(world, app, f"still here after {code}")
    health = adapter.health()
    assert health["up"] is True and "reason" not in health
    assert health["reconnects"] == 1 and health["last_event_age_s"] is not None
    assert len(world.fake.identifies) == 1  # resumed, not a new session


async def test_a_cut_connection_is_resumed_and_events_missed_meanwhile_arrive(world, start_steward):
    app, adapter = await start_steward()
    await world.fake.drop_connections(abrupt=True)
    await world.fake.user_says(world.general["id"], world.bob, "said while the connection was cut")

    await eventually(lambda: any(e.text.endswith("was cut") for e in probe(app).of(MessageCreated)), within=10)
    await eventually(lambda: reconnects(app) == 1)
    assert disconnects(app) == 1 and adapter.health()["up"] is True


async def test_while_discord_is_down_health_says_why_and_it_reconnects_when_discord_is_back(world, start_steward):
    app, adapter = await start_steward()
    restart = asyncio.create_task(world.fake.restart(down_for=1.5))

    down = await eventually(lambda: not adapter.health()["up"] and adapter.health())
    assert "gateway connection lost" in down["reason"]
    assert app.health()["status"] == "degraded"
    await restart
    await eventually(lambda: adapter.health()["up"], within=20)  # discord.py's backoff between attempts
    assert reconnects(app) == 1 and disconnects(app) == 1
    await says_and_arrives(world, app, "after the restart")


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "steward.toml"
    path.write_text(
        f"""
[database]
path = "{tmp_path / "steward.db"}"
[http]
enabled = false
[toxicity]
enabled = false
[logging]
level = "WARNING"
[discord]
api_base_url = "http://127.0.0.1:{port}/api/v10"
gateway_url = "ws://127.0.0.1:{port}/"
guild_ready_timeout = 0.05
ready_timeout = 20
"""
    )
    return path


async def _run_steward(tmp_path: Path, port: int, token: str) -> tuple[int, list[str]]:
    """Run ``steward run`` against the fake; its exit status and its stderr lines."""
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(_config(tmp_path, port)),
            env=steward_env(STEWARD_DISCORD__TOKEN=token),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:  # it must end by itself: a process that hangs is what a supervisor cannot see
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.read_text().splitlines()


async def test_steward_run_exits_3_when_discord_refuses_the_token(world, tmp_path):
    world.fake.token = "the-right-token"
    code, stderr = await _run_steward(tmp_path, world.fake.port, "a-wrong-token")
    said = [line for line in stderr if line.startswith("steward: ")]
    assert code == ExitCode.CREDENTIALS, stderr[-5:]
    assert len(said) == 1 and "refused the bot token" in said[0]


async def test_steward_run_exits_4_when_discord_disallows_the_intents(world, tmp_path):
    world.fake.close_on_identify = 4014
    code, stderr = await _run_steward(tmp_path, world.fake.port, "fake-token-for-tests")
    said = [line for line in stderr if line.startswith("steward: ")]
    assert code == ExitCode.PLATFORM, stderr[-5:]
    assert len(said) == 1 and "4014" in said[0] and "disallowed intents" in said[0]


def test_the_gateway_urls_are_checked_in_the_config(make_settings):
    with pytest.raises(Exception, match="ws://"):
        build_adapters(make_settings(discord={"gateway_url": "http://127.0.0.1:1/"}))


async def test_a_sharded_bot_reconnects_each_shard_and_counts_each(world, start_steward):
    app, adapter = await start_steward(shard_count=2)
    assert adapter.health()["up"] is True and adapter.health()["shards"] == [0, 1]
    await world.fake.drop_connections(code=4000)

    await eventually(lambda: reconnects(app) == 2, within=10)
    assert disconnects(app) == 2 and adapter.health()["up"] is True
    await says_and_arrives(world, app, "both shards are back")
