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
from typing import NamedTuple

from bot.publisher import Decision, Verdict
from bot.scoring import ScorerState, TextAssessment, TextScorer
from bot.types import Room
from cogs.moderator.config import ModeratorSettings
from policy.moderation import (
    AuthorKind,
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
from storage.moderation import RoomStateStore, Suspension, message_hash


class Payload(NamedTuple):
    """What the duplicate rule keeps of a text: a key of its matching form and, for near matching, a sketch."""

    key: int
    sketch: tuple[int, ...] = ()


class ModerationContext(NamedTuple):
    """Everything the rules look at for one agent message (immutable; a tuple because one is built per message)."""

    room: Room
    text: str
    at: float
    normalized: str
    payload: Payload
    history: tuple[Recent, ...]  # the room's recent messages, oldest first
    reply_to: str | None = None
    thread_id: str | None = None
    parent: Recent | None = None  # the message replied to, when the room still remembers it
    depth: int = 0

    @property
    def replying_to_agent(self) -> str | None:
        return self.parent.author if self.parent is not None and self.parent.kind is AuthorKind.AGENT else None


class SuspensionBook:
    """The open suspensions, in memory for the hot path (the database is the source of truth; loaded at start)."""

    def __init__(self) -> None:
        self._by_agent: dict[str, dict[int, Suspension]] = {}

    def load(self, suspensions: list[Suspension]) -> None:
        self._by_agent.clear()
        for suspension in suspensions:
            self.add(suspension)

    def add(self, suspension: Suspension) -> None:
        self._by_agent.setdefault(suspension.agent, {})[suspension.id] = suspension

    def remove(self, suspension_id: int) -> Suspension | None:
        for agent, held in list(self._by_agent.items()):
            found = held.pop(suspension_id, None)
            if found is not None:
                if not held:
                    del self._by_agent[agent]
                return found
        return None

    def active(self, agent: str, room: Room, at: float) -> Suspension | None:
        held = self._by_agent.get(agent)
        if not held:
            return None
        server = server_key(room)
        for suspension in held.values():
            if suspension.covers(server, room.key, at):
                return suspension
        return None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_agent.values())


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
        suspensions: SuspensionBook,
        scorer: Callable[[], TextScorer | None] = lambda: None,
    ) -> None:
        self.config = config
        self.state = state
        self.suspensions = suspensions
        self.scorer = scorer

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
        settings = self.config(room)
        history = tuple(self.state.history(room.key))
        parent = None
        if reply_to is not None:
            wanted = message_hash(reply_to)
            parent = next((e for e in reversed(history) if e.message == wanted), None)
        normalized = normalize(text)
        return ModerationContext(
            room=room,
            text=text,
            at=at,
            normalized=normalized,
            payload=self.payload(text, normalized, settings),
            history=history,
            reply_to=reply_to,
            thread_id=thread_id,
            parent=parent,
            depth=reply_depth(reply_to, parent),
        )

    # --- the chain -----------------------------------------------------------------------------------------------

    async def evaluate(self, agent: str, context: ModerationContext) -> Decision:
        settings = self.config(context.room)
        if not settings.enabled:
            return Decision.approve(context.text, rule="pass", reason="moderation is off here")
        text = context.text
        edits: list[tuple[str, str]] = []
        scores: Mapping[str, float] = {}
        for rule in settings.chain:
            reason: str | None = None
            if rule == "suspended":
                suspension = self.suspensions.active(agent, context.room, context.at)
                if suspension is not None:
                    where = "in this room" if suspension.room else "in this server"
                    reason = f"suspended {where} until {_when(suspension.until)}: {suspension.reason}"
            elif rule == "cooldown" and settings.cooldown.enabled:
                reason = self._cooldown(agent, context, settings)
            elif rule == "duplicate" and settings.duplicate.enabled:
                dup = settings.duplicate
                reason = duplicate_reason(
                    author=agent,
                    key=context.payload.key,
                    sketch=context.payload.sketch,
                    at=context.at,
                    history=context.history,
                    window=dup.window_seconds,
                    any_agent=dup.any_agent,
                    near_threshold=dup.near_threshold,
                    mode=dup.match,
                )
            elif rule == "loop" and settings.loop.enabled:
                reason = loop_reason(
                    author=agent,
                    replying_to_agent=context.replying_to_agent,
                    at=context.at,
                    history=context.history,
                    max_exchanges=settings.loop.max_exchanges,
                    window=settings.loop.window_seconds,
                )
            elif rule == "depth" and settings.depth.enabled:
                reason = depth_reason(context.depth, settings.depth.max_depth)
            elif rule == "filters" and settings.filters.enabled:
                filters = compile_filters(settings.filters.words, settings.filters.patterns)
                if not filters.empty:
                    hit = filters.find(context.normalized if text == context.text else normalize(text))
                    if hit is not None:
                        reason = filter_reason(hit)
                        if settings.filters.agent_action == "edit":
                            masked = filters.mask(text, settings.filters.mask_char)
                            if masked is not None:
                                edits.append((rule, f"masked: {reason}"))
                                text, reason = masked, None
            elif rule == "mentions" and settings.mentions.action != "allow":
                found = find_mass_mentions(text)
                if found:
                    reason = f"mass mention {', '.join(sorted(set(found)))}"
                    if settings.mentions.action == "edit":
                        edits.append((rule, f"defused {reason}"))
                        text, reason = strip_mass_mentions(text), None
            elif rule == "length":
                limit = settings.length.limits.get(context.room.platform)
                if limit is not None and len(text) > limit:
                    reason = f"{len(text)} characters, over the {context.room.platform} limit of {limit}"
                    if settings.length.action == "edit":
                        edits.append((rule, f"cut: {reason}"))
                        text, reason = cut_to_limit(text, limit), None
            elif rule == "toxicity" and settings.toxicity.enabled:
                assessment = await self.assess(text, context.room, agent=True)
                if assessment is not None:
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

    def _cooldown(self, agent: str, context: ModerationContext, settings: ModeratorSettings) -> str | None:
        cfg = settings.cooldown
        mine = [e.at for e in context.history if e.kind is AuthorKind.AGENT and e.author == agent]
        if mine and cfg.room_interval_seconds > 0:
            level = replayed_level(mine, context.at, cfg.room_interval_seconds, cfg.room_burst)
            reason = cooldown_reason(level, cfg.room_interval_seconds, cfg.room_burst, "in this room")
            if reason is not None:
                return reason
        if cfg.global_interval_seconds > 0:
            level = bucket_level(
                self.state.global_bucket(agent), context.at, cfg.global_interval_seconds, cfg.global_burst
            )
            return cooldown_reason(level, cfg.global_interval_seconds, cfg.global_burst, "across rooms")
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
        settings = self.config(room)
        if depth is None:
            parent = None
            if reply_to is not None:
                wanted = message_hash(reply_to)
                parent = next((e for e in reversed(self.state.history(room.key)) if e.message == wanted), None)
            depth = reply_depth(reply_to, parent)
        self.state.remember(
            room.key,
            Recent(at, agent, AuthorKind.AGENT, message_hash(message_id), depth, payload.key, payload.sketch),
        )
        cfg = settings.cooldown
        if cfg.enabled and cfg.global_interval_seconds > 0:
            self.state.set_global_bucket(
                agent,
                bucket_take(self.state.global_bucket(agent), at, cfg.global_interval_seconds, cfg.global_burst),
            )

    def remember_other(self, room: Room, message_id: str, at: float, kind: AuthorKind) -> None:
        """A human's message (which ends agent loops and reply chains) or a plain bot's."""
        self.state.remember(room.key, Recent(at, "", kind, message_hash(message_id), 0, 0, ()))
