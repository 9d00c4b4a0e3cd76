"""Writes that belong together are one transaction: a timer written inside one is armed only once it commits, a
failure part-way leaves none of the writes, and the start repairs suspensions a crash left without their end."""

from __future__ import annotations

import sqlite3

import pytest

from bot.app import StewardApp
from bot.cases import CaseEntry
from bot.clock import SystemClock
from bot.scheduler import Scheduler
from bot.suspensions import SUSPENSION_END_TIMER, SuspensionTerms
from domain import Actor, ActorKind, Room
from storage.core import CORE_MIGRATIONS, TimerRepository
from storage.db import Database
from tests.support import RecordingAdapter

ROOM = Room("test", "s1", "general")
ALPHA = Actor("test", "alpha", ActorKind.AGENT, "alpha")


async def _noop(key, payload) -> None:
    return None


async def test_a_timer_written_in_a_transaction_is_armed_after_the_commit_and_never_after_a_rollback(tmp_path):
    db = Database(tmp_path / "steward.db")
    await db.open()
    try:
        await db.migrate("core", CORE_MIGRATIONS)
        scheduler = Scheduler(TimerRepository(db), SystemClock())
        scheduler.register_handler("k", _noop)
        with pytest.raises(RuntimeError, match="boom"):
            async with db.transaction() as conn:
                await scheduler.schedule_in(conn, "k", "lost", 4_000_000_000.0, {})
                raise RuntimeError("boom")
        assert await scheduler.timers.all() == []
        assert scheduler.aps.get_job("timer:k:lost") is None

        async with db.transaction() as conn:
            await scheduler.schedule_in(conn, "k", "kept", 4_000_000_000.0, {"n": 1})
            assert scheduler.aps.get_job("timer:k:kept") is None  # not before the commit
        assert scheduler.aps.get_job("timer:k:kept") is not None
        assert [(t.key, t.payload) for t in await scheduler.timers.all()] == [("kept", {"n": 1})]

        async with db.transaction() as conn:
            assert await scheduler.cancel_in(conn, "k", "kept")
        assert scheduler.aps.get_job("timer:k:kept") is None and await scheduler.timers.all() == []
    finally:
        await db.close()


async def test_a_case_and_the_suspension_it_causes_are_written_together_or_not_at_all(app: StewardApp, monkeypatch):
    entry = CaseEntry(room=ROOM, target=ALPHA, at=app.clock.now(), verdict="reject", rule="duplicate", reason="again")
    terms = SuspensionTerms(agent="alpha", room=ROOM, whole_server=False, at=app.clock.now(), seconds=600, reason="3x")

    async def broken_timer(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.scheduler, "schedule_in", broken_timer)
    with pytest.raises(sqlite3.OperationalError):
        await app.cases.record(entry, suspend=terms)
    assert await app.cases.list("test:s1") == []
    assert await app.suspensions.repo.open() == []
    assert app.suspensions.active("alpha", ROOM, app.clock.now()) is None
    monkeypatch.undo()

    case, suspension = await app.cases.record(entry, suspend=terms)
    assert suspension is not None and case.suspension_id == suspension.id and suspension.case_number == case.number
    assert app.suspensions.active("alpha", ROOM, app.clock.now()) == suspension
    assert [(t.kind, t.key) for t in await app.scheduler.timers.all()] == [(SUSPENSION_END_TIMER, str(suspension.id))]


async def test_suspensions_left_without_their_end_timer_are_repaired_at_start(make_settings, clock):
    settings = make_settings()
    first = StewardApp(settings, adapters=[RecordingAdapter()], clock=clock)
    await first.start()
    try:
        short = await first.suspensions.suspend(
            agent="alpha", room=ROOM, whole_server=False, at=clock.now(), seconds=600, reason="r", case_number=None
        )
        long = await first.suspensions.suspend(
            agent="beta", room=ROOM, whole_server=True, at=clock.now(), seconds=7200, reason="r", case_number=None
        )
        ended = await first.suspensions.suspend(
            agent="gamma", room=ROOM, whole_server=False, at=clock.now(), seconds=7200, reason="r", case_number=None
        )
        assert await first.suspensions.end(ended, at=clock.now(), by="test")
    finally:
        await first.stop()
    with sqlite3.connect(settings.database.path) as conn:
        conn.execute("DELETE FROM timers")  # as a crash between the writes (or an older Steward) left it
        conn.execute(
            "INSERT INTO timers (kind, key, due_at, payload) VALUES (?, ?, 1, '{}')", (SUSPENSION_END_TIMER, "3")
        )
    clock.advance(1200)  # the short one's end passed while Steward was down

    second = StewardApp(settings, adapters=[RecordingAdapter()], clock=clock)
    await second.start()
    try:
        assert (await second.suspensions.get(short.id)).ended_by == "expired"
        assert second.suspensions.active("alpha", ROOM, clock.now()) is None
        assert second.suspensions.active("beta", ROOM, clock.now()) is not None
        timers = await second.scheduler.timers.all()
        assert [(t.kind, t.key, t.due_at) for t in timers] == [(SUSPENSION_END_TIMER, str(long.id), long.until)]
        clock.advance(7200)
        assert await second.scheduler.fire_due() == 1
        assert (await second.suspensions.get(long.id)).ended_by == "expired"
    finally:
        await second.stop()
