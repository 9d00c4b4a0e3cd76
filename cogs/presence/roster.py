"""Joining and leaving: carrying a join out on the platform (undone when refused), announcing it, ending stays,
recording forced leaves as cases, and the in-memory map of who is in which room (for routing room messages to
the agents' API streams)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.actions import AddAgentToChannel, RemoveAgentFromChannel, SendMessage
from bot.cog import CogContext
from bot.events import AgentJoined, AgentLeft
from cogs.presence.config import PresenceSettings
from cogs.presence.notify import Notifier
from domain import Actor, ActorKind, AgentIdentity, Room
from policy.presence import RewardEvent
from storage.core import AgentRecord
from storage.presence import InvitationRecord, InvitationStatus, PresenceStore

# The rules of the cases presence opens: a forced leave Steward carried out (a suspension, a removal request) and
# an admin's ``remove``.
FORCED_LEAVE_RULE = "presence.forced_leave"
REMOVED_RULE = "presence.removed"
CASE_VERDICT = "remove"


@dataclass(frozen=True, slots=True)
class Leave:
    """Why and how an agent leaves a room.

    ``forced``: against the agent's owner's will (costs a reward, opens a case under ``rule``). ``on_platform``
    False: the agent already left on the platform, so Steward only records it and performs and announces nothing.
    """

    reason: str
    by: str
    forced: bool = False
    rule: str = FORCED_LEAVE_RULE
    on_platform: bool = True


@dataclass(frozen=True, slots=True)
class JoinOutcome:
    joined: bool
    reason: str
    invitation: InvitationRecord


class Roster:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore, notify: Notifier) -> None:
        self.ctx = ctx
        self.store = store
        self.notify = notify
        self.log = ctx.log
        # room key -> agents present; mirrors the presence table (a room no agent is in has no entry).
        self.present: dict[str, set[str]] = {}
        self._count = 0
        self._gauge = ctx.metrics.gauge("steward_agents_present", "Agent stays currently open", [])

    async def load(self) -> None:
        self.present.clear()
        for rec in await self.store.presence.all():
            self.present.setdefault(rec.room, set()).add(rec.agent)
        self._count = sum(len(v) for v in self.present.values())
        self._update_gauge()

    def _update_gauge(self) -> None:
        self._gauge.set(self.count())

    def count(self) -> int:
        return self._count

    def _add(self, room_key: str, agent: str) -> None:
        agents = self.present.setdefault(room_key, set())
        if agent not in agents:
            agents.add(agent)
            self._count += 1

    def _remove(self, room_key: str, agent: str) -> None:
        agents = self.present.get(room_key)
        if agents is not None and agent in agents:
            agents.discard(agent)
            self._count -= 1
            if not agents:
                del self.present[room_key]

    async def carry_out_join(self, inv: InvitationRecord, record: AgentRecord, *, tell: bool) -> JoinOutcome:
        """The stay is stored: add the agent on the platform (undoing the stay when refused), close any other
        open invitation to this room, announce, publish and tell."""
        room = inv.room_obj
        joined = await self.ctx.router.perform(AddAgentToChannel(room=room, agent=record.identity))
        if not joined.ok:
            await self.store.presence.undo_join(record.name, room)
            reason = f"the platform refused the join: {joined.error}"
            await self.store.invitations.mark_failed(inv.id, reason=reason, at=self.ctx.clock.now())
            failed = await self.store.invitations.get(inv.id)
            assert failed is not None
            await self.notify.finished(failed, "failed", tell=tell)
            return JoinOutcome(False, reason, failed)
        self._add(room.key, record.name)
        self._update_gauge()
        await self._close_moot(inv, record.name, room)
        if self.ctx.config(room).announce:
            by = f" (invited by {inv.inviter_name})" if inv.inviter_name else ""
            await self.ctx.router.perform(
                SendMessage(room=room, text=f"{record.display_name or record.name} joined{by}.", system=True)
            )
        await self.ctx.bus.publish(AgentJoined(at=self.ctx.clock.now(), agent=record.name, room=room))
        self.notify.emit(record.name, "joined", {"room": room.key, "invitation_id": inv.id})
        await self.notify.finished(inv, "accepted", tell=tell)
        return JoinOutcome(True, inv.reason, inv)

    async def _close_moot(self, inv: InvitationRecord, agent: str, room: Room) -> None:
        """Another open invitation of the agent to this room (e.g. one waiting for the owner) is now moot."""
        other = await self.store.invitations.open_for(agent, room)
        if other is None or other.id == inv.id:
            return
        closed = await self.store.invitations.close(
            other.id,
            InvitationStatus.DECLINED,
            rule="already_present",
            reason="the agent joined through another invitation",
            at=self.ctx.clock.now(),
        )
        if closed is not None:
            await self.notify.finished(closed, "declined", tell=True)

    async def leave(self, agent: str, room: Room, why: Leave) -> bool:
        """Take the agent out of the room. False if it was not there."""
        record = await self.ctx.agents.get(agent)
        now = self.ctx.clock.now()
        stay = await self.store.presence.leave(agent, room, at=now, reason=why.reason, forced=why.forced)
        if stay is None:
            return False
        self._remove(room.key, agent)
        self._update_gauge()
        identity = record.identity if record else AgentRecord(agent, room.platform, "").identity
        refused = await self._remove_on_platform(agent, room, identity, why)
        self.log.info("agent_left", agent=agent, room=room.key, reason=why.reason, forced=why.forced, by=why.by)
        if why.on_platform and self.ctx.config(room).announce:
            await self.ctx.router.perform(
                SendMessage(room=room, text=leave_notice(identity, why, refused), system=True)
            )
        await self.ctx.bus.publish(
            AgentLeft(at=self.ctx.clock.now(), agent=agent, room=room, reason=why.reason, forced=why.forced)
        )
        self.notify.emit(agent, "left", {"room": room.key, "reason": why.reason, "forced": why.forced})
        if why.forced:
            target = Actor(room.platform, agent, ActorKind.AGENT, identity.shown_name)
            await self._record_case(target, room, why, refused)
            context: dict[str, Any] = {"reason": why.reason, "by": why.by}
            await self.notify.reward(RewardEvent.FORCED_LEAVE, agent, room, context)
        return True

    async def _remove_on_platform(self, agent: str, room: Room, identity: AgentIdentity, why: Leave) -> str | None:
        """Take the agent out of the platform's channel when the leave asks for it: None if that was done (or not
        asked), else the platform's reason for refusing (the agent stays barred by Steward all the same)."""
        if not why.on_platform:
            return None
        removed = await self.ctx.router.perform(RemoveAgentFromChannel(room=room, agent=identity, reason=why.reason))
        if removed.ok:
            return None
        self.log.warning("agent_removal_failed", agent=agent, room=room.key, error=removed.error, code=removed.code)
        return removed.code or removed.error or "refused"

    async def _record_case(self, target: Actor, room: Room, why: Leave, refused: str | None) -> None:
        """A forced leave is an action on the agent: it goes into the server's cases like the moderator's. When the
        platform refused to remove the agent, the case says so (the agent is barred from posting, not removed)."""
        action = f"removed from {room.key} (by {why.by})"
        if refused is not None:
            action = f"barred from {room.key} (by {why.by}); removal_failed:{refused}"
        await self.ctx.cases.open(
            room=room,
            target=target,
            at=self.ctx.clock.now(),
            verdict=CASE_VERDICT,
            rule=why.rule,
            reason=why.reason,
            action=action,
        )


def leave_notice(identity: AgentIdentity, why: Leave, refused: str | None) -> str:
    """What the room is told when an agent leaves: a forced leave the platform refused to carry out is not called
    a removal (the agent can no longer post through Steward, but it is still in the channel)."""
    name = identity.shown_name
    if not why.forced:
        return f"{name} left: {why.reason}."
    if refused is None:
        return f"{name} was removed: {why.reason}."
    return (
        f"{name} may no longer post here: {why.reason}. Steward could not remove it from the channel "
        f"({refused}); an admin can."
    )
