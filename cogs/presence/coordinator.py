"""The presence coordinator: the one place that decides whether an agent may be in a room.

Invitations (from users, agents or the system) become rows in ``invitations`` with their decision and reason; the
pure policy (``policy.presence``) decides, the database makes each invitation end exactly once, and this module
performs what follows: the owner's prompt, the join, the announcement, the events, telling the inviter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.actions import (
    ActionResult,
    AddAgentToChannel,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    UpdatePrompt,
)
from bot.events import AgentJoined, AgentLeft, FeedbackRecorded, InvitationDecided
from domain import Actor, ActorKind, Room
from policy.presence import (
    REWARDS,
    InvitationFacts,
    InviterKind,
    Outcome,
    RewardEvent,
    Verdict,
    classify_inviter,
    decide_approval,
    decide_invitation,
    suspension_covers,
)
from storage.core import AgentRecord
from storage.presence import (
    AgentSettings,
    DuplicateInvitation,
    InvitationRecord,
    InvitationStatus,
    JoinResult,
    NewInvitation,
    PresenceStore,
)

if TYPE_CHECKING:
    from bot.cog import CogContext

EXPIRY_TIMER = "presence.invite_expiry"
RETRY_TIMER = "presence.invite_retry"

# What the agent API's event stream gets: (agent, event type, data).
EventSink = Callable[[str, str, Mapping[str, Any]], None]


def inviter_kind(record: AgentRecord, inviter: Actor) -> InviterKind:
    """Who ``inviter`` is to ``record``'s agent (its owner, a user, another agent, the system)."""
    return classify_inviter(
        actor_kind=str(inviter.kind),
        actor_id=inviter.id,
        actor_platform=inviter.platform,
        owner_id=record.owner_id,
        agent_platform=record.platform,
    )


class PresenceError(Exception):
    """A request that cannot be carried out; the message is for the person who asked."""


@dataclass(frozen=True, slots=True)
class InvitationResult:
    outcome: str  # joined | asked_owner | deferred | declined | duplicate | failed
    reason: str
    invitation: InvitationRecord | None

    @property
    def id(self) -> int | None:
        return self.invitation.id if self.invitation else None

    def as_dict(self) -> dict[str, Any]:
        inv = self.invitation
        return {
            "invitation_id": inv.id if inv else None,
            "outcome": self.outcome,
            "reason": self.reason,
            "status": inv.status.value if inv else None,
            "agent": inv.agent if inv else None,
            "room": inv.room if inv else None,
            "expires_at": inv.expires_at if inv and inv.status.open else None,
        }


