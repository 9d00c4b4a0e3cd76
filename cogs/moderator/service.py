"""``ModeratorService``: the agent rule chain over a message and the room's hot state.

The chain is the room's ``RulePlan``: the rule objects ``moderator.chain`` lists (``cogs.moderator.rules``), built
once per room from its settings, without the rules that are off. ``check_text`` runs the text rules in order and
stops at the first rejection (editing rules change the text and let the chain go on); ``check_model`` then runs the
model rule on what they left; ``evaluate`` is both. It reads the in-memory state and the scorer service but writes
nothing: the cog records what was posted (``remember_*``) when the message's echo arrives, and records cases and
suspensions for what was refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from bot.offload import run_off_loop
from bot.publisher import Decision, Verdict
from bot.scoring import ScorerState, TextAssessment, TextScorer
from cogs.moderator.config import ModeratorSettings
from cogs.moderator.rules import RULES, ModelRule
from domain import Room
from policy.moderation import (
    AuthorKind,
    History,
    MatchMode,
    Recent,
    reply_depth,
    spend,
)
from policy.moderation_duplicates import Payload, make_payload
from policy.moderation_rules import Subject, TextRule, run_text_rules
from policy.moderation_text import normalize, normalized_and_canonical
from policy.ratelimit import TokenBucket
from storage.moderation import RoomStateStore, message_hash
from storage.suspensions import Suspension

__all__ = [
    "ActiveSuspensions",
    "ModerationContext",
    "ModeratorService",
    "NoSuspensions",
    "Payload",
    "RulePlan",
]


class RulePlan:
    """A room's settings flattened for the hot path, read from the pydantic models once per room rather than
    attribute by attribute on every message: the rule objects of its chain, without the rules that are off (a rule
    that is off never objects, so leaving it out changes no decision), and what the context and the echo need."""

    __slots__ = ("enabled", "global_burst", "global_rate", "match", "model_rules", "near", "text_rules")

    def __init__(self, settings: ModeratorSettings) -> None:
        self.enabled = settings.enabled
        self.match: MatchMode = settings.duplicate.match
        self.near = self.match is MatchMode.NEAR
        cooldown = settings.cooldown
        # A cooldown that is off takes no tokens either (``remember_agent``): the rate reads as zero then.
        interval = cooldown.global_interval_seconds if cooldown.enabled else 0.0
        self.global_rate = 1.0 / interval if interval > 0 else 0.0
        self.global_burst = cooldown.global_burst
        text: list[TextRule[Any]] = []
        model: list[ModelRule[Any]] = []
        for name in settings.chain:
            cls = RULES[name]
            rule = cls.build(getattr(settings, cls.key) if cls.key is not None else None)
            if isinstance(rule, ModelRule):
                model.append(rule)
            elif isinstance(rule, TextRule):
                text.append(rule)
        self.text_rules: tuple[TextRule[Any], ...] = tuple(text)
        self.model_rules: tuple[ModelRule[Any], ...] = tuple(model)

    @property
    def chain(self) -> tuple[str, ...]:
        """The names of the rules that run, in order."""
        return tuple(rule.name for rule in (*self.text_rules, *self.model_rules))


class ModerationContext(NamedTuple):
    """Everything the rules look at for one agent message (immutable; a tuple because one is built per message)."""

    room: Room
    text: str
    at: float
    normalized: str
    payload: Payload
    history: History  # the room's recent messages, oldest first
    reply_to: str | None = None
    thread_id: str | None = None
    parent: Recent | None = None  # the message replied to, when the room still remembers it
    depth: int = 0
    plan: RulePlan | None = None  # the room's rules when the context was built (None: look them up)

    @property
    def replying_to_agent(self) -> str | None:
        return self.parent.author if self.parent is not None and self.parent.kind is AuthorKind.AGENT else None


class ActiveSuspensions(Protocol):
    """What the ``suspended`` rule reads: the core's ``SuspensionService`` (``ctx.suspensions``)."""

    def active(self, agent: str, room: Room, at: float) -> Suspension | None: ...

    def __len__(self) -> int: ...


class NoSuspensions:
    """No agent is suspended: the chain run outside a bot (benchmarks, rule tests); a running bot passes the core's
    ``SuspensionService``."""

    def active(self, agent: str, room: Room, at: float) -> Suspension | None:
        return None

    def __len__(self) -> int:
        return 0


