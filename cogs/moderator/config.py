"""The ``[moderator]`` section. Every key can be overridden per server (``[servers."<id>".moderator]``) and per
channel (``[servers."<id>".channels."<id>".moderator]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policy.moderation import LadderStep, MatchMode, check_pattern

RULES = ("suspended", "cooldown", "duplicate", "loop", "depth", "filters", "mentions", "length", "toxicity")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DuplicateSettings(_Model):
    enabled: bool = Field(default=True, description="Reject an agent repeating a payload in a room")
    window_seconds: float = Field(default=600.0, gt=0, description="How far back a repeat counts")
    match: MatchMode = Field(
        default=MatchMode.NEAR,
        description="exact | case_insensitive | normalized (NFKC, zero-width removed, whitespace folded, "
        "confusables mapped) | near (normalized, or similar above near_threshold)",
    )
    near_threshold: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="For 'near': estimated Jaccard similarity of the word shingles (words and word pairs)",
    )
    any_agent: bool = Field(default=False, description="Also reject a payload another agent posted in the room")


class CooldownSettings(_Model):
    enabled: bool = Field(default=True, description="Token-bucket rate limit per agent")
    room_interval_seconds: float = Field(
        default=2.0, ge=0, description="In one room: one message per this many seconds after the burst"
    )
    room_burst: int = Field(default=3, ge=1, description="In one room: messages allowed back to back")
    global_interval_seconds: float = Field(
        default=0.5, ge=0, description="Across all rooms: one message per this many seconds after the burst"
    )
    global_burst: int = Field(default=10, ge=1, description="Across all rooms: messages allowed back to back")


class LoopSettings(_Model):
    enabled: bool = Field(default=True, description="Reject agents replying to each other with no human turn")
    max_exchanges: int = Field(default=6, ge=1, description="Agent-to-agent exchanges allowed (K)")
    window_seconds: float = Field(default=600.0, gt=0, description="Within this window (W)")


class DepthSettings(_Model):
    enabled: bool = Field(default=True, description="Reject agent reply chains that grow too deep")
    max_depth: int = Field(default=5, ge=1, description="Deepest agent reply chain without human input (D)")


class FilterSettings(_Model):
    enabled: bool = Field(default=True, description="Apply the word and pattern filters")
    words: tuple[str, ...] = Field(default=(), description="Filtered words/phrases (whole words, normalised)")
    patterns: tuple[str, ...] = Field(
        default=(), description="RE2 regular expressions matched against the normalised (lower-case) text"
    )
    agent_action: Literal["reject", "edit"] = Field(
        default="reject", description="Agents: reject the message, or edit it by masking what matched"
    )
    mask_char: str = Field(default="*", min_length=1, max_length=1, description="The masking character")

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        problems = []
        for position, pattern in enumerate(patterns):
            problem = check_pattern(pattern)
            if problem is not None:
                problems.append(f"patterns[{position}] {pattern!r} is not a valid RE2 expression: {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        return patterns

    @field_validator("words")
    @classmethod
    def _words_not_blank(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        blank = [i for i, w in enumerate(words) if not w.strip()]
        if blank:
            raise ValueError(f"words{blank} are blank")
        return words


class MentionSettings(_Model):
    action: Literal["edit", "reject", "allow"] = Field(
        default="edit", description="Agents' mass mentions (@everyone, @here, <!channel>): strip, reject or allow"
    )


class LengthSettings(_Model):
    action: Literal["edit", "reject"] = Field(
        default="edit", description="An agent message over the platform's limit: cut it, or reject it"
    )
    limits: dict[str, int] = Field(
        default_factory=lambda: {"discord": 2000, "slack": 40000},
        description="Maximum message length in characters by platform (platforms not listed: no limit)",
    )

    @field_validator("limits")
    @classmethod
    def _positive(cls, limits: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in limits.items() if v < 10}
        if bad:
            raise ValueError(f"limits must be at least 10 characters, got {bad}")
        return limits


class ToxicityRuleSettings(_Model):
    enabled: bool = Field(default=True, description="Ask the text scorer service (when one runs) about each message")


class EscalationSettings(_Model):
    enabled: bool = Field(default=True, description="Suspend an agent after repeated rejections")
    rejections: int = Field(default=5, ge=1, description="Rejections (N) ...")
    window_seconds: float = Field(default=600.0, gt=0, description="... within this window (T) ...")
    suspend_seconds: float = Field(default=3600.0, gt=0, description="... suspend for this long (D)")
    scope: Literal["room", "server"] = Field(default="room", description="Count and suspend per room or per server")


class LadderStepSettings(_Model):
    points: float = Field(gt=0, description="Points at which this step applies")
    action: Literal["warn", "timeout"] = Field(description="warn (a DM) or timeout")
    seconds: int = Field(default=0, ge=0, le=28 * 24 * 3600, description="Timeout length")

    @model_validator(mode="after")
    def _timeout_has_length(self) -> LadderStepSettings:
        if self.action == "timeout" and self.seconds <= 0:
            raise ValueError("a timeout step needs seconds > 0")
        return self

    def step(self) -> LadderStep:
        return LadderStep(self.points, self.action, self.seconds)


class HumanSettings(_Model):
    enabled: bool = Field(default=True, description="Moderate humans' messages after the fact")
    delete: bool = Field(default=True, description="Delete a human message that trips a filter or the model")
    exempt_roles: tuple[str, ...] = Field(default=(), description="Role ids/names never moderated")
    exempt_users: tuple[str, ...] = Field(default=(), description="User ids never moderated")
    points_per_violation: float = Field(default=1.0, gt=0, description="Warning points a violation adds")
    decay_points_per_hour: float = Field(default=0.25, ge=0, description="How fast warning points fade")
    ladder: tuple[LadderStepSettings, ...] = Field(
        default=(
            LadderStepSettings(points=1, action="warn"),
            LadderStepSettings(points=3, action="timeout", seconds=600),
            LadderStepSettings(points=5, action="timeout", seconds=86400),
        ),
        description="The warning ladder: the highest step the points reach applies",
    )


class StateSettings(_Model):
    """Read from the top-level ``[moderator.state]`` only: the state store is one per process."""

    history_size: int = Field(
        default=12, ge=2, le=256, description="Recent messages remembered per room (duplicates, loops, depth)"
    )
    max_rooms: int = Field(default=100_000, ge=1, description="Rooms kept in memory before the idlest is evicted")
    idle_room_seconds: float = Field(default=3600.0, gt=0, description="A room silent this long is forgotten")


class ModeratorSettings(_Model):
    enabled: bool = Field(default=True, description="Moderate this server/channel at all")
    log_only: bool = Field(
        default=False,
        description="Record every would-be action as a case flagged log_only, but approve agents and act on no one",
    )
    chain: tuple[str, ...] = Field(default=RULES, description="The agent rules, in the order they run")
    duplicate: DuplicateSettings = Field(default_factory=DuplicateSettings, description="Duplicate payloads")
    cooldown: CooldownSettings = Field(default_factory=CooldownSettings, description="Per-agent cooldowns")
    loop: LoopSettings = Field(default_factory=LoopSettings, description="Agent-to-agent loops")
    depth: DepthSettings = Field(default_factory=DepthSettings, description="Agent reply depth")
    filters: FilterSettings = Field(default_factory=FilterSettings, description="Word and regex filters")
    mentions: MentionSettings = Field(default_factory=MentionSettings, description="Mass mentions")
    length: LengthSettings = Field(default_factory=LengthSettings, description="Platform length limits")
    toxicity: ToxicityRuleSettings = Field(default_factory=ToxicityRuleSettings, description="The model rule")
    escalation: EscalationSettings = Field(default_factory=EscalationSettings, description="Agent suspensions")
    humans: HumanSettings = Field(default_factory=HumanSettings, description="After-the-fact moderation")
    state: StateSettings = Field(default_factory=StateSettings, description="In-memory rule state")

    @field_validator("chain")
    @classmethod
    def _known_rules(cls, chain: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in chain if r not in RULES]
        if unknown:
            raise ValueError(f"unknown rule(s) {unknown}; known rules: {list(RULES)}")
        if len(set(chain)) != len(chain):
            raise ValueError("a rule is listed twice")
        return chain

    @model_validator(mode="after")
    def _history_covers_rules(self) -> ModeratorSettings:
        if self.loop.enabled and self.loop.max_exchanges >= self.state.history_size:
            raise ValueError(
                f"loop.max_exchanges ({self.loop.max_exchanges}) must be below state.history_size "
                f"({self.state.history_size}): the room history must hold the exchanges it counts"
            )
        return self