class Coordinator:
    def __init__(self, ctx: CogContext, store: PresenceStore) -> None:
        self.ctx = ctx
        self.store = store
        self.log = ctx.log
        self.event_sink: EventSink | None = None
        # room key -> agents present; mirrors the presence table for routing room messages to agents' API streams.
        self.present: dict[str, set[str]] = {}
        metrics = ctx.metrics
        self._decisions = metrics.counter(
            "steward_invitations_total", "Invitation decisions by outcome and rule", ["outcome", "rule"]
        )
        self._rejected = metrics.counter(
            "steward_presence_rejected_total", "Presence requests rejected at the boundary", ["source", "reason"]
        )
        self._present_gauge = metrics.gauge("steward_agents_present", "Agent stays currently open", [])
        self._rewards = metrics.counter("steward_presence_rewards_total", "Feedback rewards emitted", ["source"])

    # --- state ------------------------------------------------------------------------------------------------------

    async def load(self) -> None:
        self.present.clear()
        for rec in await self.store.presence.all():
            self.present.setdefault(rec.room, set()).add(rec.agent)
        self._update_gauge()

    def _update_gauge(self) -> None:
        self._present_gauge.set(sum(len(v) for v in self.present.values()))

    def rejected(self, source: str, reason: str) -> None:
        self._rejected.labels(source, reason).inc()

    async def agent(self, name: str) -> AgentRecord:
        record = await self.ctx.agents.get(name)
        if record is None:
            raise PresenceError(f"no agent named {name!r} is registered")
        return record

    def defaults(self, agent: str, at: float) -> AgentSettings:
        cfg = self.ctx.config()
        return AgentSettings(
            agent=agent,
            invitation_policy=cfg.default_invitation_policy,
            approval_mode=cfg.default_approval_mode,
            message_approval=cfg.default_message_approval,
            max_rooms=cfg.default_max_rooms,
            join_cooldown_seconds=cfg.default_join_cooldown_seconds,
            updated_at=at,
        )

    async def settings_of(self, agent: str) -> AgentSettings:
        found = await self.store.settings.get(agent)
        return found if found is not None else self.defaults(agent, self.ctx.clock.now())

    async def suspended_until(self, agent: str, room: Room, now: float) -> float | None:
        covering = [
            s.until
            for s in await self.store.suspensions.active(agent, now)
            if suspension_covers(
                platform=s.platform, server=s.server, room_key=s.room, room=(room.platform, room.server, room.channel)
            )
        ]
        return max(covering) if covering else None

    async def facts(
        self, record: AgentRecord, settings: AgentSettings, room: Room, inviter: Actor, now: float, *, count_spam: bool
    ) -> InvitationFacts:
        cfg = self.ctx.config(room)
        kind = inviter_kind(record, inviter)
        found = await self.store.room_facts(
            record.name,
            room,
            inviter_platform=inviter.platform,
            inviter_id=inviter.id,
            inviter_since=now - cfg.inviter_window_seconds if count_spam else None,
        )
        return InvitationFacts(
            now=now,
            inviter_kind=kind,
            policy=settings.invitation_policy,
            approval_mode=settings.approval_mode,
            self_invite=inviter.is_agent and inviter.id == record.name,
            room_accepts_agents=found.room_accepts if found.room_accepts is not None else bool(cfg.accept_agents),
            suspended_until=await self.suspended_until(record.name, room, now),
            present_in_room=found.present,
            rooms_in_use=found.rooms_in_use,
            max_rooms=settings.max_rooms,
            last_join_at=found.last_join_at,
            join_cooldown=settings.join_cooldown_seconds,
            inviter_recent=found.inviter_recent,
            inviter_limit=cfg.inviter_max_invitations,
            defer_on_cooldown=cfg.defer_on_cooldown,
        )

    # --- invitations ------------------------------------------------------------------------------------------------

    async def request(
        self,
        agent: str,
        room: Room,
        inviter: Actor,
        *,
        reason: str = "",
        origin_room: Room | None = None,
        tell: bool = False,
    ) -> InvitationResult:
        """Decide an invitation and carry the decision out. Raises ``PresenceError`` for an unknown agent.

        The immediate outcome is returned to the caller (a command replies with it); ``tell`` also sends it to the
        inviter (for requests that arrive as events, with nobody to reply to). Later outcomes (the owner's decision,
        expiry) always go to the inviter.
        """
        record = await self.agent(agent)
        if room.platform != record.platform:
            raise PresenceError(f"{agent} lives on {record.platform}, not on {room.platform}")
        settings = await self.settings_of(agent)
        now = self.ctx.clock.now()
        cfg = self.ctx.config(room)
        kind = inviter_kind(record, inviter)
        base = dict(
            agent=agent,
            room=room,
            inviter_platform=inviter.platform,
            inviter_id=inviter.id,
            inviter_kind=kind.value,
            inviter_name=inviter.name,
            origin_room=origin_room,
            request_reason=reason[:500],
            created_at=now,
            expires_at=now + cfg.invitation_ttl_seconds,
        )
        existing = await self.store.invitations.open_for(agent, room)
        if existing is not None and kind is InviterKind.OWNER:
            # The owner inviting their agent where an invitation waits for them is their approval of it.
            text, decided = await self.approve(existing.id, inviter)
            status = decided.status if decided else None
            outcome = {InvitationStatus.ACCEPTED: "joined", InvitationStatus.DECLINED: "declined"}.get(status, "failed")
            reason = decided.reason if decided is not None and outcome == "joined" else text
            return InvitationResult(outcome, reason, decided)
        if existing is not None:
            return await self._duplicate(base, existing, tell=tell)
        verdict = decide_invitation(await self.facts(record, settings, room, inviter, now, count_spam=True))
        self._decisions.labels(verdict.outcome.value, verdict.rule).inc()
        self.log.info(
            "invitation_decided",
            agent=agent,
            room=room.key,
            inviter=inviter.key,
            inviter_kind=kind.value,
            outcome=verdict.outcome.value,
            rule=verdict.rule,
            reason=verdict.reason,
        )
        if verdict.outcome is Outcome.DECLINE:
            inv = await self.store.invitations.create(
                NewInvitation(**base, status=InvitationStatus.DECLINED, rule=verdict.rule, reason=verdict.reason)
            )
            await self._finished(inv, "declined", tell=tell)
            return InvitationResult("declined", verdict.reason, inv)
        if verdict.outcome is Outcome.AUTO_JOIN:
            return await self._auto_join(base, record, settings, verdict, tell=tell)
        status = InvitationStatus.DEFERRED if verdict.outcome is Outcome.DEFER else InvitationStatus.PENDING
        try:
            inv = await self.store.invitations.create(
                NewInvitation(
                    **base, status=status, rule=verdict.rule, reason=verdict.reason, retry_at=verdict.retry_at
                )
            )
        except DuplicateInvitation as dup:
            return await self._duplicate(base, dup.existing, tell=tell)
        await self.ctx.scheduler.schedule_at(EXPIRY_TIMER, str(inv.id), inv.expires_at, {"agent": agent})
        if status is InvitationStatus.DEFERRED:
            retry_at = min(verdict.retry_at or now, inv.expires_at)
            await self.ctx.scheduler.schedule_at(RETRY_TIMER, str(inv.id), retry_at, {"agent": agent})
            if tell:
                await self._tell_inviter(
                    inv, f"Invitation #{inv.id} of {record.name} to {_where(room)} is deferred: {verdict.reason}."
                )
            return InvitationResult("deferred", verdict.reason, inv)
        await self._ask_owner(inv, record, tell=tell)
        return InvitationResult("asked_owner", verdict.reason, await self.store.invitations.get(inv.id))

    async def _duplicate(
        self, base: dict[str, Any], existing: InvitationRecord | None, *, tell: bool
    ) -> InvitationResult:
        ref = f" (#{existing.id})" if existing else ""
        reason = f"an invitation of this agent to this room is already open{ref}"
        inv = await self.store.invitations.create(
            NewInvitation(**base, status=InvitationStatus.DECLINED, rule="duplicate", reason=reason)
        )
        self._decisions.labels("decline", "duplicate").inc()
        self.log.info("invitation_duplicate", agent=inv.agent, room=inv.room, open_invitation=existing and existing.id)
        if tell:
            await self._tell_inviter(inv, f"Invitation #{inv.id} of {inv.agent} to {_where(inv.room_obj)}: {reason}.")
        return InvitationResult("duplicate", reason, inv)

    async def _auto_join(
        self, base: dict[str, Any], record: AgentRecord, settings: AgentSettings, verdict: Verdict, *, tell: bool
    ) -> InvitationResult:
        result, inv = await self.store.invitations.create_joined(
            NewInvitation(**base, status=InvitationStatus.ACCEPTED, rule=verdict.rule, reason=verdict.reason),
            max_rooms=settings.max_rooms,
        )
        if result is not JoinResult.JOINED:
            await self._finished(inv, "declined", tell=tell)
            return InvitationResult("declined", inv.reason, inv)
        return await self._after_join(inv, record, tell=tell)

    async def _after_join(self, inv: InvitationRecord, record: AgentRecord, *, tell: bool) -> InvitationResult:
        room = inv.room_obj
        joined = await self.ctx.router.perform(AddAgentToChannel(room=room, agent=record.identity))
        if not joined.ok:
            await self.store.presence.undo_join(record.name, room)
            reason = f"the platform refused the join: {joined.error}"
            await self.store.invitations.mark_failed(inv.id, reason=reason, at=self.ctx.clock.now())
            failed = await self.store.invitations.get(inv.id)
            await self._finished(failed, "failed", tell=tell)  # type: ignore[arg-type]
            return InvitationResult("failed", reason, failed)
        self.present.setdefault(room.key, set()).add(record.name)
        self._update_gauge()
        # Another open invitation of the agent to this room (e.g. one waiting for the owner) is now moot.
        other = await self.store.invitations.open_for(record.name, room)
        if other is not None and other.id != inv.id:
            closed = await self.store.invitations.close(
                other.id,
                InvitationStatus.DECLINED,
                rule="already_present",
                reason="the agent joined through another invitation",
                at=self.ctx.clock.now(),
            )
            if closed is not None:
                await self._finished(closed, "declined", tell=True)
        if self.ctx.config(room).announce:
            by = f" (invited by {inv.inviter_name})" if inv.inviter_name else ""
            await self.ctx.router.perform(
                SendMessage(room=room, text=f"{record.display_name or record.name} joined{by}.", system=True)
            )
        await self.ctx.bus.publish(AgentJoined(at=self.ctx.clock.now(), agent=record.name, room=room))
        self._emit(record.name, "joined", {"room": room.key, "invitation_id": inv.id})
        await self._finished(inv, "accepted", tell=tell)
        return InvitationResult("joined", inv.reason, inv)

    async def _ask_owner(self, inv: InvitationRecord, record: AgentRecord, *, tell: bool) -> None:
        room = inv.room_obj
        why = f" Reason: {inv.request_reason}." if inv.request_reason else ""
        text = (
            f"Invitation #{inv.id}: {inv.inviter_name or inv.inviter_id} ({inv.inviter_kind}) invites your agent "
            f"{record.name} to {_where(room)}.{why} It expires in {_duration(inv.expires_at - self.ctx.clock.now())}."
        )
        fallback = inv.origin_room_obj or room
        prompt = SendApprovalPrompt(
            target_platform=record.platform,
            user_id=record.owner_id,
            text=text,
            kind="invite",
            key=str(inv.id),
            fallback_room=fallback if fallback.platform == record.platform else None,
        )
        result = await self.ctx.router.perform(prompt)
        await self._record_prompt("invitation", inv.id, record.platform, result, self.store.invitations.set_prompt)
        if tell:
            await self._tell_inviter(
                inv, f"Asked the owner of {record.name} to approve the invitation to {_where(room)} (#{inv.id})."
            )

    async def _record_prompt(
        self, what: str, ident: int, platform: str, result: ActionResult, setter: Callable[..., Awaitable[None]]
    ) -> None:
        note = result.note if result.ok else f"failed: {result.error}"
        await setter(ident, platform=platform, channel_id=result.channel_id, message_id=result.message_id, note=note)
        if not result.ok or result.note:
            self.log.warning("owner_prompt_degraded", what=what, id=ident, note=note)

    async def approve(self, invitation_id: int, actor: Actor) -> tuple[str, InvitationRecord | None]:
        """The owner approves (button or command). Returns the text to answer with and the invitation as decided."""
        inv, record = await self._owned(invitation_id, actor)
        if not inv.status.open:
            return f"Invitation #{inv.id} was already decided ({inv.status.value}).", inv
        now = self.ctx.clock.now()
        settings = await self.settings_of(record.name)
        room = inv.room_obj
        verdict = decide_approval(await self.facts(record, settings, room, actor, now, count_spam=False))
        if verdict.outcome is Outcome.DECLINE:
            closed = await self.store.invitations.close(
                inv.id, InvitationStatus.DECLINED, rule=verdict.rule, reason=verdict.reason, at=now, by=actor.key
            )
            if closed is None:
                return f"Invitation #{inv.id} was already decided.", await self.store.invitations.get(inv.id)
            await self._finished(closed, "declined", tell=True)
            return f"Invitation #{inv.id} cannot be accepted: {verdict.reason}.", closed
        result, decided = await self.store.invitations.approve_and_join(
            inv.id, by=actor.key, at=now, max_rooms=settings.max_rooms, rule=verdict.rule, reason=verdict.reason
        )
        if result is JoinResult.NOT_OPEN:
            current = await self.store.invitations.get(inv.id)
            state = current.status.value if current else "gone"
            return f"Invitation #{inv.id} was already decided ({state}).", current
        assert decided is not None
        if result is not JoinResult.JOINED:
            await self._finished(decided, "declined", tell=True)
            return f"Invitation #{inv.id} cannot be accepted: {decided.reason}.", decided
        await self._reward(RewardEvent.INVITATION_APPROVED, record.name, room, {"invitation_id": inv.id})
        outcome = await self._after_join(decided, record, tell=True)
        if outcome.outcome == "failed":
            return f"Invitation #{inv.id} was approved but {outcome.reason}.", outcome.invitation
        return f"Approved: {record.name} joined {_where(room)}.", await self.store.invitations.get(inv.id)

    async def decline(self, invitation_id: int, actor: Actor, reason: str = "") -> tuple[str, InvitationRecord | None]:
        inv, record = await self._owned(invitation_id, actor)
        if not inv.status.open:
            return f"Invitation #{inv.id} was already decided ({inv.status.value}).", inv
        why = reason[:300] or "declined by the owner"
        closed = await self.store.invitations.close(
            inv.id, InvitationStatus.DECLINED, rule="owner_declined", reason=why, at=self.ctx.clock.now(), by=actor.key
        )
        if closed is None:
            current = await self.store.invitations.get(inv.id)
            return f"Invitation #{inv.id} was already decided ({current.status.value if current else 'gone'}).", current
        self._decisions.labels("decline", "owner_declined").inc()
        await self._reward(RewardEvent.INVITATION_DECLINED, record.name, inv.room_obj, {"invitation_id": inv.id})
        await self._finished(closed, "declined", tell=True)
        return f"Declined invitation #{inv.id} of {record.name} to {_where(inv.room_obj)}.", closed

    async def _owned(self, invitation_id: int, actor: Actor) -> tuple[InvitationRecord, AgentRecord]:
        inv = await self.store.invitations.get(invitation_id)
        if inv is None:
            raise PresenceError(f"there is no invitation #{invitation_id}")
        record = await self.agent(inv.agent)
        if not is_owner(record, actor):
            raise NotOwner(record)
        return inv, record

    async def expire(self, key: str, payload: Mapping[str, Any]) -> None:
        """The expiry timer fired: expire the invitation if it is still open (an approval may have won)."""
        inv_id = _int_key(key)
        if inv_id is None:
            self.log.warning("invitation_timer_bad_key", key=key)
            return
        closed = await self.store.invitations.close(
            inv_id, InvitationStatus.EXPIRED, rule="expired", reason="nobody decided in time", at=self.ctx.clock.now()
        )
        if closed is None:
            return
        self._decisions.labels("expire", "expired").inc()
        self.log.info("invitation_expired", invitation_id=inv_id, agent=closed.agent, room=closed.room)
        await self.ctx.scheduler.cancel(RETRY_TIMER, key)
        await self._finished(closed, "expired", tell=True)

    async def retry(self, key: str, payload: Mapping[str, Any]) -> None:
        """A deferred invitation's cooldown ended: decide it again."""
        inv_id = _int_key(key)
        inv = await self.store.invitations.get(inv_id) if inv_id is not None else None
        if inv is None or inv.status is not InvitationStatus.DEFERRED:
            return
        record = await self.ctx.agents.get(inv.agent)
        now = self.ctx.clock.now()
        if record is None:
            closed = await self.store.invitations.close(
                inv.id, InvitationStatus.DECLINED, rule="unknown_agent", reason="the agent was unregistered", at=now
            )
            if closed is not None:
                await self._finished(closed, "declined", tell=True)
            return
        settings = await self.settings_of(record.name)
        inviter = Actor(inv.inviter_platform, inv.inviter_id, _actor_kind(inv.inviter_kind), inv.inviter_name)
        verdict = decide_invitation(await self.facts(record, settings, inv.room_obj, inviter, now, count_spam=False))
        self._decisions.labels(verdict.outcome.value, verdict.rule).inc()
        if verdict.outcome is Outcome.DEFER:
            retry_at = min(verdict.retry_at or now, inv.expires_at)
            await self.store.invitations.defer_again(inv.id, retry_at=retry_at, reason=verdict.reason)
            await self.ctx.scheduler.schedule_at(RETRY_TIMER, key, retry_at, dict(payload))
            return
        if verdict.outcome is Outcome.DECLINE:
            closed = await self.store.invitations.close(
                inv.id, InvitationStatus.DECLINED, rule=verdict.rule, reason=verdict.reason, at=now
            )
            if closed is not None:
                await self._finished(closed, "declined", tell=True)
            return
        if verdict.outcome is Outcome.AUTO_JOIN:
            result, decided = await self.store.invitations.approve_and_join(
                inv.id, by="policy", at=now, max_rooms=settings.max_rooms, rule=verdict.rule, reason=verdict.reason
            )
            if result is JoinResult.NOT_OPEN or decided is None:
                return
            if result is JoinResult.JOINED:
                await self._after_join(decided, record, tell=True)
            else:
                await self._finished(decided, "declined", tell=True)
            return
        pending = await self.store.invitations.to_pending(inv.id, rule=verdict.rule, reason=verdict.reason)
        if pending is not None:
            await self._ask_owner(pending, record, tell=True)

    async def _finished(self, inv: InvitationRecord, outcome: str, *, tell: bool) -> None:
        """An invitation reached its end: cancel its timers, rewrite the prompt, publish, tell the inviter."""
        key = str(inv.id)
        await self.ctx.scheduler.cancel(EXPIRY_TIMER, key)
        await self.ctx.scheduler.cancel(RETRY_TIMER, key)
        room = inv.room_obj
        texts = {
            "accepted": f"{inv.agent} joined {_where(room)}",
            "declined": f"the invitation of {inv.agent} to {_where(room)} was declined: {inv.reason}",
            "expired": f"the invitation of {inv.agent} to {_where(room)} expired: nobody decided in time",
            "failed": f"{inv.agent} could not join {_where(room)}: {inv.reason}",
        }
        summary = texts[outcome]
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
        self._emit(
            inv.agent,
            "invitation",
            {"invitation_id": inv.id, "room": inv.room, "outcome": outcome, "reason": inv.reason},
        )
        if tell:
            await self._tell_inviter(inv, f"Invitation #{inv.id}: {summary}.")

    async def _tell_inviter(self, inv: InvitationRecord, text: str) -> None:
        kind = inv.inviter_kind
        if kind == InviterKind.AGENT.value:
            self._emit(
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

    async def close_open(self, inv: InvitationRecord, *, rule: str, reason: str) -> bool:
        """Decline an open invitation for a reason of Steward's own (a suspension, the agent unregistered)."""
        closed = await self.store.invitations.close(
            inv.id, InvitationStatus.DECLINED, rule=rule, reason=reason, at=self.ctx.clock.now(), by="presence"
        )
        if closed is None:
            return False
        self._decisions.labels("decline", rule).inc()
        await self._finished(closed, "declined", tell=True)
        return True

    # --- leaving ------------------------------------------------------------------------------------------------------

    async def leave(
        self, agent: str, room: Room, *, reason: str, forced: bool, by: str, on_platform: bool = True
    ) -> bool:
        """Take the agent out of the room (a forced leave costs it a reward). False if it was not there.

        ``on_platform`` False: the agent already left on the platform (Steward only records it, acts and announces
        nothing there)."""
        record = await self.ctx.agents.get(agent)
        stay = await self.store.presence.leave(agent, room, at=self.ctx.clock.now(), reason=reason, forced=forced)
        if stay is None:
            return False
        self.present.get(room.key, set()).discard(agent)
        self._update_gauge()
        identity = record.identity if record else AgentRecord(agent, room.platform, "").identity
        if on_platform:
            removed = await self.ctx.router.perform(RemoveAgentFromChannel(room=room, agent=identity, reason=reason))
            if not removed.ok:
                self.log.warning("agent_removal_failed", agent=agent, room=room.key, error=removed.error)
        self.log.info("agent_left", agent=agent, room=room.key, reason=reason, forced=forced, by=by)
        if on_platform and self.ctx.config(room).announce:
            verb = "was removed" if forced else "left"
            text = f"{identity.shown_name} {verb}: {reason}."
            await self.ctx.router.perform(SendMessage(room=room, text=text, system=True))
        await self.ctx.bus.publish(
            AgentLeft(at=self.ctx.clock.now(), agent=agent, room=room, reason=reason, forced=forced)
        )
        self._emit(agent, "left", {"room": room.key, "reason": reason, "forced": forced})
        if forced:
            await self._reward(RewardEvent.FORCED_LEAVE, agent, room, {"reason": reason, "by": by})
        return True

    # --- feedback and the API stream ----------------------------------------------------------------------------

    async def _reward(self, event: RewardEvent, agent: str, room: Room | None, context: Mapping[str, Any]) -> None:
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

    async def reward(self, event: RewardEvent, agent: str, room: Room | None, context: Mapping[str, Any]) -> None:
        await self._reward(event, agent, room, context)

    def _emit(self, agent: str, kind: str, data: Mapping[str, Any]) -> None:
        if self.event_sink is not None:
            self.event_sink(agent, kind, data)

    def emit(self, agent: str, kind: str, data: Mapping[str, Any]) -> None:
        self._emit(agent, kind, data)


class NotOwner(PresenceError):
    def __init__(self, record: AgentRecord) -> None:
        self.record = record
        super().__init__(f"only the owner of {record.name} ({record.owner_id}) can decide this")


def is_owner(record: AgentRecord, actor: Actor) -> bool:
    return actor.id == record.owner_id and actor.platform == record.platform


def _actor_kind(inviter_kind: str) -> ActorKind:
    return {
        InviterKind.AGENT.value: ActorKind.AGENT,
        InviterKind.SYSTEM.value: ActorKind.SYSTEM,
    }.get(inviter_kind, ActorKind.HUMAN)


def _int_key(key: str) -> int | None:
    try:
        return int(key)
    except ValueError:
        return None


def _where(room: Room) -> str:
    return f"#{room.channel}" + (f" ({room.server})" if room.server else "")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"
