"""Drafts: messages the moderator approved, held back until the agent's owner approves, edits or rejects them.

The desk is the publisher's ``Holder`` for agents whose message approval is ``owner_each_draft`` and the
``DraftReview`` service other cogs use to hold a message for review (``hold_for_review``).

An edit replaces the draft with the owner's text, which takes the gate again (the owner's words are as unvetted as
the agent's) through ``publisher.submit``; the replacement is not held a second time, since its author is the
person who would approve it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.actions import ButtonStyle, SendApprovalPrompt, UpdatePrompt
from bot.cog import CogContext
from bot.publisher import AgentSubmission, Decision, Verdict
from cogs.presence.config import PresenceSettings
from cogs.presence.errors import NotOwner, PresenceError, is_owner
from cogs.presence.facts import Facts
from cogs.presence.notify import Notifier
from domain import Actor, room_ref
from policy.presence import MessageApproval, RewardEvent
from storage.core import AgentRecord
from storage.presence import DraftRecord, DraftStatus, PresenceStore

DRAFT_TIMER = "presence.draft_expiry"
_SUSPENDED = "presence.suspension"  # who refused the draft of a suspended agent
# Prompts must fit the platforms' message limits (Discord 2,000 characters, a Slack section 3,000); the whole text
# is what gets posted on approval.
PROMPT_TEXT_MAX = 1500
DRAFT_CHOICES = (
    ("approve", "Approve", ButtonStyle.SUCCESS),
    ("edit", "Edit", ButtonStyle.PRIMARY),
    ("reject", "Reject", ButtonStyle.DANGER),
)

# Set while the owner's replacement text is being submitted, so that the holder lets it through.
_owner_release: contextvars.ContextVar[int | None] = contextvars.ContextVar("presence_owner_release", default=None)


@dataclass(frozen=True, slots=True)
class DraftOutcome:
    text: str
    draft: DraftRecord | None
    posted: bool = False
    message_id: str | None = None


class DraftDesk:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore, facts: Facts, notify: Notifier) -> None:
        self.ctx = ctx
        self.store = store
        self.facts = facts
        self.notify = notify
        self.log = ctx.log
        self._held = ctx.metrics.counter("steward_drafts_total", "Drafts by outcome", ["outcome"])

    # --- holding ------------------------------------------------------------------------------------------------

    async def hold(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str | None:
        """The publisher's holder: keep the message back when the agent's owner approves each draft."""
        if _owner_release.get() is not None:
            return None
        settings = await self.store.settings.get(submission.agent.name)
        if settings is None or settings.message_approval is not MessageApproval.OWNER_EACH_DRAFT:
            return None
        draft = await self._create(submission, decision, decision_id, source="owner_approval")
        return f"draft:{draft.id}"

    async def hold_for_review(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str:
        """Hold a message for its owner's review whatever the agent's settings (the ``DraftReview`` service)."""
        draft = await self._create(submission, decision, decision_id, source="review")
        return f"draft:{draft.id}"

    async def _create(
        self, submission: AgentSubmission, decision: Decision, decision_id: int, *, source: str
    ) -> DraftRecord:
        now = self.ctx.clock.now()
        expires_at = now + self.ctx.config(submission.room).draft_ttl_seconds
        suspended = self.facts.suspended_until(submission.agent.name, submission.room, now) is not None
        # The draft and its expiry timer are committed together: a pending draft without one would wait forever.
        async with self.ctx.db.transaction() as conn:
            draft_id = await self.store.drafts.insert_in(
                conn,
                agent=submission.agent.name,
                room=submission.room,
                decision_id=decision_id,
                text=decision.text,
                reply_to=submission.reply_to,
                thread_id=submission.thread_id,
                submitted_at=submission.at,
                verdict=decision.verdict.value,
                rule=decision.rule,
                reason=decision.reason,
                scores=decision.scores,
                source=source,
                created_at=now,
                expires_at=expires_at,
            )
            if suspended:
                # Without the moderator's gate in front, a suspended agent's message would reach here: keep it
                # back, record why, and do not bother the owner with it.
                await self.store.drafts.close_in(
                    conn, draft_id, DraftStatus.REJECTED, outcome="the agent is suspended here", at=now, by=_SUSPENDED
                )
            else:
                payload = {"agent": submission.agent.name}
                await self.ctx.scheduler.schedule_in(conn, DRAFT_TIMER, str(draft_id), expires_at, payload)
        draft = await self.store.drafts.get(draft_id)
        if draft is None:
            raise PresenceError(f"draft #{draft_id} was just written but cannot be read")
        if suspended:
            self._held.labels("suspended").inc()
            self.log.info("draft_refused_suspended", draft_id=draft.id, agent=draft.agent, room=draft.room)
            self.notify.emit(draft.agent, "draft", {"draft_id": draft.id, "room": draft.room, "status": "rejected"})
            return draft
        self._held.labels("held").inc()
        self.log.info("draft_held", draft_id=draft.id, agent=draft.agent, room=draft.room, source=source)
        await self._ask_owner(draft, submission, decision)
        return draft

    async def _ask_owner(self, draft: DraftRecord, submission: AgentSubmission, decision: Decision) -> None:
        record = submission.agent
        shown = decision.text if len(decision.text) <= PROMPT_TEXT_MAX else decision.text[: PROMPT_TEXT_MAX - 1] + "…"
        text = (
            f"Draft #{draft.id} from your agent {record.name} for {room_ref(submission.room)}:\n"
            f"> {shown}\n"
            f"Approve to post it, Reject to drop it, or Edit: `draft edit {draft.id} <new text>`."
        )
        prompt = SendApprovalPrompt(
            target_platform=record.platform,
            user_id=record.owner_id,
            text=text,
            kind="draft",
            key=str(draft.id),
            choices=DRAFT_CHOICES,
            fallback_room=None,  # a draft is not shown in the room before it is approved
        )
        result = await self.ctx.router.perform(prompt)
        note = result.note if result.ok else f"failed: {result.error}"
        await self.store.drafts.set_prompt(
            draft.id, platform=record.platform, channel_id=result.channel_id, message_id=result.message_id, note=note
        )
        if not result.ok or result.note:
            self.log.warning("owner_prompt_degraded", what="draft", id=draft.id, note=note)
        self.notify.emit(record.name, "draft", {"draft_id": draft.id, "room": draft.room, "status": "pending"})

    # --- deciding -----------------------------------------------------------------------------------------------

    async def _owned(self, draft_id: int, actor: Actor) -> tuple[DraftRecord, AgentRecord]:
        draft = await self.store.drafts.get(draft_id)
        if draft is None:
            raise PresenceError(f"there is no draft #{draft_id}")
        record = await self.facts.agent(draft.agent)
        if not is_owner(record, actor):
            raise NotOwner(record)
        return draft, record

    async def approve(self, draft_id: int, actor: Actor) -> DraftOutcome:
        draft, record = await self._owned(draft_id, actor)
        claimed = await self.store.drafts.close(
            draft.id, DraftStatus.APPROVED, outcome="approved", at=self.ctx.clock.now(), by=actor.key
        )
        if claimed is None:
            return DraftOutcome(f"Draft #{draft.id} was already decided ({draft.status.value}).", draft)
        await self.ctx.scheduler.cancel(DRAFT_TIMER, str(draft.id))
        submission = AgentSubmission(
            record, claimed.room_obj, claimed.text or "", claimed.submitted_at, claimed.reply_to, claimed.thread_id
        )
        decision = Decision(
            Verdict(claimed.verdict),
            claimed.rule,
            claimed.reason,
            claimed.text or "",
            MappingProxyType(dict(claimed.scores)),
        )
        if not claimed.text:
            await self.store.drafts.set_outcome(draft.id, status=DraftStatus.FAILED, outcome="the text was not kept")
            return DraftOutcome(f"Draft #{draft.id} cannot be posted: its text was not kept.", claimed)
        result = await self.ctx.publisher.post_held(submission, decision, claimed.decision_id)
        await self.notify.reward(RewardEvent.DRAFT_APPROVED, record.name, claimed.room_obj, {"draft_id": draft.id})
        if not result.posted:
            await self.store.drafts.set_outcome(
                draft.id, status=DraftStatus.FAILED, outcome=f"post failed: {result.error}"
            )
            self._held.labels("failed").inc()
            text = f"Draft #{draft.id} was approved but could not be posted: {result.error}."
            await self._finish(claimed, text)
            return DraftOutcome(text, claimed)
        await self.store.drafts.set_outcome(draft.id, outcome="posted", message_id=result.message_id)
        self._held.labels("approved").inc()
        text = f"Draft #{draft.id} approved and posted in {room_ref(claimed.room_obj)}."
        await self._finish(claimed, text, status="approved", message_id=result.message_id)
        return DraftOutcome(text, claimed, posted=True, message_id=result.message_id)

    async def reject(self, draft_id: int, actor: Actor, reason: str = "") -> DraftOutcome:
        draft, record = await self._owned(draft_id, actor)
        why = reason[:300] or "rejected by the owner"
        claimed = await self.store.drafts.close(
            draft.id, DraftStatus.REJECTED, outcome=why, at=self.ctx.clock.now(), by=actor.key
        )
        if claimed is None:
            return DraftOutcome(f"Draft #{draft.id} was already decided ({draft.status.value}).", draft)
        self._held.labels("rejected").inc()
        await self.notify.reward(RewardEvent.DRAFT_REJECTED, record.name, claimed.room_obj, {"draft_id": draft.id})
        text = f"Draft #{draft.id} rejected; nothing was posted."
        await self._finish(claimed, text, status="rejected")
        return DraftOutcome(text, claimed)

    async def edit(self, draft_id: int, actor: Actor, new_text: str) -> DraftOutcome:
        """Replace the draft with the owner's text; the text takes the gate again and is posted if it passes."""
        if not new_text.strip():
            raise PresenceError("the replacement text is empty")
        draft, record = await self._owned(draft_id, actor)
        claimed = await self.store.drafts.close(
            draft.id, DraftStatus.EDITED, outcome="replaced by the owner", at=self.ctx.clock.now(), by=actor.key
        )
        if claimed is None:
            return DraftOutcome(f"Draft #{draft.id} was already decided ({draft.status.value}).", draft)
        await self.ctx.scheduler.cancel(DRAFT_TIMER, str(draft.id))
        self._held.labels("edited").inc()
        await self.notify.reward(RewardEvent.DRAFT_EDITED, record.name, claimed.room_obj, {"draft_id": draft.id})
        token = _owner_release.set(draft.id)
        try:
            result = await self.ctx.publisher.submit(
                record,
                claimed.room_obj,
                new_text,
                reply_to=claimed.reply_to,
                thread_id=claimed.thread_id,
                at=self.ctx.clock.now(),
            )
        finally:
            _owner_release.reset(token)
        if result.posted:
            await self.store.drafts.set_outcome(draft.id, outcome="replaced and posted", message_id=result.message_id)
            text = f"Draft #{draft.id} replaced by your text and posted in {room_ref(claimed.room_obj)}."
            await self._finish(claimed, text, status="edited", message_id=result.message_id)
            return DraftOutcome(text, claimed, posted=True, message_id=result.message_id)
        d = result.decision
        detail = result.error or f"{d.rule}: {d.reason}"
        await self.store.drafts.set_outcome(draft.id, outcome=f"replacement not posted ({detail})")
        text = f"Draft #{draft.id}: your replacement was not posted ({detail})."
        await self._finish(claimed, text, status="edited")
        return DraftOutcome(text, claimed)

    async def expire(self, key: str, payload: Mapping[str, Any]) -> None:
        try:
            draft_id = int(key)
        except ValueError:
            self.log.warning("draft_timer_bad_key", key=key)
            return
        claimed = await self.store.drafts.close(
            draft_id, DraftStatus.EXPIRED, outcome="nobody decided in time", at=self.ctx.clock.now(), by=None
        )
        if claimed is None:
            return
        self._held.labels("expired").inc()
        self.log.info("draft_expired", draft_id=draft_id, agent=claimed.agent)
        await self._finish(claimed, f"Draft #{draft_id} expired; nothing was posted.", status="expired")

    async def drop(self, draft: DraftRecord, reason: str, *, by: str) -> bool:
        """Reject a pending draft for a reason of Steward's own (a suspension, the agent unregistered)."""
        claimed = await self.store.drafts.close(
            draft.id, DraftStatus.REJECTED, outcome=reason, at=self.ctx.clock.now(), by=by
        )
        if claimed is None:
            return False
        await self.ctx.scheduler.cancel(DRAFT_TIMER, str(draft.id))
        self._held.labels("dropped").inc()
        await self._finish(claimed, f"Draft #{draft.id} dropped: {reason}.", status="rejected")
        return True

    async def _finish(
        self, draft: DraftRecord, text: str, *, status: str = "failed", message_id: str | None = None
    ) -> None:
        await self.ctx.scheduler.cancel(DRAFT_TIMER, str(draft.id))
        if draft.prompt_message and draft.prompt_platform:
            await self.ctx.router.perform(
                UpdatePrompt(
                    target_platform=draft.prompt_platform,
                    channel_id=draft.prompt_channel or "",
                    message_id=draft.prompt_message,
                    text=text,
                )
            )
        data: dict[str, Any] = {"draft_id": draft.id, "room": draft.room, "status": status}
        if message_id:
            data["message_id"] = message_id
        self.notify.emit(draft.agent, "draft", data)
