"""A database written before the core owned cases and suspensions (moderation schema version 1) keeps its data:
the commands still find the case and the suspension, and the suspension still ends on time by its stored timer."""

from __future__ import annotations

import json

from bot.clock import ManualClock
from bot.events import AgentUnsuspended
from storage.core import CORE_MIGRATIONS, TimerRepository
from storage.db import Database
from storage.moderation import MODERATION_MIGRATIONS
from tests.support import SettingsFactory

from .conftest import ROOM, MakeHarness

REASON = "3 rejected messages within 300s (last: duplicate)"


async def _old_database(path: str, at: float) -> None:
    """What the moderator left behind at schema version 1: a case, the open suspension it caused, and its timer."""
    db = Database(path)
    await db.open()
    try:
        await db.migrate("core", CORE_MIGRATIONS)
        assert await db.migrate("moderation", MODERATION_MIGRATIONS[:1]) == 1
        await db.execute(
            "INSERT INTO moderation_cases (id, server, number, room, at, target_kind, target_id, target_name, "
            "verdict, rule, reason, action, scores, text_hash, message_id, suspension_id) "
            "VALUES (1, 'test:s1', 1, ?, ?, 'agent', 'alpha', 'alpha', 'reject', 'duplicate', ?, 'reject', ?, "
            "'abc123', NULL, 1)",
            (ROOM.key, at, "a duplicate of a message it posted 5s ago (window 600s)", json.dumps({"toxicity": 0.1})),
        )
        await db.execute(
            "INSERT INTO moderation_suspensions (id, agent, server, room, started_at, until, reason, case_number) "
            "VALUES (1, 'alpha', 'test:s1', ?, ?, ?, ?, 1)",
            (ROOM.key, at, at + 3600, REASON),
        )
        await TimerRepository(db).upsert("moderator.unsuspend", "1", at + 3600, {"suspension": 1})
    finally:
        await db.close()


async def test_cases_and_suspensions_of_schema_1_survive_the_move_to_the_core(
    make_settings: SettingsFactory, make_harness: MakeHarness, clock: ManualClock
) -> None:
    start = clock.now()
    await _old_database(str(make_settings().database.path), start)

    h = await make_harness(moderator={"filters": {"words": ["darn"]}})
    assert await h.app.db.schema_version("moderation") == 2
    tables = {r["name"] for r in await h.app.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "moderation_cases" not in tables and "moderation_suspensions" not in tables

    listing = (await h.command("cases")).text
    assert listing.startswith("#1 ") and "agent alpha: reject (duplicate)" in listing
    detail = (await h.command("case 1")).text
    assert "toxicity=0.10" in detail and "text sha256: abc123" in detail
    assert "suspension: until" in detail and "active" in detail
    suspensions = (await h.command("suspensions")).text
    assert f"alpha in {ROOM.key} until" in suspensions and "(case #1)" in suspensions and REASON in suspensions

    # The gate still sees it, and numbering goes on from the old cases.
    await h.agent("alpha")
    assert (await h.submit("alpha", "hello again")).decision.rule == "suspended"
    await h.human("darn", user="kim")
    assert (await h.command("cases kim")).text.startswith("#3 ")

    # The old timer ends it on time.
    h.clock.advance(start + 3599 - h.clock.now())
    assert await h.app.scheduler.fire_due() == 0
    h.clock.advance(1)
    assert await h.app.scheduler.fire_due() == 1
    await h.settle()
    assert [e.agent for e in h.of(AgentUnsuspended)] == ["alpha"]
    assert "no agent is suspended" in (await h.command("suspensions")).text
    assert "ended (expired)" in (await h.command("case 1")).text
    assert (await h.submit("alpha", "back for real")).posted
