"""Retention: old per-message rows go, in bounded batches, while recent rows and cases and suspensions stay."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.app import StewardApp
from bot.clock import ManualClock, SystemClock
from bot.config import ConfigError
from domain import Room
from storage.retention import DAY

NOW = 1_800_000_000.0
ROOM = Room("test", "s1", "c1")


def _count(app: StewardApp, sql: str) -> int:
    with sqlite3.connect(app.db.path) as other:
        return int(other.execute(sql).fetchone()[0])


async def _fill(app: StewardApp, *, old: int, recent: int) -> None:
    """Decisions, feedback (some still to be forwarded) and suggestions, ``old`` 40 days back and ``recent`` an hour
    back, in time order as a live bot writes them; one old case and one old suspension."""
    times = [NOW - 40 * DAY + n for n in range(old)] + [NOW - 3600 + n for n in range(recent)]
    await app.db.executemany(
        "INSERT INTO decisions (at, room, agent, verdict, rule, reason, text_hash) "
        "VALUES (?, 'test:s1:c1', 'a', 'approve', 'pass', 'ok', 'h')",
        [(at,) for at in times],
    )
    await app.db.executemany(
        "INSERT INTO feedback (at, agent, reward, source, recorded_at, forward_pending) "
        "VALUES (?, 'a', 0.5, 's', ?, ?)",
        [(at, at, 1 if n == 3 else 0) for n, at in enumerate(times)],
    )
    await app.db.executemany(
        "INSERT INTO sentiment_suggestions (at, room, agent) VALUES (?, 'test:s1:c1', 'a')", [(at,) for at in times]
    )
    await app.db.execute(
        "INSERT INTO cases (server, number, room, at, target_kind, target_id, verdict, rule, reason, text_hash) "
        "VALUES ('s1', 1, 'test:s1:c1', ?, 'agent', 'a', 'reject', 'toxicity', 'rude', 'h')",
        (NOW - 400 * DAY,),
    )
    await app.db.execute(
        "INSERT INTO agent_suspensions (agent, server, started_at, until, reason, ended_at) "
        "VALUES ('a', 's1', ?, ?, 'rude', ?)",
        (NOW - 400 * DAY, NOW - 399 * DAY, NOW - 399 * DAY),
    )


async def _app(make_settings, clock, **database) -> StewardApp:
    settings = make_settings(database={"path": str(make_settings.tmp_path / "steward.db"), **database})
    app = StewardApp(settings, adapters=[], clock=clock, http=False)
    await app.start()
    return app


async def test_old_per_message_rows_go_in_batches_and_the_rest_stays(make_settings) -> None:
    app = await _app(make_settings, ManualClock(NOW), retention_batch=7)
    try:
        await _fill(app, old=100, recent=20)
        deletes: list[int] = []
        execute = app.db.execute

        async def counted(sql: str, params=()) -> int:
            result = await execute(sql, params)
            if sql.startswith("DELETE FROM decisions"):
                deletes.append(result)
            return result

        app.db.execute = counted  # type: ignore[method-assign]
        deleted = await app.scheduler.prune()
        assert deleted == {"decisions": 100, "feedback": 99, "sentiment_suggestions": 100}
        # Many short writes of at most a batch each, not one long DELETE.
        assert len(deletes) >= 100 // 7 and max(deletes) <= 7
        assert _count(app, "SELECT COUNT(*) FROM decisions") == 20
        assert _count(app, "SELECT MIN(at) FROM decisions") >= NOW - 3600
        # Feedback still waiting to reach its agent stays, old or not; so do cases and suspensions.
        assert _count(app, "SELECT COUNT(*) FROM feedback") == 21
        assert _count(app, "SELECT COUNT(*) FROM feedback WHERE forward_pending = 1") == 1
        assert _count(app, "SELECT COUNT(*) FROM sentiment_suggestions") == 20
        assert _count(app, "SELECT COUNT(*) FROM cases") == 1
        assert _count(app, "SELECT COUNT(*) FROM agent_suspensions") == 1
        # A second pass finds nothing more to do; the decision log keeps working.
        assert await app.scheduler.prune() == {"decisions": 0, "feedback": 0, "sentiment_suggestions": 0}
        assert app.scheduler.health["retention_deleted"]["decisions"] == 100
    finally:
        await app.stop()


async def test_writers_are_not_kept_waiting_by_a_prune(make_settings) -> None:
    app = await _app(make_settings, ManualClock(NOW), retention_batch=5)
    try:
        await _fill(app, old=200, recent=0)
        before = app.db.group_commit.blocks
        prune = asyncio.create_task(app.scheduler.prune())
        await asyncio.sleep(0)
        await app.decisions.record(
            at=NOW, room=ROOM, agent="a", verdict="approve", rule="pass", reason="ok", text="hi", scores={}
        )
        blocks_when_recorded = app.db.group_commit.blocks - before
        assert not prune.done()  # the decision was committed while the prune was still going
        assert (await prune)["decisions"] == 200
        assert blocks_when_recorded < 200 // 5
        assert _count(app, "SELECT COUNT(*) FROM decisions") == 1
    finally:
        await app.stop()


async def test_per_table_days_and_zero_keeps_forever(make_settings) -> None:
    app = await _app(make_settings, ManualClock(NOW), retention_days=0, retention_tables={"feedback": 10})
    try:
        await _fill(app, old=10, recent=5)
        assert await app.scheduler.prune() == {"feedback": 9}
        assert _count(app, "SELECT COUNT(*) FROM decisions") == 15
        assert _count(app, "SELECT COUNT(*) FROM feedback") == 6  # one old row still to be forwarded
    finally:
        await app.stop()
    with pytest.raises(ConfigError, match="no per-message table named 'cases'"):
        make_settings(database={"retention_tables": {"cases": 10}})


async def test_a_live_bot_prunes_in_the_background_and_a_replay_does_not(make_settings) -> None:
    live = await _app(make_settings, SystemClock())
    try:
        assert live.scheduler.aps.get_job("retention") is not None
    finally:
        await live.stop()
    # A replay's clock is its transcript's: rows recorded with old times are what it is asked to show.
    replay = await _app(make_settings, ManualClock(NOW))
    try:
        assert replay.scheduler.aps.get_job("retention") is None
    finally:
        await replay.stop()
