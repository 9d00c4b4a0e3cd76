"""Suspensions as a core service: one record per suspension, one owner, read by every cog.

The moderator's escalation suspends an agent in a room or a whole server; a durable timer (or a pardon) ends it.
The open suspensions are held in memory for the gate's hot path (the database is the source of truth, loaded at
start); presence reads the same records to refuse invitations. Each start and end is logged, counted
(``steward_moderation_suspensions_total``) and announced (``AgentSuspended`` / ``AgentUnsuspended``). A suspension
and its end timer are written in one transaction (``add_in`` joins the caller's, for the case that causes it); at
load, an open suspension without its timer gets one, or is ended when its end passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.bus import EventBus
from bot.events import AgentSuspended, AgentUnsuspended
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from domain import Room
from storage.suspensions import Suspension, SuspensionRepository

log = get_logger("steward.suspensions")

# The timer kind predates the core owning suspensions; timers stored under it must still end their suspension.
SUSPENSION_END_TIMER = "moderator.unsuspend"


@dataclass(frozen=True, slots=True)
class SuspensionTerms:
    """A suspension to start: whom, where (the room, or its whole server), from when, for how long, why."""

    agent: str
    room: Room
    whole_server: bool
    at: float
    seconds: float
    reason: str


class SuspensionService:
    def __init__(self, repo: SuspensionRepository, *, bus: EventBus, scheduler: Scheduler, metrics: Metrics) -> None:
        self.repo = repo
        self.bus = bus
        self.scheduler = scheduler
        self._by_agent: dict[str, dict[int, Suspension]] = {}
        self._events = metrics.counter(
            "steward_moderation_suspensions_total", "Agent suspensions started and ended", ["event"]
        )

    async def load(self) -> None:
        """Read the open suspensions, take over their end timers and repair what a crash or an older version left
        (call before the scheduler re-arms)."""
        self._by_agent.clear()
        held = await self.repo.open()
        for suspension in held:
            self._hold(suspension)
        self.scheduler.register_handler(SUSPENSION_END_TIMER, self._on_timer)
        await self._repair(held)

    async def _repair(self, held: list[Suspension]) -> None:
        """An open suspension without an end timer gets one, or is ended when its end has passed; the timer of a
        suspension that ended or is gone is deleted."""
        now = self.scheduler.clock.now()
        timed = {t.key for t in await self.scheduler.timers.of_kind(SUSPENSION_END_TIMER)}
        by_key = {str(s.id): s for s in held}
        stale = sorted(timed - by_key.keys())
        untimed = [s for key, s in by_key.items() if key not in timed]
        if stale or untimed:
            async with self.repo.db.transaction() as conn:
                for key in stale:
                    await self.scheduler.cancel_in(conn, SUSPENSION_END_TIMER, key)
                for s in untimed:
                    if s.until > now:
                        await self.scheduler.schedule_in(
                            conn, SUSPENSION_END_TIMER, str(s.id), s.until, {"suspension": s.id}
                        )
        past = [s for s in untimed if s.until <= now]
        for suspension in past:
            await self.end(suspension, at=suspension.until, by="expired")
        log.info(
            "repaired",
            component="suspensions",
            ended=len(past),
            timers_added=len(untimed) - len(past),
            timers_deleted=len(stale),
        )

    # --- reading (hot path: no I/O) -------------------------------------------------------------------------------

    def active(self, agent: str, room: Room, at: float) -> Suspension | None:
        """The suspension that keeps ``agent`` silent in ``room`` at ``at``, if any."""
        held = self._by_agent.get(agent)
        if not held:
            return None
        server = room.server_key
        for suspension in held.values():
            if suspension.covers(server, room.key, at):
                return suspension
        return None

    def covering(self, agent: str, at: float) -> list[Suspension]:
        """Every suspension of ``agent`` in force at ``at`` (latest end first)."""
        held = self._by_agent.get(agent, {}).values()
        found = [s for s in held if s.ended_at is None and s.started_at <= at < s.until]
        return sorted(found, key=lambda s: s.until, reverse=True)

    def in_server(self, server: str, at: float) -> list[Suspension]:
        """The suspensions in force in ``server`` (``platform:server``), oldest first."""
        found = [s for held in self._by_agent.values() for s in held.values() if s.server == server and s.until > at]
        return sorted(found, key=lambda s: s.id)

    async def get(self, suspension_id: int) -> Suspension | None:
        return await self.repo.get(suspension_id)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_agent.values())

    # --- writing ----------------------------------------------------------------------------------------------------

    async def suspend(
        self,
        *,
        agent: str,
        room: Room,
        whole_server: bool,
        at: float,
        seconds: float,
        reason: str,
        case_number: int | None,
    ) -> Suspension:
        """Suspend ``agent`` in ``room`` (or its whole server) for ``seconds``; the record and its end timer are
        written in one transaction."""
        terms = SuspensionTerms(
            agent=agent, room=room, whole_server=whole_server, at=at, seconds=seconds, reason=reason
        )
        async with self.repo.db.transaction() as conn:
            suspension = await self.add_in(conn, terms, case_number=case_number)
        await self.announce(suspension, terms)
        return suspension

    async def add_in(
        self, conn: aiosqlite.Connection, terms: SuspensionTerms, *, case_number: int | None
    ) -> Suspension:
        """Write a suspension and its end timer inside the caller's transaction (with the case that caused it, say);
        it is held for the gate once the transaction commits. Call ``announce`` after the commit."""
        room = terms.room
        suspension = await self.repo.add_in(
            conn,
            agent=terms.agent,
            server=room.server_key,
            room=None if terms.whole_server else room.key,
            started_at=terms.at,
            until=terms.at + terms.seconds,
            reason=terms.reason,
            case_number=case_number,
        )
        await self.scheduler.schedule_in(
            conn, SUSPENSION_END_TIMER, str(suspension.id), suspension.until, {"suspension": suspension.id}
        )
        self.repo.db.after_commit(lambda: self._hold(suspension))
        return suspension

    async def announce(self, suspension: Suspension, terms: SuspensionTerms) -> None:
        """Count, log and publish a suspension that was committed."""
        self._events.labels("started").inc()
        log.warning(
            "agent_suspended",
            agent=suspension.agent,
            server=suspension.server,
            room=suspension.room,
            until=suspension.until,
            reason=suspension.reason,
            case=suspension.case_number,
        )
        room = terms.room
        await self.bus.publish(
            AgentSuspended(
                at=terms.at,
                agent=suspension.agent,
                platform=room.platform,
                server=room.server,
                room=None if terms.whole_server else room,
                until=suspension.until,
                reason=suspension.reason,
            )
        )

    async def end(self, suspension: Suspension, *, at: float, by: str) -> bool:
        """End a suspension early or on time; False when it had already ended."""
        async with self.repo.db.transaction() as conn:
            ended = await self.repo.end_in(conn, suspension.id, at=at, by=by)
            if ended:
                await self.scheduler.cancel_in(conn, SUSPENSION_END_TIMER, str(suspension.id))
        if not ended:
            return False
        self._release(suspension.id)
        self._events.labels("ended").inc()
        platform, _, server = suspension.server.partition(":")
        room = Room.parse(suspension.room) if suspension.room else None
        log.info("agent_unsuspended", agent=suspension.agent, server=suspension.server, room=suspension.room, by=by)
        await self.bus.publish(
            AgentUnsuspended(at=at, agent=suspension.agent, platform=platform, server=server, room=room)
        )
        return True

    async def _on_timer(self, key: str, payload: Mapping[str, Any]) -> None:
        suspension = await self.repo.get(int(key))
        if suspension is None or suspension.ended_at is not None:
            return
        await self.end(suspension, at=suspension.until, by="expired")

    def _hold(self, suspension: Suspension) -> None:
        self._by_agent.setdefault(suspension.agent, {})[suspension.id] = suspension

    def _release(self, suspension_id: int) -> None:
        for agent, held in list(self._by_agent.items()):
            if held.pop(suspension_id, None) is not None:
                if not held:
                    del self._by_agent[agent]
                return
