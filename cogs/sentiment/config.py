"""The ``[sentiment]`` config section: windows, trends, implicit and explicit feedback, forwarding, suggestions.

Every key may be overridden per server and per channel (``[servers."<id>".channels."<id>".sentiment]``); a room's
window size is read when its window is created.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_REACTIONS: dict[str, float] = {
    # Discord sends the emoji itself; Slack sends its short name (with or without the colons).
    "👍": 0.5,
    "+1": 0.5,
    "thumbsup": 0.5,
    "❤️": 0.7,
    "❤": 0.7,
    "heart": 0.7,
    "🎉": 0.6,
    "tada": 0.6,
    "🙏": 0.5,
    "pray": 0.5,
    "😂": 0.3,
    "joy": 0.3,
    "✅": 0.4,
    "white_check_mark": 0.4,
    "👎": -0.5,
    "-1": -0.5,
    "thumbsdown": -0.5,
    "😕": -0.3,
    "confused": -0.3,
    "😡": -0.7,
    "rage": -0.7,
    "angry": -0.7,
    "❌": -0.4,
    "x": -0.4,
}


CONFIGS_KEPT = 256  # tables derived from one config object, kept at most (rooms without overrides share one)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ShiftThresholds(_Model):
    """How far a closed window must move away from the room's moving average to be reported as a trend shift."""

    sentiment: float = Field(default=0.35, gt=0, le=2, description="Absolute change of the mean VADER compound")
    joy: float = Field(default=0.3, gt=0, le=1, description="Absolute change of mean joy intensity")
    anger: float = Field(default=0.3, gt=0, le=1, description="Absolute change of mean anger intensity")
    frustration: float = Field(default=0.3, gt=0, le=1, description="Absolute change of mean frustration intensity")
    confusion: float = Field(default=0.3, gt=0, le=1, description="Absolute change of mean confusion intensity")
    toxicity: float = Field(default=0.3, gt=0, le=1, description="Absolute change of the mean toxicity score")
    rate: float = Field(
        default=1.0, gt=0, description="Relative change of messages per minute (1.0 = doubled or dropped to zero)"
    )

    def as_mapping(self) -> dict[str, float]:
        return self.model_dump()


class RewardWeights(_Model):
    """How much each signal of the human responses after an agent spoke moves its reward."""

    sentiment: float = Field(default=0.5, ge=0, description="Weight of the change in mean VADER compound")
    joy: float = Field(default=0.6, ge=0, description="Weight of the rise in joy")
    anger: float = Field(default=0.6, ge=0, description="Weight of the rise in anger (negative)")
    frustration: float = Field(default=0.6, ge=0, description="Weight of the rise in frustration (negative)")
    confusion: float = Field(default=0.5, ge=0, description="Weight of the rise in confusion (negative)")
    toxicity: float = Field(default=0.8, ge=0, description="Weight of the responses' mean toxicity (negative)")
    engagement: float = Field(default=0.3, ge=0, description="Weight of the change in message rate and speakers")
    left: float = Field(default=0.5, ge=0, description="Weight of each person who left the room (negative)")


class FeedbackSettings(_Model):
    implicit: bool = Field(default=True, description="Derive rewards for agents from the human messages that follow")
    neutral_band: float = Field(
        default=0.08, ge=0, lt=1, description="Rewards with an absolute value below this are neutral: no event"
    )
    min_responses: int = Field(
        default=1, ge=1, le=100, description="Human responses needed before a reward is computed (leaving counts)"
    )
    max_open_turns: int = Field(
        default=8, ge=1, le=64, description="Agent turns per room awaiting responses; the oldest closes early"
    )
    weights: RewardWeights = Field(default_factory=RewardWeights, description="Reward signal weights")
    reactions: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_REACTIONS),
        description="Emoji (or Slack short name) -> reward for a human's reaction on an agent's message",
    )
    recent_agent_messages: int = Field(
        default=5000, ge=10, le=1_000_000, description="Agent message ids remembered to attribute reactions"
    )

    @field_validator("reactions")
    @classmethod
    def _rewards_in_range(cls, table: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in table.items() if not (math.isfinite(v) and -1.0 <= v <= 1.0)}
        if bad:
            raise ValueError(f"reaction rewards must lie in [-1, 1], got {bad}")
        return {k.strip().strip(":"): v for k, v in table.items()}


class WebhookSettings(_Model):
    url: str | None = Field(
        default=None, description="POST every stored feedback event as JSON to this URL (None: no forwarding)"
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=120, description="Timeout of one POST")
    max_attempts: int = Field(default=3, ge=1, le=10, description="Attempts per event before it is given up")
    backoff_seconds: float = Field(default=0.5, ge=0, le=60, description="First retry delay; doubles each retry")
    queue_size: int = Field(default=1000, ge=1, le=100_000, description="Events waiting to be sent; beyond: dropped")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook URL must start with http:// or https://, got {url!r}")
        return url


class SuggestionSettings(_Model):
    enabled: bool = Field(default=True, description="Offer to invite an agent whose topics the room is discussing")
    topics: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Agent -> topic keywords; used when no agent directory service is loaded",
    )
    min_matches: int = Field(
        default=2, ge=1, le=100, description="Recent messages (within the window) that must match an agent's topics"
    )
    cooldown_seconds: float = Field(default=600.0, ge=0, description="At most one suggestion per room in this time")
    agent_cooldown_seconds: float = Field(
        default=3600.0, ge=0, description="The same agent is not suggested again in the same room within this time"
    )
    directory_refresh_seconds: float = Field(
        default=60.0, gt=0, description="How long the agent directory's topics are cached"
    )


class SentimentSettings(_Model):
    enabled: bool = Field(default=True, description="Read this room's sentiment (per-channel switch)")
    window_messages: int = Field(default=10, ge=1, le=1000, description="Window size N: the last N messages")
    window_seconds: float = Field(default=30.0, gt=0, le=86_400, description="Window span T: the last T seconds")
    idle_evict_seconds: float = Field(
        default=600.0, gt=0, description="A room silent this long loses its window (and trend) from memory"
    )
    sweep_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often expired windows and turns are closed and idle rooms evicted"
    )
    max_rooms: int = Field(
        default=100_000, ge=1, description="Rooms held in memory at most; the least recently active is evicted"
    )
    ema_alpha: float = Field(default=0.3, gt=0, le=1, description="Weight of the newest window in the moving average")
    min_windows_for_shift: int = Field(
        default=2, ge=1, le=100, description="Windows a room must have closed before shifts are reported"
    )
    shift_thresholds: ShiftThresholds = Field(default_factory=ShiftThresholds, description="Trend shift thresholds")
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings, description="Implicit and explicit feedback")
    webhook: WebhookSettings = Field(default_factory=WebhookSettings, description="Forwarding of feedback events")
    suggestions: SuggestionSettings = Field(default_factory=SuggestionSettings, description="Agent suggestions")


_SHIFT_THRESHOLDS: dict[int, tuple[SentimentSettings, dict[str, float]]] = {}


def shift_thresholds_of(cfg: SentimentSettings) -> dict[str, float]:
    """The shift thresholds of a config as a plain mapping, made once per config object."""
    cached = _SHIFT_THRESHOLDS.get(id(cfg))
    if cached is None or cached[0] is not cfg:
        if len(_SHIFT_THRESHOLDS) >= CONFIGS_KEPT:
            _SHIFT_THRESHOLDS.clear()  # configs are shared per section (bot.config); many mean many overrides
        cached = _SHIFT_THRESHOLDS[id(cfg)] = (cfg, cfg.shift_thresholds.as_mapping())
    return cached[1]
