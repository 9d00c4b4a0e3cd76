"""Telling people and components what happened: the owner's approval prompt; an invitation's end (its timers
cancelled, the prompt rewritten, ``InvitationDecided``, the inviter told); the feedback rewards; the agent API's
event stream; and the counters of decisions and rejected requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.actions import ActionResult, SendApprovalPrompt, SendDirectMessage, SendMessage, UpdatePrompt
from bot.cog import CogContext
from bot.events import FeedbackRecorded, InvitationDecided
from cogs.presence.config import PresenceSettings
from cogs.presence.text import duration, inviter, owner, where
from domain import Room
from policy.presence import REWARDS, InviterKind, RewardEvent
from storage.core import AgentRecord
from storage.presence import InvitationRecord, PresenceStore

EXPIRY_TIMER = "presence.invite_expiry"
RETRY_TIMER = "presence.invite_retry"

# What the agent API's event stream gets: (agent, event type, data).
EventSink = Callable[[str, str, Mapping[str, Any]], None]


# Stores where a prompt went: (id, *, platform, channel_id, message_id, note).
PromptSetter = Callable[..., Awaitable[None]]


FINAL_TEXTS: dict[str, str] = {
    "accepted": "{agent} joined {room}",
    "declined": "the invitation of {agent} to {room} was declined: {reason}",
    "expired": "the invitation of {agent} to {room} expired: nobody decided in time",
    "failed": "{agent} could not join {room}: {reason}",
}


def owner_prompt_text(inv: InvitationRecord, record: AgentRecord, result: ActionResult, now: float) -> str:
    """What the inviter hears of the owner's prompt: asked, or could not be reached (and what happens then)."""
    if result.ok:
        return f"Asked the owner of {record.name} to approve the invitation to {where(inv.room_obj)} (#{inv.id})."
    return (
        f"Invitation #{inv.id}: could not reach {owner(record)}, the owner of {record.name}, by direct message, and "
        f"no fallback channel is set for it; the invitation stays pending for {duration(inv.expires_at - now)} "
        f"and the owner can still `approve {inv.id}` or `decline {inv.id}`."
    )


