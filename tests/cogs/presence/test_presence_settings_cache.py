"""Agents' presence settings are read from memory on the message path, and a change applies to the next message."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval
from storage.db import Database
from storage.presence import PresenceStore
from storage.presence.settings import AgentSettings, SettingsRepository

from .conftest import ROOM, register, run


async def test_a_change_of_the_owner_approval_applies_to_the_next_message(papp):
    await register(papp, "helper")
    assert (await papp.publisher.submit("helper", ROOM, "first")).posted
    assert (await run(papp, "agent set helper messages owner_each_draft")).ok
    held = await papp.publisher.submit("helper", ROOM, "second")
    assert held.held == "draft:1" and not held.posted
    assert (await run(papp, "agent set helper messages none")).ok
    assert (await papp.publisher.submit("helper", ROOM, "third")).posted


def _count_settings_reads(db: Database, reads: list[object]) -> None:
    real = db.fetchone

    async def counted(sql, params=()):
        if "agent_settings" in sql:
            reads.append(params[0] if params else None)
        return await real(sql, params)

    db.fetchone = counted  # type: ignore[method-assign]


async def test_agent_messages_read_the_agents_settings_once(papp):
    reads: list[object] = []
    await register(papp, "helper")
    _count_settings_reads(papp.db, reads)
    for i in range(5):
        assert (await papp.publisher.submit("helper", ROOM, f"message {i}")).posted
    assert reads == []  # registering stored them: known since, no read at all
    await papp.agents.register(replace(await papp.agents.get("helper"), name="plain"))  # no presence settings row
    for i in range(5):
        assert (await papp.publisher.submit("plain", ROOM, f"message {i}")).posted
    assert reads == ["plain"]  # read once: an agent without a row is remembered as such


def _settings(agent: str, approval: MessageApproval) -> AgentSettings:
    return AgentSettings(agent, InvitationPolicy.ANY_USER, ApprovalMode.AUTO, approval, 5, 0.0)


async def test_a_read_that_a_write_overtook_is_not_kept(tmp_path):
    async with Database(tmp_path / "s.db") as db:
        await PresenceStore.migrate(db)
        await SettingsRepository(db).put(_settings("helper", MessageApproval.NONE))
        cache = SettingsRepository(db)
        read_done, write_done = asyncio.Event(), asyncio.Event()
        real_fetchone = db.fetchone

        async def slow_fetchone(sql, params=()):
            found = await real_fetchone(sql, params)  # reads the old row ...
            read_done.set()
            await write_done.wait()  # ... and comes back after the write finished
            return found

        db.fetchone = slow_fetchone  # type: ignore[method-assign]

        async def write() -> None:
            await read_done.wait()
            await cache.put(_settings("helper", MessageApproval.OWNER_EACH_DRAFT))
            write_done.set()

        old, _ = await asyncio.gather(cache.get("helper"), write())
        assert old is not None and old.message_approval is MessageApproval.NONE
        db.fetchone = real_fetchone  # type: ignore[method-assign]
        now = await cache.get("helper")
        assert now is not None and now.message_approval is MessageApproval.OWNER_EACH_DRAFT
        await cache.delete("helper")
        assert await cache.get("helper") is None


async def test_the_roster_forgets_a_room_its_last_agent_left_and_counts_the_stays(papp):
    roster = papp.cogs.cogs["presence"].coordinator.roster
    await register(papp, "helper")
    await register(papp, "critic")
    await run(papp, "invite helper")
    await run(papp, "invite critic")
    assert roster.present == {ROOM.key: {"helper", "critic"}}
    assert papp.health()["components"]["presence"]["agents_present"] == 2
    await run(papp, "leave helper")
    assert roster.present == {ROOM.key: {"critic"}} and roster.count() == 1
    await run(papp, "leave critic")
    assert roster.present == {} and roster.count() == 0  # no empty entry kept for the room
    await roster.load()  # the table agrees
    assert roster.present == {} and roster.count() == 0
