"""Escalation: an agent's repeated rejections become a suspension.

Rejections are counted in the hot state per agent and scope (the room, or the server with ``scope = "server"``),
over a sliding window of event time. The ``escalation.rejections``-th within ``escalation.window_seconds``
suspends the agent through the core's ``SuspensionService`` (which stores it, arms its end timer and announces it)
and links the suspension to the case that tipped it over, so that pardoning that case lifts it.
"""

from __future__ import annotations

from bot.cases import CaseService
from bot.suspensions import SuspensionService
from cogs.moderator.config import ModeratorSettings
from domain import Room
from policy.moderation import within_window
from storage.cases import CaseRecord
from storage.moderation import RoomStateStore
from storage.suspensions import Suspension


class Escalation:
    def __init__(self, *, state: RoomStateStore, suspensions: SuspensionService, cases: CaseService) -> None:
        self.state = state
        self.suspensions = suspensions
        self.cases = cases

    async def count_rejection(
        self, agent: str, room: Room, at: float, case: CaseRecord, settings: ModeratorSettings
    ) -> Suspension | None:
        """Count one rejection of ``agent`` (recorded as ``case``); the suspension it led to, if it did."""
        esc = settings.escalation
        if not esc.enabled:
            return None
        per_room = esc.scope == "room"
        scope = room.key if per_room else room.server_key
        times = within_window([*self.state.rejections(agent, scope), at], at, esc.window_seconds)
        if len(times) < esc.rejections:
            self.state.set_rejections(agent, scope, times)
            return None
        self.state.set_rejections(agent, scope, [])
        suspension = await self.suspensions.suspend(
            agent=agent,
            room=room,
            whole_server=not per_room,
            at=at,
            seconds=esc.suspend_seconds,
            reason=f"{len(times)} rejected messages within {esc.window_seconds:g}s (last: {case.rule})",
            case_number=case.number,
        )
        await self.cases.link_suspension(case.id, suspension.id)
        return suspension
