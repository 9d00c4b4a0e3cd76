"""The agent rules' settings sections (``[moderator.duplicate]``, ``[moderator.cooldown]`` ...): one pydantic model
a rule, each the config model of its rule class in ``policy.moderation_rules``. Validation only: no I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from policy.moderation import MatchMode, check_pattern


class SectionModel(BaseModel):
    """Every moderator section: unknown keys are errors (naming the key), and a loaded section never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DuplicateSettings(SectionModel):
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
        description="For 'near': a message with more than this share of an earlier one's words alike "
        "(normalized Indel similarity over the words of the canonical texts) is a near-duplicate",
    )
    any_agent: bool = Field(default=False, description="Also reject a payload another agent posted in the room")


class CooldownSettings(SectionModel):
    enabled: bool = Field(default=True, description="Token-bucket rate limit per agent")
    room_interval_seconds: float = Field(
        default=2.0, ge=0, description="In one room: one message per this many seconds after the burst"
    )
    room_burst: int = Field(default=3, ge=1, description="In one room: messages allowed back to back")
    global_interval_seconds: float = Field(
        default=0.5, ge=0, description="Across all rooms: one message per this many seconds after the burst"
    )
    global_burst: int = Field(default=10, ge=1, description="Across all rooms: messages allowed back to back")


class LoopSettings(SectionModel):
    enabled: bool = Field(default=True, description="Reject agents replying to each other with no human turn")
    max_exchanges: int = Field(default=6, ge=1, description="Agent-to-agent exchanges allowed (K)")
    window_seconds: float = Field(default=600.0, gt=0, description="Within this window (W)")


class DepthSettings(SectionModel):
    enabled: bool = Field(default=True, description="Reject agent reply chains that grow too deep")
    max_depth: int = Field(default=5, ge=1, description="Deepest agent reply chain without human input (D)")


class FilterSettings(SectionModel):
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


class LengthSettings(SectionModel):
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
