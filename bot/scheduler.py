"""Timed work on APScheduler 3.x's ``AsyncIOScheduler``, owned by the app.

*Durable timers* survive a restart: ``schedule_at(kind, key, due_at, payload)`` writes the timer to the database
before arming the job, the handler registered for ``kind`` runs when it is due, and the row is deleted only after
the handler returned. ``schedule_in(conn, ...)`` writes the timer inside the caller's transaction instead, so a
row and the timer that ends it are committed together; the job is armed after the commit. At start, ``rearm()``
arms every stored timer again; one that fell due while the bot was down runs at once.

With a ``ManualClock`` (replays, tests) time is not the wall's: durable timers are not armed on APScheduler and
fire when ``fire_due()`` is called after the clock moved.

*Retention* (``keep_for``): the per-message tables are pruned in the background every few minutes, in small
batches (``storage/retention.py``); not on a manual clock, whose time is a transcript's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, ManualClock, SystemClock
from bot.logging import get_logger
from storage.core import TimerRepository
from storage.retention import Retention

log = get_logger("steward.scheduler")

# How often the per-message tables are pruned, and how long after the start the first time.
RETENTION_EVERY = 300.0
RETENTION_FIRST = 30.0

TimerHandler = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class Scheduler:
    def __init__(self, timers: TimerRepository, clock: Clock | None = None) -> None:
        self.timers = timers
        self.clock = clock or SystemClock()
        self.aps = AsyncIOScheduler(timezone=UTC, job_defaults={"misfire_grace_time": None, "coalesce": True})
        self._handlers: dict[str, TimerHandler] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._retention: Retention | None = None
        self._retention_every = RETENTION_EVERY
        self._pruning: asyncio.Task[Any] | None = None

    @property
    def started(self) -> bool:
        return bool(self.aps.running)

    @property
    def health(self) -> dict[str, Any]:
        """Up while APScheduler runs; the jobs armed and the timer kinds handled."""
        info: dict[str, Any] = {
            "up": self.started,
            "jobs": len(self.aps.get_jobs()),
            "timer_kinds": len(self._handlers),
        }
        if self._retention is not None:
            info["retention_deleted"] = dict(self._retention.deleted)
        if not self.started:
            info["reason"] = "APScheduler is not running"
        return info

    def start(self) -> None:
        if not self.aps.running:
            self.aps.start()
        retention = self._retention
        if retention is not None and retention.enabled and not isinstance(self.clock, ManualClock):
            first = datetime.now(UTC) + timedelta(seconds=RETENTION_FIRST)
            self.aps.add_job(
                self.prune, "interval", seconds=self._retention_every, id="retention", next_run_time=first,
                replace_existing=True,
            )  # fmt: skip

    async def shutdown(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)
        if self._pruning is not None:
            self._pruning.cancel()  # the rows it would still delete are deleted at the next start
            await asyncio.gather(self._pruning, return_exceptions=True)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    # --- durable timers ------------------------------------------------------------------------------------------

    def register_handler(self, kind: str, handler: TimerHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        self._handlers[kind] = handler

    def unregister_handler(self, kind: str) -> None:
        self._handlers.pop(kind, None)
        for job in self.aps.get_jobs():
            if job.id.startswith(f"timer:{kind}:"):
                job.remove()

    async def schedule_at(self, kind: str, key: str, due_at: float, payload: Mapping[str, Any] | None = None) -> None:
        if kind not in self._handlers:
            raise KeyError(f"no handler registered for timer kind {kind!r}")
        await self.timers.upsert(kind, key, due_at, payload or {})
        self._arm(kind, key, due_at)

    async def schedule_in(
        self,
        conn: aiosqlite.Connection,
        kind: str,
        key: str,
        due_at: float,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Write a durable timer inside the caller's write transaction (``db.transaction()``), so that it is
        committed with the row it is for; the job is armed once that transaction commits, never if it rolls back."""
        if kind not in self._handlers:
            raise KeyError(f"no handler registered for timer kind {kind!r}")
        await self.timers.upsert_in(conn, kind, key, due_at, payload or {})
        self.timers.db.after_commit(lambda: self._arm(kind, key, due_at))

    async def cancel(self, kind: str, key: str) -> bool:
        self._disarm(kind, key)
        return await self.timers.delete(kind, key)

    async def cancel_in(self, conn: aiosqlite.Connection, kind: str, key: str) -> bool:
        """Delete a durable timer inside the caller's write transaction; its job goes once that commits."""
        deleted = await self.timers.delete_in(conn, kind, key)
        self.timers.db.after_commit(lambda: self._disarm(kind, key))
        return deleted

    def _disarm(self, kind: str, key: str) -> None:
        job = self.aps.get_job(self._job_id(kind, key))
        if job is not None:
            job.remove()

    async def rearm(self) -> int:
        """Arm every stored timer; return how many were armed."""
        armed = 0
        for timer in await self.timers.all():
            if timer.kind not in self._handlers:
                log.warning("timer_without_handler", kind=timer.kind, key=timer.key, due_at=timer.due_at)
                continue
            self._arm(timer.kind, timer.key, timer.due_at)
            armed += 1
        log.info("timers_rearmed", count=armed)
        return armed

    def _job_id(self, kind: str, key: str) -> str:
        return f"timer:{kind}:{key}"

    def _arm(self, kind: str, key: str, due_at: float) -> None:
        if isinstance(self.clock, ManualClock):
            return
        run_at = datetime.fromtimestamp(max(due_at, self.clock.now()), UTC)
        self.aps.add_job(
            self._fire, "date", run_date=run_at, args=(kind, key), id=self._job_id(kind, key), replace_existing=True
        )

    async def _fire(self, kind: str, key: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self.fire_now(kind, key)
        finally:
            if task is not None:
                self._running.discard(task)

    async def fire_now(self, kind: str, key: str) -> bool:
        """Run a stored timer's handler now (also what tests with a manual clock call); False if none is stored."""
        timer = await self.timers.get(kind, key)
        handler = self._handlers.get(kind)
        if timer is None or handler is None:
            return False
        try:
            await handler(key, timer.payload)
        except Exception as exc:
            log.exception("timer_failed", kind=kind, key=key, error=repr(exc))
            return False
        # A handler that scheduled the same timer again (a retry moved later) keeps the new one.
        await self.timers.delete(kind, key, due_at=timer.due_at)
        return True

    async def fire_due(self) -> int:
        """Run every stored timer that is due by the clock; for manual clocks and the console's tick.

        Reads only the due timers (through the due-time index), and nothing at all while the next due time is
        known to be later, so a replay's cost per line does not grow with the timers waiting."""
        now = self.clock.now()
        if not self.timers.may_be_due(now):
            return 0
        fired = 0
        for timer in await self.timers.due(now):
            if await self.fire_now(timer.kind, timer.key):
                if await self.timers.get(timer.kind, timer.key) is None:
                    self._disarm(timer.kind, timer.key)
                fired += 1
        await self.timers.refresh_next_due()
        return fired

    # --- retention ---------------------------------------------------------------------------------------------

    def keep_for(self, retention: Retention, *, every_seconds: float = RETENTION_EVERY) -> None:
        """Prune the per-message tables by ``retention`` in the background, every ``every_seconds`` once started."""
        self._retention, self._retention_every = retention, every_seconds

    async def prune(self) -> dict[str, int]:
        """One pruning pass now (what the background job runs); the rows deleted by table. Failures are logged."""
        if self._retention is None or self._pruning is not None:
            return {}
        self._pruning = asyncio.current_task()
        try:
            deleted = await self._retention.prune(self.clock.now())
        except Exception as exc:
            log.exception("retention_failed", error=repr(exc))
            return {}
        finally:
            self._pruning = None
        if any(deleted.values()):
            log.info("retention_pruned", **deleted)
        return deleted

    # --- plain jobs ----------------------------------------------------------------------------------------------

    def every(self, seconds: float, func: Callable[[], Awaitable[None]], *, job_id: str) -> None:
        """A repeating job (window eviction, clean-ups); not stored, re-made by its owner at each start."""
        self.aps.add_job(func, "interval", seconds=seconds, id=job_id, replace_existing=True)

    def remove_job(self, job_id: str) -> None:
        if self.aps.get_job(job_id) is not None:
            self.aps.remove_job(job_id)
