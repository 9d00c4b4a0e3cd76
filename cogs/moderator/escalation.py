"""Escalation: an agent's repeated rejections become a suspension.

Rejections are counted in the hot state per agent and scope (the room, or the server with ``scope = "server"``),
over a sliding window of event time. The ``escalation.rejections``-th within ``escalation.window_seconds``
suspends the agent. The count is taken before the rejection's case is written, so that the case, the suspension it
causes (linked to it, so that pardoning the case lifts it) and the suspension's end timer are written in one
transaction by the core's ``CaseService.record``: a crash leaves all of them or none.
"""

from __future__ import annotations

from bot.cases import CaseEntry, CaseService
from bot.suspensions import SuspensionTerms
from cogs.moderator.config import ModeratorSettings
from domain import Room
from policy.moderation import within_window
from storage.cases import CaseRecord
from storage.moderation import RoomStateStore
from storage.suspensions import Suspension


class Escalation:
    def __init__(self, *, state: RoomStateStore, cases: CaseService) -> None:
        self.state = state
        self.cases = cases

    def count_rejection(
        self, agent: str, room: Room, at: float, rule: str, settings: ModeratorSettings
    ) -> SuspensionTerms | None:
        """Count one rejection of ``agent`` (for ``rule``); the suspension it tips over into, if it does."""
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
        return SuspensionTerms(
            agent=agent,
            room=room,
            whole_server=not per_room,
            at=at,
            seconds=esc.suspend_seconds,
            reason=f"{len(times)} rejected messages within {esc.window_seconds:g}s (last: {rule})",
        )

    async def open_case(
        self, entry: CaseEntry, settings: ModeratorSettings, *, counts: bool
    ) -> tuple[CaseRecord, Suspension | None]:
        """Open the case of a decision; when it ``counts`` towards a suspension and tips the agent over, the
        suspension is written with the case."""
        suspend = None
        if counts:
            suspend = self.count_rejection(entry.target.id, entry.room, entry.at, entry.rule, settings)
        return await self.cases.record(entry, suspend=suspend)
