"""Group commit: concurrent writes share transactions, yet each is committed before it returns and fails alone."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from domain import Room
from storage.core import CORE_MIGRATIONS, DecisionLog
from storage.db import Database

ROOM = Room("test", "s1", "c1")


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "steward.db")
    await database.open()
    await database.migrate("core", CORE_MIGRATIONS)
    try:
        yield database
    finally:
        await database.close()


def _stored(db: Database, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """What another connection (another process, a backup) sees: only committed rows."""
    with sqlite3.connect(db.path) as other:
        return other.execute(sql, params).fetchall()


async def _record(log: DecisionLog, n: int) -> int:
    return await log.record(
        at=float(n), room=ROOM, agent=f"a{n}", verdict="approve", rule="pass", reason="ok", text=f"t{n}", scores={}
    )


async def test_concurrent_decisions_share_commits_and_each_is_committed_when_it_returns(db) -> None:
    log = DecisionLog(db)
    seen_by_others: list[bool] = []

    async def decide(n: int) -> int:
        decision_id = await _record(log, n)
        # The moment record returns, the row is committed: another connection already reads it.
        seen_by_others.append(bool(_stored(db, "SELECT 1 FROM decisions WHERE id = ?", (decision_id,))))
        return decision_id

    commits_before = db.group_commit.commits
    ids = await asyncio.gather(*(decide(n) for n in range(60)))
    assert len(set(ids)) == 60 and all(seen_by_others)
    assert _stored(db, "SELECT COUNT(*) FROM decisions") == [(60,)]
    # Sixty writers, a handful of transactions (one per batch, not one per decision).
    assert db.group_commit.commits - commits_before <= 3
    rows = dict(_stored(db, "SELECT id, agent FROM decisions"))
    assert all(rows[decision_id] == f"a{n}" for n, decision_id in enumerate(ids))


async def test_a_failing_write_fails_alone_and_its_batch_commits(db) -> None:
    insert = "INSERT INTO agents (name, platform, owner_id, created_at) VALUES (?, 'test', 'o', 0)"
    await db.execute(insert, ("taken",))
    commits_before = db.group_commit.commits
    outcomes = await asyncio.gather(
        db.execute(insert, ("one",)),
        db.execute(insert, ("taken",)),  # the primary key exists: this one fails
        db.write([(insert, ("two",)), (insert, ("three",))]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert not isinstance(outcomes[0], BaseException) and not isinstance(outcomes[2], BaseException)
    assert db.group_commit.commits - commits_before == 1  # all three blocks were one transaction
    names = {name for (name,) in _stored(db, "SELECT name FROM agents")}
    assert names == {"taken", "one", "two", "three"}


async def test_a_block_is_all_or_nothing(db) -> None:
    insert = "INSERT INTO agents (name, platform, owner_id, created_at) VALUES (?, 'test', 'o', 0)"
    with pytest.raises(sqlite3.IntegrityError):
        await db.write([(insert, ("first",)), (insert, ("first",))])  # the second repeats the key
    assert _stored(db, "SELECT name FROM agents") == []
    # The connection is usable at once, and outside any transaction.
    assert await db.execute(insert, ("after",)) > 0
    assert not db.conn.in_transaction


async def test_a_batch_that_cannot_begin_fails_every_writer_and_stores_nothing(db) -> None:
    await db.conn.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        log = DecisionLog(db)
        outcomes = await asyncio.gather(*(_record(log, n) for n in range(5)), return_exceptions=True)
        assert all(isinstance(o, sqlite3.OperationalError) and "locked" in str(o) for o in outcomes)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _stored(db, "SELECT COUNT(*) FROM decisions") == [(0,)]
    assert await _record(DecisionLog(db), 99) > 0


async def test_a_writer_cancelled_before_its_batch_began_writes_nothing(db) -> None:
    log = DecisionLog(db)
    async with db.transaction():  # holds the write lock: the batch cannot start yet
        waiting = asyncio.create_task(_record(log, 1))
        kept = asyncio.create_task(_record(log, 2))
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.sleep(0)
    await kept
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert _stored(db, "SELECT agent FROM decisions") == [("a2",)]


async def test_closing_waits_for_queued_writes(tmp_path) -> None:
    database = Database(tmp_path / "closing.db")
    await database.open()
    await database.migrate("core", CORE_MIGRATIONS)
    log = DecisionLog(database)
    pending = [asyncio.create_task(_record(log, n)) for n in range(10)]
    await asyncio.sleep(0)
    await database.close()
    assert len({await task for task in pending}) == 10
    assert _stored(database, "SELECT COUNT(*) FROM decisions") == [(10,)]
    with pytest.raises(RuntimeError, match="not open"):
        await _record(log, 11)
