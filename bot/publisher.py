"""The agent publisher: the only way an agent's message reaches a room.

``submit`` runs the gates (the moderator registers one), records the decision in the database *before* anyone
hears of it, lets holders (owner-approved drafts) keep an approved message back, and only then performs
``PostAsAgent`` on the room's adapter. The posted message is dispatched on the bus as a ``MessageCreated`` with
``via_steward=True`` so that every cog sees it, in order, before the next submission to that room is judged.
"""

from __future__ import annotations

import asyncio
import enum
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from bot.actions import PostAsAgent
from bot.bus import EventBus
from bot.clock import Clock, SystemClock
from bot.events import MessageCreated
from bot.logging import get_logger
from bot.metrics import Children, Metrics
from bot.router import ActionRouter
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord, AgentRepository, DecisionLog

log = get_logger("steward.publisher")


LOG_ONLY_RULE = "log_only"  # the rule of an approval that log-only mode made of a would-be rejection or edit


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    rule: str
    reason: str
    text: str
    scores: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def approve(
        cls,
        text: str,
        *,
        rule: str = "pass",
        reason: str = "no rule objected",
        scores: Mapping[str, float] | None = None,
    ) -> Decision:
        return cls(Verdict.APPROVE, rule, reason, text, MappingProxyType(dict(scores or {})))

    @classmethod
    def logged(cls, text: str, would: Decision) -> Decision:
        """Log-only mode's approval of what ``would`` have rejected or edited: rule ``log_only``, the would-be verdict,
        rule and reason in the reason. Later gates' approvals keep it (``_carry_forward``)."""
        reason = f"log-only: would {would.verdict.value} ({would.rule}: {would.reason})"
        return cls(Verdict.APPROVE, LOG_ONLY_RULE, reason, text, MappingProxyType(dict(would.scores)))

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.REJECT

    @property
    def noted(self) -> bool:
        """An edit, or a log-only approval: something a gate did or would have done, that a later approval keeps."""
        return self.verdict is Verdict.EDIT or (self.verdict is Verdict.APPROVE and self.rule == LOG_ONLY_RULE)


@dataclass(frozen=True, slots=True)
class AgentSubmission:
    agent: AgentRecord
    room: Room
    text: str
    at: float
    reply_to: str | None = None
    thread_id: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.room.platform, self.agent.name, ActorKind.AGENT, self.agent.display_name or self.agent.name)


class Gate(Protocol):
    async def evaluate(self, submission: AgentSubmission) -> Decision: ...


class GateOrder(enum.IntEnum):
    """Where a gate runs: the cheapest and most decisive checks first, the model last. The publisher runs gates
    by this order whatever order the cogs were loaded in (gates of equal order: by owner name)."""

    SUSPENSION = 10  # is the agent allowed to speak at all
    ROOM_MODE = 20  # does the room take agents' messages now (quiet, focused, review, rate)
    RULES = 50  # the text rules over the room's history (cooldown, duplicate, loop, depth, filters ...)
    MODEL = 90  # model scoring (toxicity): the costliest, run only on what every other gate let through


