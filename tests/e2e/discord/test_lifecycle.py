"""Starting, stopping and sharding: what an operator sees when the token is wrong, Discord ends the session,
or the bot is split over several processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.discord.adapter import DiscordAdapter
from bot.app import StewardApp, build_adapters
from bot.errors import AdapterFatal, ExitCode
from bot.events import MessageCreated
from tests.e2e.discord.conftest import eventually, probe


async def test_a_wrong_token_fails_start_up_with_a_clear_error(world, make_settings, monkeypatch):
    world.fake.token = "the-right-token"
    monkeypatch.setenv("STEWARD_DISCORD__TOKEN", "a-wrong-token")
    settings = make_settings(discord={"guild_ready_timeout": 0.05})
    [adapter] = build_adapters(settings)
    assert isinstance(adapter, DiscordAdapter)
    app = StewardApp(settings, adapters=[adapter])
    try:
        with pytest.raises(AdapterFatal, match="refused the bot token") as refused:
            await app.start()
    finally:
        await app.stop()
    assert refused.value.code == ExitCode.CREDENTIALS and "401" in refused.value.problem
    assert "refused the bot token" in adapter.health()["reason"]
    assert "STEWARD_DISCORD__TOKEN" in refused.value.hint
    assert world.fake.identifies == []


async def test_health_reports_the_connection_and_stop_disconnects(world, start_steward):
    app, adapter = await start_steward()
    health = app.health()["adapters"]["discord"]
    assert health["up"] and health["guilds"] == 1 and health["user_id"] == world.fake.bot_user["id"]
    await app.stop()
    assert not adapter.health()["up"]
    await eventually(lambda: world.fake.connected() == 0)


async def test_when_discord_ends_the_session_for_good_the_adapter_ends_instead_of_hanging(world, start_steward):
    _app, adapter = await start_steward()
    await world.fake.drop_connections(code=4004)  # authentication failed: not resumable
    with pytest.raises(AdapterFatal, match="4004"):
        await asyncio.wait_for(adapter.wait_closed(), 5)
    assert not adapter.health()["up"]


async def test_one_process_can_run_some_shards_of_a_sharded_bot(world, start_steward):
    mine = world.fake.add_guild("on shard one", shard=(1, 2))
    other = world.fake.add_guild("on shard zero", shard=(0, 2))
    mine_channel = world.fake.add_channel(mine["id"])
    other_channel = world.fake.add_channel(other["id"])
    member = world.fake.user("dora")
    world.fake.add_member(mine["id"], member)
    world.fake.add_member(other["id"], member)

    app, adapter = await start_steward(shard_count=2, shard_ids=[1])

    assert [i["shard"] for i in world.fake.identifies] == [[1, 2]]
    assert adapter.health()["shards"] == [1]
    guilds = {str(g.id) for g in adapter.client.guilds}
    assert mine["id"] in guilds and other["id"] not in guilds
    await world.fake.user_says(other_channel["id"], member, "for the other process")
    await world.fake.user_says(mine_channel["id"], member, "for this process")
    [event] = await eventually(lambda: [e for e in probe(app).of(MessageCreated) if e.author.id == member["id"]])
    assert event.text == "for this process" and event.room.server == mine["id"]


def test_the_package_and_its_config_import_without_discord_py():
    code = (
        "import sys, adapters.discord, adapters.discord.config, bot.config\n"
        "bot.config.load_settings(data={'discord': {'shard_count': 2, 'shard_ids': [0]}})\n"
        "assert 'discord' not in sys.modules, 'discord.py was imported'\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert done.returncode == 0, done.stderr


def test_without_a_token_the_console_runs(make_settings):
    [adapter] = build_adapters(make_settings())
    assert adapter.platform == "console"