class Notifier:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore) -> None:
        self.ctx = ctx
        self.store = store
        self.log = ctx.log
        self.event_sink: EventSink | None = None
        metrics = ctx.metrics
        self.decisions = metrics.counter(
            "steward_invitations_total", "Invitation decisions by outcome and rule", ["outcome", "rule"]
        )
        self._rejected = metrics.counter(
            "steward_presence_rejected_total", "Presence requests rejected at the boundary", ["source", "reason"]
        )
        self._rewards = metrics.counter("steward_presence_rewards_total", "Feedback rewards emitted", ["source"])

    def rejected(self, source: str, reason: str) -> None:
        self._rejected.labels(source, reason).inc()

    def emit(self, agent: str, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event on the agent's API stream (when the API is there to take it)."""
        if self.event_sink is not None:
            self.event_sink(agent, kind, data)

    async def reward(self, event: RewardEvent, agent: str, room: Room | None, context: Mapping[str, Any]) -> None:
        rule = REWARDS[event]
        self._rewards.labels(rule.source).inc()
        await self.ctx.bus.publish(
            FeedbackRecorded(
                at=self.ctx.clock.now(),
                agent=agent,
                reward=rule.reward,
                source=rule.source,
                room=room,
                context={"event": event.value, **context},
            )
        )

    # --- the owner's prompt --------------------------------------------------------------------------------------

    async def ask_owner(self, inv: InvitationRecord, record: AgentRecord, *, tell: bool) -> bool:
        """DM the owner the Approve / Decline prompt; True when it reached them.

        Where a DM fails the platform adapter posts the prompt in its configured fallback channel
        (``dm_fallback_channels``, per server), never in the invitation's room: the buttons are the owner's alone,
        and a public prompt would show them to everyone. With no fallback the invitation stays pending (the owner
        can still ``approve`` or ``decline`` it by command until it expires) and, with ``tell``, the inviter hears
        that the owner could not be reached."""
        room = inv.room_obj
        why = f" Reason: {inv.request_reason}." if inv.request_reason else ""
        text = (
            f"Invitation #{inv.id}: {inviter(inv, in_dm=True)} ({inv.inviter_kind}) invites your agent "
            f"{record.name} to {where(room)}.{why} It expires in {duration(inv.expires_at - self.ctx.clock.now())}."
        )
        prompt = SendApprovalPrompt(
            target_platform=record.platform,
            user_id=record.owner_id,
            text=text,
            kind="invite",
            key=str(inv.id),
            fallback_server=room.server or None,
        )
        result = await self.ctx.router.perform(prompt)
        await self.record_prompt("invitation", inv.id, record.platform, result, self.store.invitations.set_prompt)
        if tell:
            await self.tell_inviter(inv, owner_prompt_text(inv, record, result, self.ctx.clock.now()))
        return result.ok

    async def record_prompt(
        self, what: str, ident: int, platform: str, result: ActionResult, setter: PromptSetter
    ) -> None:
        """Keep where the prompt went (its message, to rewrite it later) and log a prompt that fell back or failed."""
        note = result.note if result.ok else f"failed: {result.error}"
        await setter(ident, platform=platform, channel_id=result.channel_id, message_id=result.message_id, note=note)
        if not result.ok or result.note:
            self.log.warning("owner_prompt_degraded", what=what, id=ident, note=note)

    # --- an invitation's end -------------------------------------------------------------------------------------

    async def finished(self, inv: InvitationRecord, outcome: str, *, tell: bool) -> None:
        """An invitation reached its end: cancel its timers, rewrite the prompt, publish, tell the agent's stream
        and the inviter."""
        key = str(inv.id)
        await self.ctx.scheduler.cancel(EXPIRY_TIMER, key)
        await self.ctx.scheduler.cancel(RETRY_TIMER, key)
        room = inv.room_obj
        summary = FINAL_TEXTS[outcome].format(agent=inv.agent, room=where(room), reason=inv.reason)
        if inv.prompt_message and inv.prompt_platform:
            await self.ctx.router.perform(
                UpdatePrompt(
                    target_platform=inv.prompt_platform,
                    channel_id=inv.prompt_channel or "",
                    message_id=inv.prompt_message,
                    text=f"Invitation #{inv.id}: {summary}.",
                )
            )
        await self.ctx.bus.publish(
            InvitationDecided(
                at=self.ctx.clock.now(),
                invitation_id=inv.id,
                agent=inv.agent,
                room=room,
                outcome=outcome,
                reason=inv.reason,
            )
        )
        self.emit(
            inv.agent,
            "invitation",
            {"invitation_id": inv.id, "room": inv.room, "outcome": outcome, "reason": inv.reason},
        )
        if tell:
            await self.tell_inviter(inv, f"Invitation #{inv.id}: {summary}.")

    async def tell_inviter(self, inv: InvitationRecord, text: str) -> None:
        """In the room the invitation came from, else by DM; an inviting agent hears it on its stream; the system
        is not told."""
        kind = inv.inviter_kind
        if kind == InviterKind.AGENT.value:
            self.emit(
                inv.inviter_id,
                "invitation_sent",
                {
                    "invitation_id": inv.id,
                    "agent": inv.agent,
                    "room": inv.room,
                    "status": inv.status.value,
                    "text": text,
                },
            )
        if kind == InviterKind.SYSTEM.value:
            return
        if inv.origin_room_obj is not None:
            await self.ctx.router.perform(SendMessage(room=inv.origin_room_obj, text=text, system=True))
        elif kind != InviterKind.AGENT.value:
            await self.ctx.router.perform(
                SendDirectMessage(target_platform=inv.inviter_platform, user_id=inv.inviter_id, text=text)
            )
