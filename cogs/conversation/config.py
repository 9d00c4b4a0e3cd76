"""``[conversation]``: the conversation moderator's rules, thresholds and the optional LLM policy.

Every key can be overridden per server and per channel (``[servers."<id>".conversation]``). The LLM key is a
secret: set it with the environment variable ``STEWARD_CONVERSATION__LLM__API_KEY``.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from policy.conversation import DEFAULT_ACTION_ITEM_PATTERNS, Mode, Thresholds, compile_patterns

# id(section) -> (the section, its thresholds): the section is kept so that its id stays its own while cached
_THRESHOLDS: dict[int, tuple[ConversationSettings, Thresholds]] = {}
_THRESHOLD_FORMS = 256


class LlmPolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=False, description="Ask an OpenAI-compatible endpoint to propose actions too")
    base_url: str = Field(
        default="",
        description="The endpoint's base URL, e.g. http://127.0.0.1:8000/v1 (POST <base_url>/chat/completions)",
    )
    model: str = Field(default="", description="The model name sent with each request")
    api_key: SecretStr | None = Field(
        default=None, description="Bearer token; set it only with STEWARD_CONVERSATION__LLM__API_KEY"
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Give up on a request after this long")
    every_messages: int = Field(default=10, ge=1, description="Consult the endpoint after this many messages a room")
    max_actions: int = Field(default=3, ge=1, le=10, description="Proposals beyond this many in one answer are dropped")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.enabled and (not self.base_url.startswith(("http://", "https://")) or not self.model):
            raise ValueError("llm.enabled needs llm.base_url (http:// or https://) and llm.model")
        return self


class ConversationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    auto_actions: bool = Field(
        default=True, description="Let the moderator act on signals (modes set by commands are enforced either way)"
    )
    default_mode: Mode = Field(default=Mode.OPEN, description="The mode of a room nobody has set")
    window_messages: int = Field(default=20, ge=4, le=500, description="Recent messages the rules look at")
    idle_seconds: float = Field(default=1800.0, gt=0, description="Silence this long is an idle stretch")
    evict_after_seconds: float = Field(
        default=7200.0, gt=0, description="Forget a room's in-memory state after this long without a message"
    )
    sweep_seconds: float = Field(
        default=60.0, gt=0, description="How often the idle / unanswered-question sweep runs (an APScheduler job)"
    )
    max_rooms: int = Field(
        default=100_000, ge=1, description="Rooms with in-memory state before the least recently active is forgotten"
    )
    question_timeout_seconds: float = Field(default=600.0, gt=0, description="A question unanswered this long")
    action_item_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ACTION_ITEM_PATTERNS),
        description="Regular expressions (case-insensitive) that mark a TODO / action-item statement",
    )
    dominance_threshold: float = Field(
        default=0.7, gt=0, le=1, description="Agents' share of recent messages that switches the room to focused"
    )
    dominance_release: float = Field(
        default=0.4, ge=0, lt=1, description="Agents' share at which a dominance-driven focus is lifted"
    )
    dominance_min_messages: int = Field(default=8, ge=2, description="Recent messages needed before shares count")
    monopoly_threshold: float = Field(
        default=0.5, gt=0, le=1, description="One agent's share of recent messages that limits its rate and length"
    )
    monopoly_rate_per_minute: int = Field(default=2, ge=1, description="The rate an over-talking agent is held to")
    reply_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="What an agent's answer to a person weighs in shares and rates (an unprompted post weighs 1)",
    )
    brief_max_chars: int = Field(default=280, ge=20, description="The longest message an agent in brief style posts")
    conflict_threshold: float = Field(default=0.6, gt=0, le=1, description="Toxicity at which a message counts as hot")
    conflict_min_hot: int = Field(default=2, ge=1, description="Hot messages between two speakers that make a conflict")
    conflict_window_seconds: float = Field(default=300.0, gt=0, description="How far back a conflict is looked for")
    conflict_mode: Mode = Field(default=Mode.REVIEW, description="The mode a conflict between humans switches to")
    trend_drop: float = Field(
        default=0.4, gt=0, description="A sentiment fall (or anger rise) this large counts towards a conflict"
    )
    trend_falling_metrics: list[str] = Field(
        default_factory=lambda: ["sentiment"],
        description="TrendShifted metrics whose fall means the mood is souring",
    )
    trend_rising_metrics: list[str] = Field(
        default_factory=lambda: ["anger", "frustration", "toxicity"],
        description="TrendShifted metrics whose rise means the mood is souring",
    )
    revert_after_seconds: float = Field(
        default=900.0, ge=1, description="A conflict's mode switch schedules 'mode open' this much later"
    )
    topics: dict[str, list[str]] = Field(
        default_factory=dict, description="Agent name -> keywords it covers; a matching topic invites an absent agent"
    )
    topic_min_hits: int = Field(default=2, ge=1, description="Human messages on an agent's topic before it is invited")
    addressed_window_seconds: float = Field(
        default=600.0, gt=0, description="In focused mode, how long being addressed lets an agent answer"
    )
    debounce_evaluations: int = Field(
        default=2, ge=1, description="Consecutive evaluations a lasting condition must hold before it is acted on"
    )
    cooldown_seconds: float = Field(
        default=300.0, ge=0, description="After an action of a kind for a signal, wait this long before another"
    )
    invite_cooldown_seconds: float = Field(
        default=3600.0, ge=0, description="After inviting an agent to a room, wait this long before inviting it again"
    )
    human_override_seconds: float = Field(
        default=3600.0, ge=0, description="After a human sets the mode, the moderator leaves the mode alone this long"
    )
    schedulable_commands: list[str] = Field(
        default_factory=lambda: ["mode"], description="Commands the moderator may schedule"
    )
    llm: LlmPolicySettings = Field(default_factory=LlmPolicySettings, description="The optional LLM policy")

    @field_validator("action_item_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        compile_patterns(patterns)
        return patterns

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.dominance_release >= self.dominance_threshold:
            raise ValueError("dominance_release must be below dominance_threshold (else the mode would flap)")
        if self.evict_after_seconds < self.idle_seconds:
            raise ValueError("evict_after_seconds must be at least idle_seconds (an evicted room cannot go idle)")
        return self

    def retention_seconds(self) -> float:
        """How long a quiet room's state is kept: ``evict_after_seconds``, and never less than any window or
        cooldown the state is read for (so forgetting a room changes no decision)."""
        return max(
            self.evict_after_seconds,
            self.idle_seconds,
            self.question_timeout_seconds,
            self.conflict_window_seconds,
            self.addressed_window_seconds,
            self.cooldown_seconds,
            self.invite_cooldown_seconds,
        )

    def thresholds(self) -> Thresholds:
        """The rules' thresholds; made once per section object (a room without overrides shares its section)."""
        made = _THRESHOLDS.get(id(self))
        if made is not None and made[0] is self:
            return made[1]
        if len(_THRESHOLDS) >= _THRESHOLD_FORMS:
            _THRESHOLDS.clear()
        thresholds = self._thresholds()
        _THRESHOLDS[id(self)] = (self, thresholds)
        return thresholds

    def _thresholds(self) -> Thresholds:
        return Thresholds(
            window_messages=self.window_messages,
            idle_seconds=self.idle_seconds,
            question_timeout_seconds=self.question_timeout_seconds,
            dominance_threshold=self.dominance_threshold,
            dominance_release=self.dominance_release,
            dominance_min_messages=self.dominance_min_messages,
            monopoly_threshold=self.monopoly_threshold,
            monopoly_rate_per_minute=self.monopoly_rate_per_minute,
            reply_weight=self.reply_weight,
            conflict_threshold=self.conflict_threshold,
            conflict_min_hot=self.conflict_min_hot,
            conflict_window_seconds=self.conflict_window_seconds,
            conflict_mode=self.conflict_mode,
            trend_drop=self.trend_drop,
            trend_falling_metrics=frozenset(self.trend_falling_metrics),
            trend_rising_metrics=frozenset(self.trend_rising_metrics),
            topic_min_hits=self.topic_min_hits,
            revert_after_seconds=self.revert_after_seconds,
        )
