"""Reward rules: how the room's response to an agent's message becomes a reward in [-1, 1].

Pure functions over plain values. The sentiment cog gathers, per agent turn, the human messages that follow the
agent's message (``ResponseStats``) and the room's window just before it spoke (a ``WindowSummary``); ``reward``
compares the two. Explicit reactions map through a configured emoji table (``reaction_reward``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from policy.sentiment import WindowSummary

# signal -> the sign it carries into the reward
SIGNALS: tuple[str, ...] = ("sentiment", "joy", "anger", "frustration", "confusion", "toxicity", "engagement", "left")

# A quiet room's rate is floored at this many messages a minute, so one reply is not "engagement tripled".
RATE_FLOOR_PER_MINUTE = 2.0


def clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    if math.isnan(value):
        raise ValueError("cannot clamp NaN")
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class ResponseStats:
    """The human messages attributed to one agent turn, as means (no text)."""

    messages: int
    speakers: int
    span: float  # seconds from the agent's message to the turn's close
    sentiment: float = 0.0
    joy: float = 0.0
    anger: float = 0.0
    frustration: float = 0.0
    confusion: float = 0.0
    toxicity: float | None = None
    left: int = 0  # people who left the room during the turn

    @property
    def rate(self) -> float:
        return self.messages * 60.0 / max(self.span, 1.0)


@dataclass(frozen=True, slots=True)
class Reward:
    value: float
    emotion: str  # the signal that weighed most in the reward's direction
    intensity: float  # how strong that signal was, in [0, 1]
    signals: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


def signals(before: WindowSummary | None, after: ResponseStats) -> dict[str, float]:
    """Each signal in [-1, 1], signed so that positive is good for the agent."""
    felt = before is not None and before.humans > 0
    b = {e: (getattr(before, e) if felt else 0.0) for e in ("sentiment", "joy", "anger", "frustration", "confusion")}
    b_rate = before.rate if before is not None and before.messages else 0.0
    out = {name: 0.0 for name in SIGNALS}
    if after.messages:
        out["sentiment"] = clamp(after.sentiment - b["sentiment"])
        out["joy"] = clamp(after.joy - b["joy"])
        out["anger"] = clamp(-(after.anger - b["anger"]))
        out["frustration"] = clamp(-(after.frustration - b["frustration"]))
        out["confusion"] = clamp(-(after.confusion - b["confusion"]))
        out["toxicity"] = clamp(-(after.toxicity or 0.0))
        # Only a rise counts: a room going quieter after an agent spoke is too common to blame the agent for.
        out["engagement"] = clamp(max(0.0, (after.rate - b_rate) / max(b_rate, RATE_FLOOR_PER_MINUTE)))
    out["left"] = -min(1.0, float(after.left))
    return out


def _intensity(name: str, signal: float, after: ResponseStats) -> float:
    if name in ("joy", "anger", "frustration", "confusion"):
        return float(getattr(after, name))
    if name == "toxicity":
        return float(after.toxicity or 0.0)
    return abs(signal)


def reward(
    before: WindowSummary | None,
    after: ResponseStats,
    weights: Mapping[str, float],
    *,
    neutral_band: float = 0.08,
    min_responses: int = 1,
) -> Reward | None:
    """The reward for an agent's turn, or None when the room's response was neutral (or there was none)."""
    if after.messages < min_responses and after.left == 0:
        return None
    parts = signals(before, after)
    contributions = {name: weights.get(name, 0.0) * value for name, value in parts.items()}
    value = clamp(sum(contributions.values()))
    if abs(value) < neutral_band:
        return None
    sign = 1.0 if value > 0 else -1.0
    dominant = max(contributions, key=lambda name: contributions[name] * sign)
    return Reward(
        value=round(value, 4),
        emotion=dominant,
        intensity=round(clamp(_intensity(dominant, parts[dominant], after), 0.0, 1.0), 4),
        signals=MappingProxyType({k: round(v, 4) for k, v in contributions.items() if v}),
    )


@dataclass(frozen=True, slots=True)
class TurnRef:
    agent: str
    message_id: str


def attribute(
    turns: Sequence[TurnRef],
    *,
    reply_to: str | None = None,
    reply_to_agent: str | None = None,
    mentions: Sequence[str] = (),
) -> int | None:
    """Which open agent turn (index into ``turns``, oldest first) a human message answers.

    A reply to an agent's message goes to that turn; a reply to an agent (message no longer open) or a mention
    goes to that agent's latest turn; a reply to someone else is a side conversation and goes to nobody;
    anything else answers the most recent agent to speak.
    """
    if not turns:
        return None
    if reply_to is not None:
        for index in range(len(turns) - 1, -1, -1):
            if turns[index].message_id == reply_to:
                return index
    if reply_to_agent is not None:
        for index in range(len(turns) - 1, -1, -1):
            if turns[index].agent == reply_to_agent:
                return index
        return None
    if mentions:
        named = set(mentions)
        for index in range(len(turns) - 1, -1, -1):
            if turns[index].agent in named:
                return index
    if reply_to is not None:
        return None
    return len(turns) - 1


_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))


def normalise_emoji(emoji: str) -> str:
    """``:+1:``, ``+1``, ``👍🏽`` and ``👍`` (with or without the variation selector) all compare alike."""
    text = unicodedata.normalize("NFC", emoji.strip()).strip(":").lower()
    if "::skin-tone-" in text:  # Slack: "+1::skin-tone-3"
        text = text.split("::", 1)[0]
    return "".join(ch for ch in text if ch != "\ufe0f" and ch not in _SKIN_TONES)


def reaction_table(table: Mapping[str, float]) -> dict[str, float]:
    return {normalise_emoji(key): float(value) for key, value in table.items() if normalise_emoji(key)}


def reaction_reward(emoji: str, table: Mapping[str, float]) -> float | None:
    """The reward a reaction gives (``table`` from ``reaction_table``), or None for an emoji that means nothing."""
    value = table.get(normalise_emoji(emoji))
    return None if value is None else clamp(value)
