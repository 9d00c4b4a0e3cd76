"""``ModeratorService``: the rule chain over an agent's message and the room's hot state.

``evaluate(agent, context)`` runs the configured rules in order and stops at the first rejection; editing rules
(masking a filtered word, defusing mass mentions, cutting to the platform's limit) change the text and let the
chain go on. It reads the in-memory state and the scorer service but writes nothing: the cog records what was
posted (``remember_*``) when the message's echo arrives, and records cases and suspensions for what was refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import NamedTuple, Protocol

from bot.publisher import Decision, Verdict
from bot.scoring import ScorerState, TextAssessment, TextScorer
from cogs.moderator.config import ModeratorSettings
from domain import Room
from policy.moderation import (
    AuthorKind,
    CompiledFilters,
    History,
    MatchMode,
    Recent,
    bucket_level,
    bucket_take,
    compile_filters,
    cooldown_reason,
    cut_to_limit,
    depth_reason,
    duplicate_reason,
    filter_reason,
    find_mass_mentions,
    loop_reason,
    payload_form,
    replayed_level,
    reply_depth,
    strip_mass_mentions,
)
from policy.moderation_text import normalize, shingle_sketch
from storage.moderation import RoomStateStore, message_hash
from storage.suspensions import Suspension


class Payload(NamedTuple):
    """What the duplicate rule keeps of a text: a key of its matching form and, for near matching, a sketch."""

    key: int
    sketch: tuple[int, ...] = ()


class RulePlan:
    """A room's settings flattened for the hot path: what each rule needs, read from the pydantic models once per
    room rather than attribute by attribute on every message, and the chain without the rules that are off (a rule
    that is off never objects, so leaving it out changes no decision)."""

    __slots__ = (
        "chain",
        "dup_any_agent",
        "dup_threshold",
        "dup_window",
        "enabled",
        "filters",
        "filters_edit",
        "global_burst",
        "global_interval",
        "length_edit",
        "length_limits",
        "loop_max",
        "loop_window",
        "mask_char",
        "match",
        "max_depth",
        "mentions_edit",
        "near",
        "room_burst",
        "room_interval",
    )

    def __init__(self, settings: ModeratorSettings) -> None:
        self.enabled = settings.enabled
        dup, cooldown, loop, filters = settings.duplicate, settings.cooldown, settings.loop, settings.filters
        self.match = dup.match
        self.near = dup.match is MatchMode.NEAR
        self.dup_window = dup.window_seconds
        self.dup_any_agent = dup.any_agent
        self.dup_threshold = dup.near_threshold
        # A cooldown that is off takes no tokens either (``remember_agent``): both intervals read as zero then.
        self.room_interval = cooldown.room_interval_seconds if cooldown.enabled else 0.0
        self.room_burst = cooldown.room_burst
        self.global_interval = cooldown.global_interval_seconds if cooldown.enabled else 0.0
        self.global_burst = cooldown.global_burst
        self.loop_max = loop.max_exchanges
        self.loop_window = loop.window_seconds
        self.max_depth = settings.depth.max_depth
        compiled: CompiledFilters | None = None
        if filters.enabled:
            compiled = compile_filters(filters.words, filters.patterns)
        self.filters = compiled if compiled is not None and not compiled.empty else None
        self.filters_edit = filters.agent_action == "edit"
        self.mask_char = filters.mask_char
        self.mentions_edit = settings.mentions.action == "edit"
        self.length_limits: Mapping[str, int] = settings.length.limits
        self.length_edit = settings.length.action == "edit"
        active = {
            "suspended": True,
            "cooldown": cooldown.enabled,
            "duplicate": dup.enabled,
            "loop": loop.enabled,
            "depth": settings.depth.enabled,
            "filters": self.filters is not None,
            "mentions": settings.mentions.action != "allow",
            "length": bool(self.length_limits),
            "toxicity": settings.toxicity.enabled,
        }
        self.chain: tuple[str, ...] = tuple(rule for rule in settings.chain if active[rule])


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


_NO_SCORES: Mapping[str, float] = MappingProxyType({})
_PLAN_LIMIT = 200_000  # rooms with a plan at hand before the cache starts again (a plan is one dict entry a room)


def server_key(room: Room) -> str:
    """Cases and suspensions are kept per server; ids of different platforms must not meet."""
    return f"{room.platform}:{room.server}"


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class ModeratorService:
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
        self._plans: dict[str, RulePlan] = {}
        self._shared_plans: dict[str, RulePlan] = {}
        self._last: tuple[Room, RulePlan] | None = None

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

    # --- context -------------------------------------------------------------------------------------------------

    def payload(self, text: str, normalized: str, settings: ModeratorSettings) -> Payload:
        mode = settings.duplicate.match
        key = hash(payload_form(text, normalized, mode)) or 1
        return Payload(key, shingle_sketch(normalized) if mode is MatchMode.NEAR else ())

    def context(
        self,
        room: Room,
        text: str,
        at: float,
        *,
        reply_to: str | None = None,
        thread_id: str | None = None,
    ) -> ModerationContext:
        room_key = room.key
        plan = self.plan(room, room_key)
        history = self.state.recent(room_key)
        parent = history.find(message_hash(reply_to)) if reply_to is not None and history else None
        normalized = normalize(text)
        mode = plan.match
        payload = Payload(
            hash(payload_form(text, normalized, mode)) or 1, shingle_sketch(normalized) if plan.near else ()
        )
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

    async def evaluate(self, agent: str, context: ModerationContext) -> Decision:
        plan = context.plan if context.plan is not None else self.plan(context.room)
        if not plan.enabled:
            return Decision.approve(context.text, rule="pass", reason="moderation is off here")
        text = context.text
        edits: list[tuple[str, str]] = []
        scores: Mapping[str, float] = _NO_SCORES
        for rule in plan.chain:
            reason: str | None = None
            if rule == "suspended":
                suspension = self.suspensions.active(agent, context.room, context.at) if self.suspensions else None
                if suspension is not None:
                    where = "in this room" if suspension.room else "in this server"
                    reason = f"suspended {where} until {_when(suspension.until)}: {suspension.reason}"
            elif rule == "cooldown":
                reason = self._cooldown(agent, context, plan)
            elif rule == "duplicate":
                if context.history:
                    reason = duplicate_reason(
                        author=agent,
                        key=context.payload.key,
                        sketch=context.payload.sketch,
                        at=context.at,
                        history=context.history,
                        window=plan.dup_window,
                        any_agent=plan.dup_any_agent,
                        near_threshold=plan.dup_threshold,
                        mode=plan.match,
                    )
            elif rule == "loop":
                if context.history:
                    reason = loop_reason(
                        author=agent,
                        replying_to_agent=context.replying_to_agent,
                        at=context.at,
                        history=context.history,
                        max_exchanges=plan.loop_max,
                        window=plan.loop_window,
                    )
            elif rule == "depth":
                if context.depth > plan.max_depth:
                    reason = depth_reason(context.depth, plan.max_depth)
            elif rule == "filters":
                filters = plan.filters
                assert filters is not None  # (the plan leaves the rule out without filters)
                hit = filters.find(context.normalized if text is context.text else normalize(text))
                if hit is not None:
                    reason = filter_reason(hit)
                    if plan.filters_edit:
                        masked = filters.mask(text, plan.mask_char)
                        if masked is not None:
                            edits.append((rule, f"masked: {reason}"))
                            text, reason = masked, None
            elif rule == "mentions":
                found = find_mass_mentions(text)
                if found:
                    reason = f"mass mention {', '.join(sorted(set(found)))}"
                    if plan.mentions_edit:
                        edits.append((rule, f"defused {reason}"))
                        text, reason = strip_mass_mentions(text), None
            elif rule == "length":
                limit = plan.length_limits.get(context.room.platform)
                if limit is not None and len(text) > limit:
                    reason = f"{len(text)} characters, over the {context.room.platform} limit of {limit}"
                    if plan.length_edit:
                        edits.append((rule, f"cut: {reason}"))
                        text, reason = cut_to_limit(text, limit), None
            elif rule == "toxicity":
                scorer = self.scorer()
                if scorer is not None and scorer.state is not ScorerState.DISABLED:
                    assessment = await scorer.assess(text, context.room, agent=True)
                    scores = assessment.scores
                    if assessment.action is not None:
                        reason = assessment.reason or f"the model flagged it ({assessment.label or 'toxicity'})"
            if reason is not None:
                return Decision(Verdict.REJECT, rule, reason, text, MappingProxyType(dict(scores)))
        if edits:
            return Decision(
                Verdict.EDIT,
                "+".join(rule for rule, _ in edits),
                "; ".join(note for _, note in edits),
                text,
                MappingProxyType(dict(scores)),
            )
        return Decision.approve(text, scores=scores)

    def _cooldown(self, agent: str, context: ModerationContext, plan: RulePlan) -> str | None:
        interval = plan.room_interval
        if interval > 0 and context.history:
            history, agent_kind = context.history, AuthorKind.AGENT
            # Each message takes at most one token from a bucket that starts full, so fewer messages than the
            # burst always leave one: the replay can only refuse once the agent has posted ``burst`` of them.
            authors = history.author
            if authors.count(agent) >= plan.room_burst:
                kinds, times = history.kind, history.at
                mine = [times[i] for i, name in enumerate(authors) if name == agent and kinds[i] == agent_kind]
                level = replayed_level(mine, context.at, interval, plan.room_burst)
                reason = cooldown_reason(level, interval, plan.room_burst, "in this room")
                if reason is not None:
                    return reason
        interval = plan.global_interval
        if interval > 0:
            bucket = self.state.global_bucket(agent)
            if bucket is None or bucket.tokens >= 1.0:
                return None  # a token is left (the level only grows from there): no need to work out the refill
            level = bucket_level(bucket, context.at, interval, plan.global_burst)
            return cooldown_reason(level, interval, plan.global_burst, "across rooms")
        return None

    async def assess(self, text: str, room: Room, *, agent: bool) -> TextAssessment | None:
        """Ask the scorer service, when one runs and is not disabled; None otherwise."""
        scorer = self.scorer()
        if scorer is None or scorer.state is ScorerState.DISABLED:
            return None
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
            Recent(at, agent, AuthorKind.AGENT, message_hash(message_id), depth, payload.key, payload.sketch),
        )
        if plan.global_interval > 0:
            self.state.set_global_bucket(
                agent, bucket_take(self.state.global_bucket(agent), at, plan.global_interval, plan.global_burst)
            )

    def remember_other(self, room: Room, message_id: str, at: float, kind: AuthorKind) -> None:
        """A human's message (which ends agent loops and reply chains) or a plain bot's."""
        self.state.remember(room.key, Recent(at, "", kind, message_hash(message_id), 0, 0, ()))
