"""The ``[moderator]`` section. Every key can be overridden per server (``[servers."<id>".moderator]``) and per
channel (``[servers."<id>".channels."<id>".moderator]``).

The agent rules' sections (``duplicate``, ``cooldown`` ...) are their rule classes' config models
(``policy.moderation_settings``, ``cogs.moderator.rules``); a registered rule whose section is not declared here
gets its section all the same (``_with_rule_sections``), so adding a rule needs no edit here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, create_model, field_validator, model_validator

from cogs.moderator.rules import DEFAULT_CHAIN, RULES, ToxicityRuleSettings, chain_problem
from policy.moderation import LadderStep
from policy.moderation_links import LinkSettings
from policy.moderation_mentions import MentionSettings
from policy.moderation_settings import (
    CooldownSettings,
    DepthSettings,
    DuplicateSettings,
    FilterSettings,
    LengthSettings,
    LoopSettings,
)
from policy.moderation_settings import SectionModel as _Model

__all__ = [
    "CooldownSettings",
    "DepthSettings",
    "DuplicateSettings",
    "EscalationSettings",
    "FilterSettings",
    "HumanSettings",
    "LadderStepSettings",
    "LengthSettings",
    "LinkSettings",
    "LoopSettings",
    "MentionSettings",
    "ModeratorSettings",
    "StateSettings",
    "ToxicityRuleSettings",
    "lookback_seconds",
]


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
    idle_room_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="A room silent this long is forgotten (never before the longest window its rules read has passed)",
    )
    sweep_seconds: float = Field(default=60.0, gt=0, description="How often idle rooms are looked for and evicted")


class ModeratorSettings(_Model):
    enabled: bool = Field(default=True, description="Moderate this server/channel at all")
    log_only: bool = Field(
        default=False,
        description="Record every would-be action as a case flagged log_only, but approve agents and act on no one",
    )
    chain: tuple[str, ...] = Field(default=DEFAULT_CHAIN, description="The agent rules, in the order they run")
    duplicate: DuplicateSettings = Field(default_factory=DuplicateSettings, description="Duplicate payloads")
    cooldown: CooldownSettings = Field(default_factory=CooldownSettings, description="Per-agent cooldowns")
    loop: LoopSettings = Field(default_factory=LoopSettings, description="Agent-to-agent loops")
    depth: DepthSettings = Field(default_factory=DepthSettings, description="Agent reply depth")
    filters: FilterSettings = Field(default_factory=FilterSettings, description="Word and regex filters")
    mentions: MentionSettings = Field(default_factory=MentionSettings, description="Mass mentions, mention spam")
    links: LinkSettings = Field(default_factory=LinkSettings, description="Disguised links, domain lists")
    length: LengthSettings = Field(default_factory=LengthSettings, description="Platform length limits")
    toxicity: ToxicityRuleSettings = Field(default_factory=ToxicityRuleSettings, description="The model rule")
    escalation: EscalationSettings = Field(default_factory=EscalationSettings, description="Agent suspensions")
    humans: HumanSettings = Field(default_factory=HumanSettings, description="After-the-fact moderation")
    state: StateSettings = Field(default_factory=StateSettings, description="In-memory rule state")

    @field_validator("chain")
    @classmethod
    def _known_rules(cls, chain: tuple[str, ...]) -> tuple[str, ...]:
        problem = chain_problem(chain)
        if problem is not None:
            raise ValueError(problem)
        return chain

    @model_validator(mode="after")
    def _history_covers_rules(self) -> ModeratorSettings:
        if self.loop.enabled and self.loop.max_exchanges >= self.state.history_size:
            raise ValueError(
                f"loop.max_exchanges ({self.loop.max_exchanges}) must be below state.history_size "
                f"({self.state.history_size}): the room history must hold the exchanges it counts"
            )
        return self


def lookback_seconds(settings: ModeratorSettings) -> float:
    """The furthest back any rule of ``settings`` reads the hot state: a room or an agent's counters quiet for
    longer than this can be forgotten without changing a decision (a forgotten bucket is a full one)."""
    cooldown = settings.cooldown
    return max(
        settings.duplicate.window_seconds,
        settings.loop.window_seconds,
        settings.escalation.window_seconds,
        cooldown.room_burst * cooldown.room_interval_seconds,
        cooldown.global_burst * cooldown.global_interval_seconds,
    )


def _with_rule_sections(model: type[ModeratorSettings]) -> type[ModeratorSettings]:
    """``model`` with a section for every registered rule that has settings but no field above (typed fields for
    the rules that ship; a new rule's section comes from the registry alone)."""
    missing: dict[str, Any] = {
        rule.key: (rule.settings, Field(default_factory=rule.settings, description=f"The {rule.name} rule"))
        for rule in RULES.values()
        if rule.key is not None and rule.settings is not None and rule.key not in model.model_fields
    }
    if not missing:
        return model
    return create_model(model.__name__, __base__=model, __module__=model.__module__, **missing)


if not TYPE_CHECKING:
    ModeratorSettings = _with_rule_sections(ModeratorSettings)