class Holder(Protocol):
    async def hold(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str | None:
        """Keep the message back (return a reference, e.g. a draft id), or None to let it be posted now."""
        ...


@dataclass(frozen=True, slots=True)
class PublishResult:
    decision: Decision
    decision_id: int
    posted: bool = False
    message_id: str | None = None
    held: str | None = None
    error: str | None = None


class UnknownAgent(LookupError):
    pass


class AgentPublisher:
    def __init__(
        self,
        *,
        agents: AgentRepository,
        decisions: DecisionLog,
        router: ActionRouter,
        bus: EventBus,
        metrics: Metrics,
        clock: Clock | None = None,
    ) -> None:
        self.agents = agents
        self.decisions = decisions
        self.router = router
        self.bus = bus
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self._gates: list[tuple[int, str, Gate]] = []
        self._holders: list[tuple[str, Holder]] = []
        self._room_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._latency = metrics.histogram(
            "steward_publish_seconds",
            "Time from submission to decision recorded",
            [],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self._decided = Children(metrics.decisions)

    def add_gate(self, gate: Gate, *, owner: str, order: GateOrder | int) -> None:
        self._gates.append((int(order), owner, gate))
        self._gates.sort(key=lambda entry: (entry[0], entry[1]))  # stable: one owner's gates keep their order

    @property
    def gate_order(self) -> list[tuple[int, str, str]]:
        """(order, owner, gate class) in the order the gates run."""
        return [(order, owner, type(gate).__name__) for order, owner, gate in self._gates]

    def add_holder(self, holder: Holder, *, owner: str) -> None:
        self._holders.append((owner, holder))

    def remove_owner(self, owner: str) -> None:
        self._gates = [entry for entry in self._gates if entry[1] != owner]
        self._holders = [(o, h) for o, h in self._holders if o != owner]

    @property
    def gated(self) -> bool:
        return bool(self._gates)

    def _lock(self, room: Room) -> asyncio.Lock:
        lock = self._room_locks.get(room.key)
        if lock is None:
            lock = asyncio.Lock()
            self._room_locks[room.key] = lock
        return lock

    async def submit(
        self,
        agent: str | AgentRecord,
        room: Room,
        text: str,
        *,
        reply_to: str | None = None,
        thread_id: str | None = None,
        at: float | None = None,
    ) -> PublishResult:
        submitted = time.perf_counter()
        record = agent if isinstance(agent, AgentRecord) else await self.agents.get(agent)
        if record is None:
            raise UnknownAgent(f"no agent named {agent!r} is registered")
        async with self._lock(room):
            started = self.clock.now()
            submission = AgentSubmission(record, room, text, at if at is not None else started, reply_to, thread_id)
            decision = await self._evaluate(submission)
            decision_id = await self.decisions.record(
                at=submission.at,
                room=room,
                agent=record.name,
                verdict=decision.verdict,
                rule=decision.rule,
                reason=decision.reason,
                text=text,
                scores=decision.scores,
            )
            self._latency.observe(time.perf_counter() - submitted)
            self._decided(decision.verdict.value, decision.rule).inc()
            log.info(
                "agent_message_decided",
                agent=record.name,
                room=room.key,
                verdict=decision.verdict.value,
                rule=decision.rule,
                reason=decision.reason,
                decision_id=decision_id,
            )
            if not decision.allowed:
                return PublishResult(decision, decision_id)
            for _owner, holder in self._holders:
                held = await holder.hold(submission, decision, decision_id)
                if held is not None:
                    return PublishResult(decision, decision_id, held=held)
            return await self._post(submission, decision, decision_id)

    async def post_held(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> PublishResult:
        """Post a message that a holder kept back and has now released (e.g. the owner approved the draft)."""
        async with self._lock(submission.room):
            return await self._post(submission, decision, decision_id)

    async def _evaluate(self, submission: AgentSubmission) -> Decision:
        if not submission.text.strip():
            return Decision(Verdict.REJECT, "input", "the message is empty", submission.text)
        decision = Decision.approve(
            submission.text, rule="pass", reason="no gate is configured" if not self._gates else "no rule objected"
        )
        for _order, _owner, gate in self._gates:
            earlier = decision
            decision = await gate.evaluate(
                submission if decision.text == submission.text else _with_text(submission, decision.text)
            )
            if not decision.allowed:
                break
            decision = _carry_forward(earlier, decision)
        return decision

    async def _post(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> PublishResult:
        action = PostAsAgent(
            room=submission.room,
            agent=submission.agent.identity,
            text=decision.text,
            reply_to=submission.reply_to,
            thread_id=submission.thread_id,
        )
        result = await self.router.perform(action)
        if not result.ok:
            return PublishResult(decision, decision_id, error=result.error)
        message_id = result.message_id or f"d{decision_id}"
        await self.decisions.set_message_id(decision_id, message_id)
        await self.bus.dispatch(
            MessageCreated(
                at=submission.at,
                room=submission.room,
                message_id=message_id,
                author=submission.actor,
                text=decision.text,
                reply_to=submission.reply_to,
                thread_id=submission.thread_id,
                via_steward=True,
            )
        )
        return PublishResult(decision, decision_id, posted=True, message_id=message_id)


def _carry_forward(earlier: Decision, later: Decision) -> Decision:
    """A later gate's plain approval keeps what earlier gates did: an edit stays an edit, a log-only approval stays
    one (with its rule and the would-be verdict in its reason, so the decision log shows what would have been
    blocked), and the scores every gate saw are kept together."""
    scores = MappingProxyType({**earlier.scores, **later.scores})
    if earlier.noted and later.verdict is Verdict.APPROVE and not later.noted:
        return Decision(earlier.verdict, earlier.rule, earlier.reason, later.text, scores)
    return Decision(later.verdict, later.rule, later.reason, later.text, scores)


def _with_text(submission: AgentSubmission, text: str) -> AgentSubmission:
    return AgentSubmission(
        submission.agent, submission.room, text, submission.at, submission.reply_to, submission.thread_id
    )
