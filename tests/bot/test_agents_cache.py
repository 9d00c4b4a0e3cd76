"""The app's agent registry answers look-ups from memory and never answers from before a change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.agents import CachedAgentRepository
from bot.app import StewardApp
from domain import Room
from storage.core import CORE_MIGRATIONS, AgentRecord
from storage.db import Database

ROOM = Room("test", "g", "c")


class CountingDatabase(Database):
    """Counts the reads that reach SQLite."""

    reads = 0

    async def fetchone(self, sql, params=()):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().fetchone(sql, params)


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(tmp_path / "agents.db")
    await database.open()
    await database.migrate("core", CORE_MIGRATIONS)
    yield database
    await database.close()


async def test_an_agent_looked_up_again_costs_no_read_and_nor_does_a_name_nobody_has(db) -> None:
    agents = CachedAgentRepository(db)
    await agents.register(AgentRecord("alpha", "test", "owner", platform_user_id="U1"))
    reads = db.reads
    for _ in range(5):
        assert (await agents.get("alpha")).name == "alpha"
        assert await agents.get("a-person") is None
        assert (await agents.by_platform_user("test", "U1")).name == "alpha"
    assert db.reads - reads == 3


async def test_a_change_is_seen_at_once_by_every_look_up(db) -> None:
    agents = CachedAgentRepository(db)
    assert await agents.get("alpha") is None
    assert await agents.by_platform_user("test", "U1") is None
    registered = await agents.register(AgentRecord("alpha", "test", "owner", platform_user_id="U1"))
    assert registered.name == "alpha"
    assert (await agents.get("alpha")).platform_user_id == "U1"
    assert (await agents.by_platform_user("test", "U1")).name == "alpha"
    updated = await agents.update("alpha", display_name="Alpha", platform_user_id="U2")
    assert updated is not None and updated.display_name == "Alpha"
    assert (await agents.get("alpha")).display_name == "Alpha"
    assert await agents.by_platform_user("test", "U1") is None
    assert (await agents.by_platform_user("test", "U2")).name == "alpha"
    assert await agents.delete("alpha")
    assert await agents.get("alpha") is None
    assert await agents.by_platform_user("test", "U2") is None


async def test_an_answer_read_while_a_change_is_written_is_not_kept(db) -> None:
    agents = CachedAgentRepository(db)
    await agents.register(AgentRecord("alpha", "test", "owner"))
    # A look-up that started before the delete and answers after it must not be served afterwards.
    _looked_up, deleted = await asyncio.gather(agents.get("alpha"), agents.delete("alpha"))
    assert deleted
    assert await agents.get("alpha") is None


async def test_the_app_serves_agents_from_the_cached_registry(make_settings, adapter, clock) -> None:
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter], clock=clock)
    await app.start()
    try:
        assert isinstance(app.agents, CachedAgentRepository) and app.core.agents is app.agents
        await app.agents.register(AgentRecord("alpha", "test", "owner"))
        await app.publisher.submit("alpha", ROOM, "hello")
        await app.agents.delete("alpha")
        with pytest.raises(LookupError):
            await app.publisher.submit("alpha", ROOM, "hello again")
    finally:
        await app.stop()
