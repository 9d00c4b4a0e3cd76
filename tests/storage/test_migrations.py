from __future__ import annotations

import sqlite3

import pytest

from storage.core import CORE_MIGRATIONS, AgentRecord, AgentRepository, DecisionLog
from storage.db import Database, Migration, MigrationError


async def test_a_database_at_an_older_version_is_migrated_without_losing_data(tmp_path) -> None:
    path = tmp_path / "old.db"
    # A database as the first release left it: schema version 1, with an agent and a pending timer.
    async with Database(path) as db:
        assert await db.migrate("core", CORE_MIGRATIONS[:1]) == 1
        await db.execute(
            "INSERT INTO agents (name, platform, owner_id, display_name, kind, platform_user_id, created_at) "
            "VALUES ('helper', 'discord', '42', 'Helper', 'bot_user', '999', 1.0)"
        )
        await db.execute("INSERT INTO timers (kind, key, due_at, payload) VALUES ('x', 'k', 5.0, '{\"a\": 1}')")

    async with Database(path) as db:
        assert await db.schema_version("core") == 1
        assert await db.migrate("core", CORE_MIGRATIONS) == len(CORE_MIGRATIONS)
        agent = await AgentRepository(db).get("helper")
        assert agent == AgentRecord("helper", "discord", "42", "Helper", "bot_user", "999", None, 1.0)
        timer = await db.fetchone("SELECT * FROM timers")
        assert (timer["kind"], timer["key"], timer["payload"]) == ("x", "k", '{"a": 1}')
        # The new schema works on the old data.
        await AgentRepository(db).update("helper", avatar_url="https://example.invalid/a.png")
        history = await db.fetchall("SELECT version FROM schema_history WHERE component = 'core' ORDER BY version")
        assert [r["version"] for r in history] == list(range(1, len(CORE_MIGRATIONS) + 1))


async def test_migrating_twice_does_nothing(tmp_path) -> None:
    async with Database(tmp_path / "a.db") as db:
        await db.migrate("core", CORE_MIGRATIONS)
        await DecisionLog(db).db.execute(
            "INSERT INTO agents (name, platform, owner_id, created_at) VALUES ('a','t','o',1)"
        )
        assert await db.migrate("core", CORE_MIGRATIONS) == len(CORE_MIGRATIONS)
        assert len(await AgentRepository(db).list()) == 1


async def test_a_failing_migration_leaves_the_previous_version(tmp_path) -> None:
    steps = [
        Migration(1, "table", "CREATE TABLE t (x INTEGER);"),
        Migration(2, "broken", "ALTER TABLE t ADD COLUMN y INTEGER; ALTER TABLE nope ADD COLUMN z INTEGER;"),
    ]
    async with Database(tmp_path / "b.db") as db:
        await db.execute("SELECT 1")
        with pytest.raises(sqlite3.OperationalError):
            await db.migrate("comp", steps)
        assert await db.schema_version("comp") == 1
        columns = [r["name"] for r in await db.fetchall("PRAGMA table_info(t)")]
        assert columns == ["x"]  # the half-applied step was rolled back


async def test_a_newer_database_is_refused(tmp_path) -> None:
    async with Database(tmp_path / "c.db") as db:
        await db.migrate("core", CORE_MIGRATIONS)
        with pytest.raises(MigrationError, match="newer than this code knows"):
            await db.migrate("core", CORE_MIGRATIONS[:1])


async def test_wal_mode_is_on(tmp_path) -> None:
    async with Database(tmp_path / "d.db") as db:
        row = await db.fetchone("PRAGMA journal_mode")
        assert row[0] == "wal"


async def test_agent_names_are_checked(tmp_path) -> None:
    async with Database(tmp_path / "e.db") as db:
        await db.migrate("core", CORE_MIGRATIONS)
        with pytest.raises(ValueError, match="agent name"):
            await AgentRepository(db).register(AgentRecord("two words", "t", "o"))