_NO_SCORES: Mapping[str, float] = MappingProxyType({})
_PLAN_LIMIT = 200_000  # rooms with a plan at hand before the cache starts again (a plan is one dict entry a room)


class ModeratorService:
    """The rule chain and the hot state it reads. It is also the rules' ``RuleState`` (suspensions, cross-room
    buckets) and the model rules' ``ModelState`` (the scorer)."""

    def __init__(
        self,
        *,
        config: Callable[[Room], ModeratorSettings],
        state: RoomStateStore,
        suspensions: ActiveSuspensions,
        scorer: Callable[[], TextScorer | None] = lambda: None,
    ) -> None:
        self.config = config
        self.state = state
        self.suspensions = suspensions
        self.scorer = scorer
        # Room key -> its plan. A room's settings are fixed once the config is loaded, so the config (a pydantic
        # model per server and channel) is read once per room; rooms whose settings read the same share one plan.
        # (Plain dicts, cleared at the limit: ``plan`` runs on every message, and a cachetools LRUCache lookup
        # costs four times a dict's.)
        self._plans: dict[str, RulePlan] = {}
        self._shared_plans: dict[str, RulePlan] = {}
        self._last: tuple[Room, RulePlan] | None = None
        # The rules' lookups, bound once: each rule's check then costs one call, not two.
        self.suspension = suspensions.active  # type: ignore[method-assign]
        self.global_bucket = state.global_bucket  # type: ignore[method-assign]

    def plan(self, room: Room, room_key: str | None = None) -> RulePlan:
        """The room's ``RulePlan`` (``room_key``: ``room.key`` when the caller has it at hand)."""
        last = self._last
        if last is not None and last[0] is room:
            return last[1]  # the gate and then the echo of what it let through ask about the same room
        key = room.key if room_key is None else room_key
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_LIMIT:
                self._plans.clear()
                self._shared_plans.clear()
            settings = self.config(room)
            content = settings.model_dump_json()
            plan = self._shared_plans.get(content)
            if plan is None:
                plan = self._shared_plans[content] = RulePlan(settings)
            self._plans[key] = plan
        self._last = (room, plan)
        return plan

    def keep_plans(self, keep: Callable[[str], bool]) -> int:
        """Forget the plans of the rooms ``keep`` refuses (those the hot state evicted); return how many went."""
        before = len(self._plans)
        self._plans = {key: plan for key, plan in self._plans.items() if keep(key)}
        self._last = None
        if not self._plans:
            self._shared_plans.clear()
        return before - len(self._plans)

    # --- what the rules read (``RuleState``, ``ModelState``) -------------------------------------------------------

    def suspension(self, agent: str, room: Room, at: float) -> Suspension | None:
        """The suspension that holds ``agent`` in ``room`` at ``at`` (bound to the book's ``active`` at init)."""
        return self.suspensions.active(agent, room, at)

    def global_bucket(self, agent: str) -> TokenBucket | None:
        """The agent's cross-room bucket (bound to the store's ``global_bucket`` at init)."""
        return self.state.global_bucket(agent)

    # --- context -------------------------------------------------------------------------------------------------

    def payload(self, text: str, settings: ModeratorSettings, matching: str | None = None) -> Payload:
        """What the duplicate rule keeps of ``text`` (``matching``: its ``canonical(text)``, when the caller has
        it)."""
        return make_payload(text, settings.duplicate.match, matching)

    async def context_of(
        self, room: Room, text: str, at: float, *, reply_to: str | None = None, thread_id: str | None = None
    ) -> ModerationContext:
        """``context`` with the text normalised and made canonical in one pass, off the loop when it is long."""
        normalized, matching = await run_off_loop(normalized_and_canonical, text)
        return self.context(
            room, text, at, reply_to=reply_to, thread_id=thread_id, normalized=normalized, matching=matching
        )

    def context(
        self,
        room: Room,
        text: str,
        at: float,
        *,
        reply_to: str | None = None,
        thread_id: str | None = None,
        normalized: str | None = None,
        matching: str | None = None,
    ) -> ModerationContext:
        """What the rules read of a message; ``normalized``: its ``normalize(text)``, ``matching``: its
        ``canonical(text)`` (what duplicates are compared on), when the caller has them."""
        room_key = room.key
        plan = self.plan(room, room_key)
        history = self.state.recent(room_key)
        parent = history.find(message_hash(reply_to)) if reply_to is not None and history else None
        if normalized is None:
            normalized = normalize(text)
        payload = make_payload(text, plan.match, matching)
        return ModerationContext(
            room,
            text,
            at,
            normalized,
            payload,
            history,
            reply_to,
            thread_id,
            parent,
            reply_depth(reply_to, parent),
            plan,
        )

    # --- the chain -----------------------------------------------------------------------------------------------

    def check_text(self, agent: str, context: ModerationContext) -> Decision | Subject:
        """Run the text rules. A ``Decision`` is final (a rejection, moderation off here, or no model rule to run);
        a ``Subject`` (the text as the rules left it, and their edits) goes on to ``check_model``."""
        plan = context.plan if context.plan is not None else self.plan(context.room)
        if not plan.enabled:
            return Decision.approve(context.text, rule="pass", reason="moderation is off here")
        subject = Subject(agent, context)
        rejected = run_text_rules(plan.text_rules, subject, self)
        if rejected is not None:
            return Decision(Verdict.REJECT, rejected[0], rejected[1], subject.text, MappingProxyType({}))
        if not plan.model_rules:
            return _passed(subject, _NO_SCORES)
        return subject

    async def check_model(self, context: ModerationContext, subject: Subject) -> Decision:
        """Run the model rules on what the text rules left (``subject``): the whole chain's decision."""
        return await self.evaluate(subject.agent, context, subject)

    async def evaluate(self, agent: str, context: ModerationContext, subject: Subject | None = None) -> Decision:
        """The whole chain: the text rules (unless ``subject`` is what they left already), then the model rules.
        (The model rules run here rather than in a call of their own: this is every agent message's path.)"""
        if subject is None:
            checked = self.check_text(agent, context)
            if not isinstance(checked, Subject):
                return checked
            subject = checked
        plan = context.plan if context.plan is not None else self.plan(context.room)
        scores: Mapping[str, float] = _NO_SCORES
        for rule in plan.model_rules:
            scored = await rule.check(subject, self)
            if scored is None:
                continue
            scores = scored.scores
            if scored.reason is not None:
                return Decision(Verdict.REJECT, rule.name, scored.reason, subject.text, MappingProxyType(dict(scores)))
        return _passed(subject, scores)

    async def assess(self, text: str, room: Room, *, agent: bool, waited: float = 0.0) -> TextAssessment | None:
        """Ask the scorer service, when one runs and is not disabled; None otherwise. ``waited``: seconds the
        message waited before its listener ran (passed on only when above zero)."""
        scorer = self.scorer()
        if scorer is None or scorer.state is ScorerState.DISABLED:
            return None
        if waited > 0:
            return await scorer.assess(text, room, agent=agent, waited=waited)
        return await scorer.assess(text, room, agent=agent)

    # --- recording what was posted -----------------------------------------------------------------------------

    def remember_agent(
        self,
        room: Room,
        agent: str,
        message_id: str,
        at: float,
        *,
        reply_to: str | None,
        payload: Payload,
        depth: int | None = None,
    ) -> None:
        """Record an agent's posted message: its payload, its reply depth (computed unless the gate already did),
        and a token from the agent's cross-room bucket."""
        room_key = room.key
        plan = self.plan(room, room_key)
        if depth is None:
            parent = None
            if reply_to is not None:
                parent = self.state.recent(room_key).find(message_hash(reply_to))
            depth = reply_depth(reply_to, parent)
        self.state.remember(
            room_key,
            Recent(
                at,
                agent,
                AuthorKind.AGENT,
                message_hash(message_id),
                depth,
                payload.key,
                payload.sketch,
                payload.words,
                payload.length,
            ),
        )
        if plan.global_rate > 0:
            self.state.set_global_bucket(
                agent, spend(self.state.global_bucket(agent), at, plan.global_rate, plan.global_burst)
            )

    def remember_other(self, room: Room, message_id: str, at: float, kind: AuthorKind) -> None:
        """A human's message (which ends agent loops and reply chains) or a plain bot's."""
        self.state.remember(room.key, Recent(at, "", kind, message_hash(message_id), 0, 0, ()))


def _passed(subject: Subject, scores: Mapping[str, float]) -> Decision:
    """The decision on a message no rule rejected: an edit naming every editing rule, or an approval."""
    edits = subject.edits
    if edits:
        return Decision(
            Verdict.EDIT,
            "+".join(rule for rule, _ in edits),
            "; ".join(note for _, note in edits),
            subject.text,
            MappingProxyType(dict(scores)),
        )
    return Decision.approve(subject.text, scores=scores)
