"""The presence coordinator: the one place that decides whether an agent may be in a room.

Invitations (from users, agents or the system) become rows in ``invitations`` with their decision and reason; the
pure policy (``policy.presence``) decides on the facts ``Facts`` gathers, the database makes each invitation end
exactly once, and the coordinator carries the decision out: the owner's prompt and the telling (``Notifier``), the
join (``Roster``), the expiry and retry timers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.cog import CogContext
from cogs.presence.config import PresenceSettings
from cogs.presence.errors import NotOwner, PresenceError, is_owner
from cogs.presence.facts import Facts, actor_kind, inviter_kind
from cogs.presence.notify import EXPIRY_TIMER, RETRY_TIMER, Notifier
from cogs.presence.roster import Roster
from cogs.presence.text import owner, where
from domain import Actor, Room
from policy.presence import InviterKind, Outcome, RewardEvent, Verdict, decide_approval, decide_invitation
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

__all__ = ["EXPIRY_TIMER", "RETRY_TIMER", "Coordinator", "InvitationResult"]

_OWNER_OUTCOMES = {InvitationStatus.ACCEPTED: "joined", InvitationStatus.DECLINED: "declined"}


@dataclass(frozen=True, slots=True)
class InvitationResult:
    outcome: str  # joined | asked_owner | owner_unreachable | deferred | declined | duplicate | failed
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


@dataclass(frozen=True, slots=True)
class _Request:
    """One invitation being decided: who, where, by whom, and the row it will be stored as."""

    record: AgentRecord
    settings: AgentSettings
    room: Room
    inviter: Actor
    kind: InviterKind
    now: float
    base: dict[str, Any]
    tell: bool

    def new(self, status: InvitationStatus, rule: str, reason: str, retry_at: float | None = None) -> NewInvitation:
        return NewInvitation(**self.base, status=status, rule=rule, reason=reason, retry_at=retry_at)


class Coordinator:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore) -> None:
        self.ctx = ctx
        self.store = store
        self.log = ctx.log
        self.facts = Facts(ctx, store)
        self.notify = Notifier(ctx, store)
        self.roster = Roster(ctx, store, self.notify)

    # --- a new invitation -------------------------------------------------------------------------------------------

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
        req = await self._prepare(agent, room, inviter, reason=reason, origin_room=origin_room, tell=tell)
        existing = await self.store.invitations.open_for(agent, room)
        if existing is not None and req.kind is InviterKind.OWNER:
            return await self._owner_approves(existing, inviter)
        if existing is not None:
            return await self._duplicate(req, existing)
        facts = await self.facts.gather(req.record, req.settings, room, inviter, req.now, count_spam=True)
        verdict = decide_invitation(facts)
        self._log_decision(req, verdict)
        if verdict.outcome is Outcome.DECLINE:
            inv = await self.store.invitations.create(req.new(InvitationStatus.DECLINED, verdict.rule, verdict.reason))
            await self.notify.finished(inv, "declined", tell=tell)
            return InvitationResult("declined", verdict.reason, inv)
        if verdict.outcome is Outcome.AUTO_JOIN:
            return await self._auto_join(req, verdict)
        return await self._open(req, verdict)

    async def _prepare(
        self, agent: str, room: Room, inviter: Actor, *, reason: str, origin_room: Room | None, tell: bool
    ) -> _Request:
        record = await self.facts.agent(agent)
        if room.platform != record.platform:
            raise PresenceError(f"{agent} lives on {record.platform}, not on {room.platform}")
        settings = await self.facts.settings_of(agent)
        now = self.ctx.clock.now()
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
            expires_at=now + self.ctx.config(room).invitation_ttl_seconds,
        )
        return _Request(record, settings, room, inviter, kind, now, base, tell)

    def _log_decision(self, req: _Request, verdict: Verdict) -> None:
        self.notify.decisions.labels(verdict.outcome.value, verdict.rule).inc()
        self.log.info(
            "invitation_decided",
            agent=req.record.name,
            room=req.room.key,
            inviter=req.inviter.key,
            inviter_kind=req.kind.value,
            outcome=verdict.outcome.value,
            rule=verdict.rule,
            reason=verdict.reason,
        )

    async def _owner_approves(self, existing: InvitationRecord, owner: Actor) -> InvitationResult:
        """The owner inviting their agent where an invitation waits for them is their approval of it."""
        text, decided = await self.approve(existing.id, owner)
        outcome = _OWNER_OUTCOMES.get(decided.status, "failed") if decided else "failed"
        reason = decided.reason if decided is not None and outcome == "joined" else text
        return InvitationResult(outcome, reason, decided)

    async def _duplicate(self, req: _Request, existing: InvitationRecord | None) -> InvitationResult:
        ref = f" (#{existing.id})" if existing else ""
        reason = f"an invitation of this agent to this room is already open{ref}"
        inv = await self.store.invitations.create(req.new(InvitationStatus.DECLINED, "duplicate", reason))
        self.notify.decisions.labels("decline", "duplicate").inc()
        self.log.info("invitation_duplicate", agent=inv.agent, room=inv.room, open_invitation=existing and existing.id)
        if req.tell:
            await self.notify.tell_inviter(
                inv, f"Invitation #{inv.id} of {inv.agent} to {where(inv.room_obj)}: {reason}."
            )
        return InvitationResult("duplicate", reason, inv)

    async def _auto_join(self, req: _Request, verdict: Verdict) -> InvitationResult:
        result, inv = await self.store.invitations.create_joined(
            req.new(InvitationStatus.ACCEPTED, verdict.rule, verdict.reason), max_rooms=req.settings.max_rooms
        )
        if result is not JoinResult.JOINED:
            await self.notify.finished(inv, "declined", tell=req.tell)
            return InvitationResult("declined", inv.reason, inv)
        return await self._join(inv, req.record, tell=req.tell)

    async def _join(self, inv: InvitationRecord, record: AgentRecord, *, tell: bool) -> InvitationResult:
        done = await self.roster.carry_out_join(inv, record, tell=tell)
        return InvitationResult("joined" if done.joined else "failed", done.reason, done.invitation)

    async def _open(self, req: _Request, verdict: Verdict) -> InvitationResult:
        """Store a pending (ask the owner) or deferred (cooldown) invitation with its timers, in one transaction:
        an open invitation without an expiry would block every later one of the agent to the room."""
        deferred = verdict.outcome is Outcome.DEFER
        status = InvitationStatus.DEFERRED if deferred else InvitationStatus.PENDING
        new = req.new(status, verdict.rule, verdict.reason, verdict.retry_at)
        agent, scheduler = req.record.name, self.ctx.scheduler
        try:
            async with self.ctx.db.transaction() as conn:
                key = str(await self.store.invitations.insert_in(conn, new))
                await scheduler.schedule_in(conn, EXPIRY_TIMER, key, new.expires_at, {"agent": agent})
                if deferred:
                    retry_at = min(verdict.retry_at or req.now, new.expires_at)
                    await scheduler.schedule_in(conn, RETRY_TIMER, key, retry_at, {"agent": agent})
        except DuplicateInvitation:
            return await self._duplicate(req, await self.store.invitations.open_for(agent, req.room))
        inv = await self.store.invitations.get(int(key))
        if inv is None:
            raise PresenceError(f"invitation #{key} was just written but cannot be read")
        if deferred:
            if req.tell:
                text = f"Invitation #{inv.id} of {agent} to {where(req.room)} is deferred: {verdict.reason}."
                await self.notify.tell_inviter(inv, text)
            return InvitationResult("deferred", verdict.reason, inv)
        reached = await self.notify.ask_owner(inv, req.record, tell=req.tell)
        unreachable = f"could not reach {owner(req.record)}, the owner of {agent}, by direct message"
        outcome, reason = ("asked_owner", verdict.reason) if reached else ("owner_unreachable", unreachable)
        return InvitationResult(outcome, reason, await self.store.invitations.get(inv.id))

    # --- the owner decides ------------------------------------------------------------------------------------------

    async def approve(self, invitation_id: int, actor: Actor) -> tuple[str, InvitationRecord | None]:
        """The owner approves (button or command). Returns the text to answer with and the invitation as decided."""
        inv, record = await self._owned(invitation_id, actor)
        if not inv.status.open:
            return f"Invitation #{inv.id} was already decided ({inv.status.value}).", inv
        now = self.ctx.clock.now()
        settings = await self.facts.settings_of(record.name)
        room = inv.room_obj
        verdict = decide_approval(await self.facts.gather(record, settings, room, actor, now, count_spam=False))
        if verdict.outcome is Outcome.DECLINE:
            closed = await self.store.invitations.close(
                inv.id, InvitationStatus.DECLINED, rule=verdict.rule, reason=verdict.reason, at=now, by=actor.key
            )
            if closed is None:
                return f"Invitation #{inv.id} was already decided.", await self.store.invitations.get(inv.id)
            await self.notify.finished(closed, "declined", tell=True)
            return f"Invitation #{inv.id} cannot be accepted: {verdict.reason}.", closed
        result, decided = await self.store.invitations.approve_and_join(
            inv.id, by=actor.key, at=now, max_rooms=settings.max_rooms, rule=verdict.rule, reason=verdict.reason
        )
        if result is JoinResult.NOT_OPEN or decided is None:
            current = await self.store.invitations.get(inv.id)
            return f"Invitation #{inv.id} was already decided ({_state(current)}).", current
        if result is not JoinResult.JOINED:
            await self.notify.finished(decided, "declined", tell=True)
            return f"Invitation #{inv.id} cannot be accepted: {decided.reason}.", decided
        await self.notify.reward(RewardEvent.INVITATION_APPROVED, record.name, room, {"invitation_id": inv.id})
        outcome = await self._join(decided, record, tell=True)
        if outcome.outcome == "failed":
            return f"Invitation #{inv.id} was approved but {outcome.reason}.", outcome.invitation
        return f"Approved: {record.name} joined {where(room)}.", await self.store.invitations.get(inv.id)

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
            return f"Invitation #{inv.id} was already decided ({_state(current)}).", current
        self.notify.decisions.labels("decline", "owner_declined").inc()
        await self.notify.reward(RewardEvent.INVITATION_DECLINED, record.name, inv.room_obj, {"invitation_id": inv.id})
        await self.notify.finished(closed, "declined", tell=True)
        return f"Declined invitation #{inv.id} of {record.name} to {where(inv.room_obj)}.", closed

    async def _owned(self, invitation_id: int, actor: Actor) -> tuple[InvitationRecord, AgentRecord]:
        inv = await self.store.invitations.get(invitation_id)
        if inv is None:
            raise PresenceError(f"there is no invitation #{invitation_id}")
        record = await self.facts.agent(inv.agent)
        if not is_owner(record, actor):
            raise NotOwner(record)
        return inv, record

    # --- timers and Steward's own reasons -----------------------------------------------------------------------------

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
        self.notify.decisions.labels("expire", "expired").inc()
        self.log.info("invitation_expired", invitation_id=inv_id, agent=closed.agent, room=closed.room)
        await self.notify.finished(closed, "expired", tell=True)

    async def retry(self, key: str, payload: Mapping[str, Any]) -> None:
        """A deferred invitation's cooldown ended: decide it again."""
        inv_id = _int_key(key)
        inv = await self.store.invitations.get(inv_id) if inv_id is not None else None
        if inv is None or inv.status is not InvitationStatus.DEFERRED:
            return
        record = await self.ctx.agents.get(inv.agent)
        if record is None:
            await self._decline_deferred(inv, Verdict(Outcome.DECLINE, "unknown_agent", "the agent was unregistered"))
            return
        now = self.ctx.clock.now()
        settings = await self.facts.settings_of(record.name)
        inviter = Actor(inv.inviter_platform, inv.inviter_id, actor_kind(inv.inviter_kind), inv.inviter_name)
        facts = await self.facts.gather(record, settings, inv.room_obj, inviter, now, count_spam=False)
        verdict = decide_invitation(facts)
        self.notify.decisions.labels(verdict.outcome.value, verdict.rule).inc()
        if verdict.outcome is Outcome.DEFER:
            retry_at = min(verdict.retry_at or now, inv.expires_at)
            async with self.ctx.db.transaction() as conn:
                if await self.store.invitations.defer_again_in(conn, inv.id, retry_at=retry_at, reason=verdict.reason):
                    await self.ctx.scheduler.schedule_in(conn, RETRY_TIMER, key, retry_at, dict(payload))
        elif verdict.outcome is Outcome.DECLINE:
            await self._decline_deferred(inv, verdict)
        elif verdict.outcome is Outcome.AUTO_JOIN:
            await self._join_deferred(inv, record, settings, verdict)
        else:
            pending = await self.store.invitations.to_pending(inv.id, rule=verdict.rule, reason=verdict.reason)
            if pending is not None:
                await self.notify.ask_owner(pending, record, tell=True)

    async def _decline_deferred(self, inv: InvitationRecord, verdict: Verdict) -> None:
        closed = await self.store.invitations.close(
            inv.id, InvitationStatus.DECLINED, rule=verdict.rule, reason=verdict.reason, at=self.ctx.clock.now()
        )
        if closed is not None:
            await self.notify.finished(closed, "declined", tell=True)

    async def _join_deferred(
        self, inv: InvitationRecord, record: AgentRecord, settings: AgentSettings, verdict: Verdict
    ) -> None:
        result, decided = await self.store.invitations.approve_and_join(
            inv.id,
            by="policy",
            at=self.ctx.clock.now(),
            max_rooms=settings.max_rooms,
            rule=verdict.rule,
            reason=verdict.reason,
        )
        if result is JoinResult.NOT_OPEN or decided is None:
            return
        if result is JoinResult.JOINED:
            await self._join(decided, record, tell=True)
        else:
            await self.notify.finished(decided, "declined", tell=True)

    async def close_open(self, inv: InvitationRecord, *, rule: str, reason: str) -> bool:
        """Decline an open invitation for a reason of Steward's own (a suspension, the agent unregistered)."""
        closed = await self.store.invitations.close(
            inv.id, InvitationStatus.DECLINED, rule=rule, reason=reason, at=self.ctx.clock.now(), by="presence"
        )
        if closed is None:
            return False
        self.notify.decisions.labels("decline", rule).inc()
        await self.notify.finished(closed, "declined", tell=True)
        return True


def _state(inv: InvitationRecord | None) -> str:
    return inv.status.value if inv else "gone"


def _int_key(key: str) -> int | None:
    try:
        return int(key)
    except ValueError:
        return None
