"""The agent side of the moderator: the gate before posting, the echo after, and agents that post around the gate.

- The gates before posting are ``gates.ModeratorGates`` (the text rules, then the model rule); they stash what
  they worked out here (``stash``) and open cases and count rejections through this class.
- ``remember_echo`` records a posted message in the hot state when the publisher's ``via_steward`` echo arrives
  (with what the gate worked out, stashed until then) and publishes its scores.
- ``moderate_after`` judges an agent that posted with its own bot user by the same chain, after the fact: a
  rejected message is deleted and counts towards a suspension like a gated one; its case records whether the
  platform deleted it (``delete``) or refused (``delete_failed: <the platform's error>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cachetools import LRUCache

from bot.actions import DeleteMessage
from bot.cases import CaseEntry
from bot.cog import CogContext
from bot.events import MessageCreated, MessageEdited, MessageScored
from bot.publisher import Decision, Verdict
from cogs.moderator.config import ModeratorSettings
from cogs.moderator.escalation import Escalation
from cogs.moderator.outcomes import ActionOutcomes, outcome_label
from cogs.moderator.service import ModeratorService, Payload
from domain import Actor, Room
from storage.cases import CaseRecord

_PENDING_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Pending:
    """What the gate worked out for an approved message, used when its echo arrives (the echo has the id)."""

    payload: Payload
    depth: int
    scores: Mapping[str, float]
    posted_text: str  # what the gate let through: the echo must carry this text to be this message


class AgentModeration:
    """The echo and the after-the-fact check of agents' messages, and what the gates share (cases, stash)."""

    def __init__(
        self,
        ctx: CogContext[ModeratorSettings],
        service: ModeratorService,
        escalation: Escalation,
        outcomes: ActionOutcomes,
    ) -> None:
        self.ctx = ctx
        self.service = service
        self.escalation = escalation
        self.outcomes = outcomes
        self._pending: LRUCache[tuple[str, str], Pending] = LRUCache(maxsize=_PENDING_LIMIT)

    def stash(self, room: Room, agent: str, pending: Pending) -> None:
        self._pending[(room.key, agent)] = pending  # (the cache forgets the least recently stashed first)

    # --- the echo ---------------------------------------------------------------------------------------------------

    def remember_echo(self, event: MessageCreated) -> None:
        agent = event.author.id
        pending = self._pending.pop((event.room.key, agent), None)
        if pending is not None and pending.posted_text != event.text:
            pending = None  # another message (a draft held back earlier, or edited by a later gate)
        if pending is None:
            # Posted without this gate's notes at hand (a released draft ...): work the payload out from the text.
            payload = self.service.payload(event.text, self.ctx.config(event.room))
            self.service.remember_agent(
                event.room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=payload
            )
            return
        self.service.remember_agent(
            event.room,
            agent,
            event.message_id,
            event.at,
            reply_to=event.reply_to,
            payload=pending.payload,
            depth=pending.depth,
        )
        if pending.scores:
            self.ctx.bus.publish_nowait(
                MessageScored(
                    at=event.at,
                    room=event.room,
                    message_id=event.message_id,
                    author=event.author,
                    scores=MappingProxyType(dict(pending.scores)),
                )
            )

    # --- around the gate --------------------------------------------------------------------------------------------

    async def moderate_after(self, event: MessageCreated) -> None:
        """An agent that posted with its own bot user, around the gate: the same chain, applied after the fact."""
        room, agent = event.room, event.author.id
        text = event.text
        context = await self.service.context_of(
            room, text, event.at, reply_to=event.reply_to, thread_id=event.thread_id
        )
        decision = await self.service.evaluate(agent, context)
        if decision.verdict is Verdict.APPROVE:
            self.service.remember_agent(
                room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=context.payload
            )
            if decision.scores:
                await self.publish_scores(event, decision.scores)
            return None
        settings = self.ctx.config(room)
        action = "delete"  # log-only: what would have been done
        if not settings.log_only:
            delete = DeleteMessage(room=room, message_id=event.message_id, reason=f"{decision.rule}: {decision.reason}")
            result = await self.outcomes.perform(delete, room=room.key, target=agent, rule=decision.rule)
            action = outcome_label(action, result)
        await self.open_case(
            room=room,
            target=event.author,
            decision=decision,
            text=event.text,
            at=event.at,
            action=action,
            settings=settings,
            message_id=event.message_id,
        )
        if decision.scores:
            await self.publish_scores(event, decision.scores)
        if settings.log_only:
            self.service.remember_agent(
                room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=context.payload
            )
        return None

    # --- shared -----------------------------------------------------------------------------------------------------

    async def open_case(
        self,
        *,
        room: Room,
        target: Actor,
        decision: Decision,
        text: str,
        at: float,
        action: str,
        settings: ModeratorSettings,
        message_id: str | None = None,
    ) -> CaseRecord:
        """Open the decision's case; a rejection (not log-only, not for an existing suspension) counts towards a
        suspension, which is then written in the same transaction as the case."""
        entry = CaseEntry(
            room=room,
            target=target,
            at=at,
            verdict=decision.verdict.value,
            rule=decision.rule,
            reason=decision.reason,
            text=text,
            action=action,
            scores=decision.scores,
            message_id=message_id,
            log_only=settings.log_only,
        )
        counts = not settings.log_only and decision.verdict is Verdict.REJECT and decision.rule != "suspended"
        case, _ = await self.escalation.open_case(entry, settings, counts=counts)
        return case

    async def publish_scores(self, event: MessageCreated | MessageEdited, scores: Mapping[str, float]) -> None:
        await self.ctx.bus.publish(
            MessageScored(
                at=event.at,
                room=event.room,
                message_id=event.message_id,
                author=event.author,
                scores=MappingProxyType(dict(scores)),
            )
        )
