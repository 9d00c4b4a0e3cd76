"""Room sentiment arithmetic: a message's polarity class, window summaries, the moving average, and trend-shift
detection.

Pure functions over plain values (no I/O, no clock): the sentiment cog feeds them the scores it keeps per room.
A window holds scores, never text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import NamedTuple

EMOTIONS: tuple[str, ...] = ("anger", "frustration", "joy", "confusion")

# The per-room trend follows these window metrics.
TREND_METRICS: tuple[str, ...] = ("sentiment", "joy", "anger", "frustration", "confusion", "toxicity", "rate")
# Metrics whose shift is judged relative to the average (a rate doubling), not by an absolute distance.
RELATIVE_METRICS: frozenset[str] = frozenset({"rate"})

KIND_HUMAN, KIND_AGENT, KIND_BOT = 0, 1, 2

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
POLARITIES: tuple[str, ...] = (NEGATIVE, NEUTRAL, POSITIVE)
# An emotion whose intensity reaches this is one the message shows (``1 - exp(-raw)``: a raw weight of ln 2).
EMOTION_PRESENT = 0.5


@dataclass(frozen=True, slots=True)
class PolarityCutoffs:
    """Where a compound score stops being neutral: ``compound <= negative`` is negative, ``>= positive`` positive."""

    negative: float
    positive: float

    def __post_init__(self) -> None:
        if not -1.0 <= self.negative < self.positive <= 1.0:
            raise ValueError(f"cut-offs must satisfy -1 <= negative < positive <= 1, got {self}")


# VADER's documented cut-offs, for plain VADER's compound.
VADER_CUTOFFS = PolarityCutoffs(-0.05, 0.05)
# Steward's, for the chat-aware compound: chosen by ``python -m benchmarks.eval_sentiment --tune`` as the pair with
# the best 3-class macro-F1 on the tuning split of ``benchmarks/data/chat_sentiment.jsonl``.
CHAT_CUTOFFS = PolarityCutoffs(-0.20, 0.25)


def polarity(compound: float, cutoffs: PolarityCutoffs = CHAT_CUTOFFS) -> str:
    """The 3-class reading of a compound score: ``negative``, ``neutral`` or ``positive``."""
    if compound <= cutoffs.negative:
        return NEGATIVE
    if compound >= cutoffs.positive:
        return POSITIVE
    return NEUTRAL


class Sample(NamedTuple):
    """The scores of one message: what a window remembers of it.

    A NamedTuple rather than a frozen dataclass: windows rebuild these each time one closes, and a tuple is made
    several times faster, which is most of the window upkeep's cost.
    """

    at: float
    author: int  # a hash of the author's key; enough to count distinct speakers
    kind: int = KIND_HUMAN
    compound: float = 0.0
    pos: float = 0.0
    neg: float = 0.0
    anger: float = 0.0
    frustration: float = 0.0
    joy: float = 0.0
    confusion: float = 0.0
    toxicity: float | None = None
    words: int = 0
    gap: float | None = None  # seconds since the previous message by someone else (reply latency)


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """A window of one room in numbers. Feelings (sentiment, emotions, toxicity) are the means over the humans'
    messages; engagement (rate, speakers, latency, length) counts everyone."""

    start: float
    end: float
    messages: int
    humans: int
    sentiment: float = 0.0
    joy: float = 0.0
    anger: float = 0.0
    frustration: float = 0.0
    confusion: float = 0.0
    toxicity: float | None = None
    rate: float = 0.0  # messages per minute
    speakers: int = 0
    latency: float | None = None
    length: float = 0.0  # mean words a message

    def metric(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)

    def as_dict(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


EMPTY_SUMMARY_FIELDS = tuple(f.name for f in fields(WindowSummary))


def _mean(total: float, count: int) -> float:
    return total / count if count else 0.0


def summarise(samples: Iterable[Sample], *, start: float | None = None, end: float | None = None) -> WindowSummary:
    """Summarise a window's samples. ``start``/``end`` default to the first and last sample's time; the message
    rate is taken over ``end - start`` (at least one second)."""
    n = humans = 0
    s_sent = s_joy = s_anger = s_frus = s_conf = s_tox = s_gap = 0.0
    n_tox = n_gap = words = 0
    speakers: set[int] = set()
    first = last = None
    for sample in samples:
        n += 1
        if first is None or sample.at < first:
            first = sample.at
        if last is None or sample.at > last:
            last = sample.at
        speakers.add(sample.author)
        words += sample.words
        if sample.gap is not None:
            s_gap += sample.gap
            n_gap += 1
        if sample.kind != KIND_HUMAN:
            continue
        humans += 1
        s_sent += sample.compound
        s_joy += sample.joy
        s_anger += sample.anger
        s_frus += sample.frustration
        s_conf += sample.confusion
        if sample.toxicity is not None:
            s_tox += sample.toxicity
            n_tox += 1
    begin = start if start is not None else (first if first is not None else 0.0)
    finish = end if end is not None else (last if last is not None else begin)
    return WindowSummary(
        start=begin,
        end=finish,
        messages=n,
        humans=humans,
        sentiment=_mean(s_sent, humans),
        joy=_mean(s_joy, humans),
        anger=_mean(s_anger, humans),
        frustration=_mean(s_frus, humans),
        confusion=_mean(s_conf, humans),
        toxicity=s_tox / n_tox if n_tox else None,
        rate=n * 60.0 / max(finish - begin, 1.0),
        speakers=len(speakers),
        latency=s_gap / n_gap if n_gap else None,
        length=_mean(words, n),
    )


def ema(previous: float | None, value: float | None, alpha: float) -> float | None:
    """One step of an exponential moving average; an unknown value leaves it as it was."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
    if value is None or not math.isfinite(value):
        return previous
    if previous is None:
        return value
    return alpha * value + (1.0 - alpha) * previous


def ema_update(
    previous: Mapping[str, float | None] | None, summary: WindowSummary, alpha: float
) -> dict[str, float | None]:
    """The room's moving average after ``summary`` closed. Windows without a human say nothing of feelings:
    only the message rate moves then."""
    before = previous or {}
    out: dict[str, float | None] = {}
    for name in TREND_METRICS:
        value = summary.metric(name)
        if summary.humans == 0 and name != "rate":
            value = None
        out[name] = ema(before.get(name), value, alpha)
    return out


@dataclass(frozen=True, slots=True)
class Shift:
    metric: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


def detect_shifts(
    baseline: Mapping[str, float | None] | None,
    summary: WindowSummary,
    thresholds: Mapping[str, float],
) -> list[Shift]:
    """The metrics of a closed window that moved significantly away from the room's average before it.

    Absolute metrics shift when ``|after - before| >= threshold``; relative ones (the rate) when the change is at
    least ``threshold`` times the average (floored at one message a minute, so a quiet room's first burst of two
    messages is not a shift).
    """
    if not baseline:
        return []
    shifts = []
    for name in TREND_METRICS:
        threshold = thresholds.get(name)
        before = baseline.get(name)
        after = summary.metric(name)
        if threshold is None or before is None or after is None:
            continue
        if summary.humans == 0 and name != "rate":
            continue
        if name in RELATIVE_METRICS:
            moved = abs(after - before) / max(abs(before), 1.0) >= threshold
        else:
            moved = abs(after - before) >= threshold
        if moved:
            shifts.append(Shift(name, before, after))
    return shifts
