"""Fixtures for the Discord end-to-end tests: a fake Discord on 127.0.0.1 and Steward apps connected to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord.gateway
import discord.http
import pytest
import yarl

from adapters.discord import create_adapter
from adapters.discord.adapter import DiscordAdapter
from bot.app import StewardApp
from bot.cog import Cog, listener
from bot.events import Event
from tests.e2e.discord.fake_discord import MANAGE_GUILD, FakeDiscord


@dataclass
class World:
    """The fake server's cast: one server with two channels, people, a registered agent's bot and a stranger bot."""

    fake: FakeDiscord
    guild: dict[str, Any]
    general: dict[str, Any]
    fallback: dict[str, Any]
    alice: dict[str, Any]  # a member
    bob: dict[str, Any]  # another member
    admin: dict[str, Any]  # has Manage Server
    agent_bot: dict[str, Any]  # the bot user of an agent registered with Steward
    other_bot: dict[str, Any]  # some other bot
    helper_role: dict[str, Any]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    fake = FakeDiscord()
    guild = fake.add_guild("Test server")
    general = fake.add_channel(guild["id"], "general")
    fallback = fake.add_channel(guild["id"], "steward-prompts")
    helper = fake.add_role(guild["id"], "helpers")
    admins = fake.add_role(guild["id"], "admins", permissions=MANAGE_GUILD)
    alice, bob, admin = fake.user("alice"), fake.user("bob"), fake.user("admin")
    agent_bot, other_bot = fake.user("helper-agent", bot=True), fake.user("weatherbot", bot=True)
    fake.add_member(guild["id"], alice, roles=[helper["id"]])
    fake.add_member(guild["id"], bob)
    fake.add_member(guild["id"], admin, roles=[admins["id"]])
    fake.add_member(guild["id"], agent_bot)
    fake.add_member(guild["id"], other_bot)
    await fake.start()
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = f"http://127.0.0.1:{fake.port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{fake.port}/")
    try:
        yield World(fake, guild, general, fallback, alice, bob, admin, agent_bot, other_bot, helper)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await fake.stop()


class Probe(Cog):
    """Records every event on the bus, to assert what the adapter published."""

    name = "probe"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.events: list[Event] = []

    @listener(Event)
    async def on_event(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


StartSteward = Callable[..., Awaitable[tuple[StewardApp, DiscordAdapter]]]


@pytest.fixture
async def start_steward(make_settings, monkeypatch) -> AsyncIterator[StartSteward]:
    """Start a real StewardApp with the Discord adapter made the way production makes it (token from the
    environment, ``create_adapter``). Call again after stopping one to simulate a restart on the same database."""
    monkeypatch.setenv("STEWARD_DISCORD__TOKEN", "fake-token-for-tests")
    running: list[StewardApp] = []

    async def start(
        *, cogs: dict[str, type[Cog]] | None = None, sections: dict[str, Any] | None = None, **discord_section: Any
    ):
        section = {"guild_ready_timeout": 0.05, "ready_timeout": 10.0, **discord_section}
        settings = make_settings(discord=section, **(sections or {}))
        adapter = create_adapter(settings)
        assert isinstance(adapter, DiscordAdapter)
        app = StewardApp(settings, adapters=[adapter])
        # Test cogs load before the adapter starts, as real cogs do (their commands become slash commands).
        original_load_all = app.cogs.load_all

        async def load_all(names):
            reports = await original_load_all(names)
            for name, cog_class in {"probe": Probe, **(cogs or {})}.items():
                report = await app.cogs.load(name, cog_class)
                assert report.loaded, report.error
            return reports

        app.cogs.load_all = load_all  # type: ignore[method-assign]
        await app.start()
        running.append(app)
        return app, adapter

    try:
        yield start
    finally:
        for app in running:
            if app.started_at is not None and not app._stopped.is_set():
                await app.stop()


def probe(app: StewardApp) -> Probe:
    return app.cogs.cogs["probe"]  # type: ignore[return-value]


async def eventually(predicate: Callable[[], Any], within: float = 5.0) -> Any:
    """Wait until ``predicate()`` is truthy and return it (the gateway and the bus are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
