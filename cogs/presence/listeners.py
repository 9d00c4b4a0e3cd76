"""What the presence cog hears on the bus: invitation requests, the core's suspensions (enforced by forced
leaves and by declining what is open), blocked messages (a reward), removal requests, agents leaving on the
platform, and room messages for the agents' API streams."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.cog import listener
from bot.events import (
    AgentRemovalRequested,
    AgentSuspended,
    InvitationRequested,
    MemberLeft,
    MessageCreated,
    ModerationDecision,
)
from cogs.presence.commands.base import PresenceParts
from cogs.presence.errors import PresenceError, is_owner
from cogs.presence.roster import FORCED_LEAVE_RULE, Leave
from domain import ActorKind, Room
from policy.presence import RewardEvent, suspension_covers


def _covered_by(event: AgentSuspended, room_key: str) -> bool:
    room = Room.parse(room_key)
    return suspension_covers(
        platform=event.platform,
        server=event.server,
        room_key=event.room.key if event.room else None,
        room=(room.platform, room.server, room.channel),
    )


class PresenceListeners(PresenceParts):
    @listener(InvitationRequested)
    async def on_invitation_requested(self, event: InvitationRequested) -> None:
        origin = event.room if event.inviter.kind is ActorKind.HUMAN else None
        try:
            await self.coordinator.request(
                event.agent, event.room, event.inviter, reason=event.reason, origin_room=origin, tell=True
            )
        except PresenceError as exc:
            self.coordinator.notify.rejected("invitation_event", "unknown_agent")
            self.ctx.log.warning("invitation_request_rejected", agent=event.agent, room=event.room.key, error=str(exc))

    @listener(AgentSuspended)
    async def on_suspended(self, event: AgentSuspended) -> None:
        """The core suspended an agent (its record is ``ctx.suspensions``'): take it out of the covered rooms and
        close what is open for it there. New invitations are declined by the record itself while it lasts."""
        self.ctx.log.info(
            "agent_suspension_enforced", agent=event.agent, room=event.room and event.room.key, until=event.until
        )
        if await self.ctx.agents.get(event.agent) is None:
            self.coordinator.notify.rejected("suspension_event", "unknown_agent")
            return
        await self.coordinator.notify.reward(
            RewardEvent.SUSPENSION, event.agent, event.room, {"reason": event.reason, "until": event.until}
        )
        if event.until > self.ctx.clock.now():
            await self._enforce(event, f"suspended: {event.reason}")

    async def _enforce(self, event: AgentSuspended, reason: str) -> None:
        why = Leave(reason, by="presence.suspension", forced=True, rule=FORCED_LEAVE_RULE)
        for stay in await self.store.presence.of_agent(event.agent):
            if _covered_by(event, stay.room):
                await self.coordinator.roster.leave(event.agent, stay.room_obj, why)
        for inv in await self.store.invitations.open_of_agent(event.agent):
            if _covered_by(event, inv.room):
                await self.coordinator.close_open(inv, rule="suspended", reason=reason)
        for draft in await self.store.drafts.pending(agents=[event.agent]):
            if _covered_by(event, draft.room):
                await self.drafts.drop(draft, reason, by="presence.suspension")

    @listener(ModerationDecision)
    async def on_moderation(self, event: ModerationDecision) -> None:
        if event.log_only or str(event.verdict).lower() != "reject" or not event.target.is_agent:
            return
        if await self.ctx.agents.get(event.target.id) is None:
            return
        await self.coordinator.notify.reward(
            RewardEvent.BLOCKED_MESSAGE,
            event.target.id,
            event.room,
            {"rule": event.rule, "case_id": event.case_id, "message_id": event.message_id},
        )

    @listener(AgentRemovalRequested)
    async def on_removal_requested(self, event: AgentRemovalRequested) -> None:
        by = event.requested_by
        record = await self.ctx.agents.get(event.agent)
        if record is None:
            self.coordinator.notify.rejected("removal_event", "unknown_agent")
            return
        owner = is_owner(record, by)
        if not (owner or by.kind in (ActorKind.SYSTEM, ActorKind.BOT) or by.roles & {"admin", "moderator"}):
            self.coordinator.notify.rejected("removal_event", "not_allowed")
            self.ctx.log.warning("agent_removal_refused", agent=event.agent, room=event.room.key, by=by.key)
            return
        # The owner taking their own agent out is a voluntary leave; anyone else's request is a forced one.
        why = Leave(event.reason or f"removed by {by.name}", by=by.key, forced=not owner, rule=FORCED_LEAVE_RULE)
        await self.coordinator.roster.leave(event.agent, event.room, why)

    @listener(MemberLeft)
    async def on_member_left(self, event: MemberLeft) -> None:
        """An agent left (or was kicked from) the channel on the platform itself: record the end of its stay."""
        member = event.member
        if member.kind is ActorKind.AGENT:
            record = await self.ctx.agents.get(member.id)
        elif member.kind is ActorKind.BOT:
            record = await self.ctx.agents.by_platform_user(event.room.platform, member.id)
        else:
            return
        if record is None or record.name not in self.coordinator.roster.present.get(event.room.key, set()):
            return
        why = Leave("left the channel", by=member.key, on_platform=False)
        await self.coordinator.roster.leave(record.name, event.room, why)

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> None:
        present = self.coordinator.roster.present.get(event.room.key)
        if not present:
            return
        data: Mapping[str, Any] = {
            "room": event.room.key,
            "message_id": event.message_id,
            "author": {"id": event.author.id, "name": event.author.name, "kind": str(event.author.kind)},
            "text": event.text,
            "reply_to": event.reply_to,
            "thread_id": event.thread_id,
            "via_steward": event.via_steward,
        }
        for agent in list(present):
            if event.author.is_agent and event.author.id == agent:
                continue
            self.outbox.push(agent, "message", data)
