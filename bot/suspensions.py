"""Suspensions as a core service: one record per suspension, one owner, read by every cog.

The moderator's escalation suspends an agent in a room or a whole server; a durable timer (or a pardon) ends it.
The open suspensions are held in memory for the gate's hot path (the database is the source of truth, loaded at
start); presence reads the same records to refuse invitations. Each start and end is logged, counted
(``steward_moderation_suspensions_total``) and announced (``AgentSuspended`` / ``AgentUnsuspended``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        """Read the open suspensions and take over their end timers (call before the scheduler re-arms)."""
        self._by_agent.clear()
        for suspension in await self.repo.open():
            self._hold(suspension)
        self.scheduler.register_handler(SUSPENSION_END_TIMER, self._on_timer)

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
        """Suspend ``agent`` in ``room`` (or its whole server) for ``seconds``; stored before the timer is armed."""
        suspension = await self.repo.add(
            agent=agent,
            server=room.server_key,
            room=None if whole_server else room.key,
            started_at=at,
            until=at + seconds,
            reason=reason,
            case_number=case_number,
        )
        self._hold(suspension)
        await self.scheduler.schedule_at(
            SUSPENSION_END_TIMER, str(suspension.id), suspension.until, {"suspension": suspension.id}
        )
        self._events.labels("started").inc()
        log.warning(
            "agent_suspended",
            agent=agent,
            server=suspension.server,
            room=suspension.room,
            until=suspension.until,
            reason=reason,
            case=case_number,
        )
        await self.bus.publish(
            AgentSuspended(
                at=at,
                agent=agent,
                platform=room.platform,
                server=room.server,
                room=None if whole_server else room,
                until=suspension.until,
                reason=reason,
            )
        )
        return suspension

    async def end(self, suspension: Suspension, *, at: float, by: str) -> bool:
        """End a suspension early or on time; False when it had already ended."""
        if not await self.repo.end(suspension.id, at=at, by=by):
            return False
        self._release(suspension.id)
        await self.scheduler.cancel(SUSPENSION_END_TIMER, str(suspension.id))
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
