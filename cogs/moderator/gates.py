"""The moderator's two gates on the agent publisher: the text rules (``GateOrder.RULES``) and the model rule
(``GateOrder.MODEL``), and what passes from one to the other.

The publisher runs the rules gate first. It builds the message's context and runs the text rules; when they decide
(a rejection, moderation off here, or no model rule in the room's chain) it settles the decision at once. Otherwise
it hands the context and the rules' edits to the model gate and lets the text through as the rules left it (an
approval: an edit is only an edit once the model has had its say). The model gate runs the model rule on that text
and settles the whole chain's decision. Settling is what the single gate did: a case, a log line, a metric and a
``ModerationDecision`` for anything but an approval, the count towards a suspension for a rejection, log-only
turning a would-be action into an approval, and notes for the echo of what is posted. Each submission is settled
exactly once, so cases, counts and ``MessageScored`` events are what they were with one gate.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import LRUCache

from bot.publisher import AgentSubmission, Decision, Verdict
from cogs.moderator.agents import AgentModeration, Pending
from cogs.moderator.service import ModerationContext, ModeratorService
from policy.moderation_rules import Subject

_HANDOFF_LIMIT = 10_000  # submissions between the gates (one a room at a time; left over only if a gate between
# the two rejects, and overwritten by the room's next submission)


@dataclass(frozen=True, slots=True)
class _Handoff:
    at: float  # the submission's event time (a handoff is for that submission only)
    context: ModerationContext
    subject: Subject | None  # None: the rules gate settled already and ``decision`` is final
    decision: Decision  # what the rules gate returned


class ModeratorGates:
    """The pair of gates of one moderator cog (``rules`` and ``model``), sharing what one tells the other."""

    def __init__(self, agents: AgentModeration) -> None:
        self.agents = agents
        self.service: ModeratorService = agents.service
        self._handoffs: LRUCache[tuple[str, str], _Handoff] = LRUCache(maxsize=_HANDOFF_LIMIT)
        self.rules = RulesGate(self)
        self.model = ModelGate(self)

    async def rules_stage(self, submission: AgentSubmission) -> Decision:
        room, agent = submission.room, submission.agent.name
        text = submission.text
        context = await self.service.context_of(
            room, text, submission.at, reply_to=submission.reply_to, thread_id=submission.thread_id
        )
        checked = self.service.check_text(agent, context)
        key = (room.key, agent)
        if isinstance(checked, Subject):
            # The text as the rules left it goes on; the model gate settles the decision.
            passed = Decision.approve(checked.text, rule="pass", reason="the text rules let it through")
            self._handoffs[key] = _Handoff(submission.at, context, checked, passed)
            return passed
        decision = await self.settle(submission, context, checked)
        if decision.allowed:
            self._handoffs[key] = _Handoff(submission.at, context, None, decision)
        else:
            self._handoffs.pop(key, None)
        return decision

    async def model_stage(self, submission: AgentSubmission) -> Decision:
        handoff = self._handoffs.pop((submission.room.key, submission.agent.name), None)
        if handoff is None or handoff.at != submission.at:
            # The rules gate did not see this submission: judge it by the model rules alone.
            context = self.service.context(
                submission.room,
                submission.text,
                submission.at,
                reply_to=submission.reply_to,
                thread_id=submission.thread_id,
            )
            subject = Subject(submission.agent.name, context)
            return await self.settle(submission, context, await self.service.check_model(context, subject))
        if handoff.subject is None:
            return handoff.decision  # settled by the rules gate: the same decision again (the publisher keeps it)
        subject = handoff.subject
        subject.text = submission.text  # what reached this gate (a gate in between may have changed it)
        decision = await self.service.check_model(handoff.context, subject)
        return await self.settle(submission, handoff.context, decision)

    async def settle(self, submission: AgentSubmission, context: ModerationContext, decision: Decision) -> Decision:
        """Record the chain's decision on ``submission`` (the message as the agent sent it: ``context.text``)."""
        agents = self.agents
        room, agent, text = submission.room, submission.agent.name, context.text
        if decision.verdict is Verdict.APPROVE:
            agents.stash(room, agent, Pending(context.payload, context.depth, decision.scores, decision.text))
            return decision
        settings = agents.ctx.config(room)
        await agents.open_case(
            room=room,
            target=submission.actor,
            decision=decision,
            text=text,
            at=submission.at,
            action="reject" if decision.verdict is Verdict.REJECT else "edit",
            settings=settings,
        )
        if settings.log_only:
            agents.stash(room, agent, Pending(context.payload, context.depth, decision.scores, text))
            return Decision.logged(text, decision)
        if decision.allowed:
            agents.stash(room, agent, Pending(context.payload, context.depth, decision.scores, decision.text))
        return decision


class RulesGate:
    """The text rules (register at ``GateOrder.RULES``)."""

    def __init__(self, gates: ModeratorGates) -> None:
        self.gates = gates

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        return await self.gates.rules_stage(submission)


class ModelGate:
    """The model rule (register at ``GateOrder.MODEL``, after the rules gate)."""

    def __init__(self, gates: ModeratorGates) -> None:
        self.gates = gates

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        return await self.gates.model_stage(submission)
