"""policy.sentiment: window summaries, the moving average and trend-shift detection."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.sentiment import KIND_AGENT, KIND_BOT, Sample, WindowSummary, detect_shifts, ema, ema_update, summarise

THRESHOLDS = {"sentiment": 0.35, "joy": 0.3, "anger": 0.3, "frustration": 0.3, "confusion": 0.3, "toxicity": 0.3,
              "rate": 1.0}  # fmt: skip


def test_summary_of_an_empty_window():
    s = summarise([], start=10.0, end=40.0)
    assert (s.messages, s.humans, s.speakers, s.sentiment, s.toxicity, s.latency) == (0, 0, 0, 0.0, None, None)
    assert s.rate == 0.0


def test_summary_means_feelings_over_people_and_engagement_over_everyone():
    samples = [
        Sample(at=0.0, author=1, compound=0.6, joy=0.8, toxicity=0.1, words=4),
        Sample(at=10.0, author=2, kind=KIND_AGENT, compound=-1.0, anger=1.0, words=20, gap=10.0),
        Sample(at=20.0, author=1, compound=0.2, joy=0.4, confusion=0.5, words=6, gap=10.0),
        Sample(at=30.0, author=3, kind=KIND_BOT, compound=-1.0, words=10, gap=10.0),
    ]
    s = summarise(samples)
    assert (s.start, s.end, s.messages, s.humans, s.speakers) == (0.0, 30.0, 4, 2, 3)
    assert s.sentiment == pytest.approx(0.4)
    assert s.joy == pytest.approx(0.6) and s.anger == 0.0 and s.confusion == pytest.approx(0.25)
    assert s.toxicity == pytest.approx(0.1)  # only the message the moderator scored
    assert s.rate == pytest.approx(8.0)  # four messages in thirty seconds
    assert s.latency == pytest.approx(10.0)
    assert s.length == pytest.approx(10.0)


def test_rate_is_taken_over_at_least_one_second():
    s = summarise([Sample(at=5.0, author=1), Sample(at=5.0, author=2)])
    assert s.rate == pytest.approx(120.0)


def test_ema_steps():
    assert ema(None, 0.4, 0.3) == 0.4
    assert ema(1.0, 0.0, 0.25) == pytest.approx(0.75)
    assert ema(0.5, None, 0.3) == 0.5
    assert ema(0.5, math.nan, 0.3) == 0.5
    with pytest.raises(ValueError):
        ema(0.5, 0.2, 0.0)


@given(st.lists(st.floats(-1, 1), min_size=1, max_size=50), st.floats(0.01, 1.0))
def test_ema_stays_within_what_it_has_seen(values, alpha):
    avg = None
    for v in values:
        avg = ema(avg, v, alpha)
        assert min(values) - 1e-9 <= avg <= max(values) + 1e-9


def test_ema_update_ignores_feelings_of_windows_without_people():
    first = ema_update(None, WindowSummary(start=0, end=30, messages=2, humans=2, sentiment=0.5, rate=4.0), 0.5)
    assert first["sentiment"] == 0.5 and first["toxicity"] is None
    agents_only = WindowSummary(start=30, end=60, messages=4, humans=0, sentiment=0.0, rate=8.0)
    second = ema_update(first, agents_only, 0.5)
    assert second["sentiment"] == 0.5 and second["rate"] == pytest.approx(6.0)


def summary(**kw) -> WindowSummary:
    base = dict(start=0.0, end=30.0, messages=5, humans=5)
    base.update(kw)
    return WindowSummary(**base)


def test_shifts_absolute_and_relative():
    baseline = {"sentiment": 0.4, "joy": 0.5, "anger": 0.0, "frustration": 0.1, "confusion": 0.0,
                "toxicity": None, "rate": 10.0}  # fmt: skip
    calm = summary(sentiment=0.3, joy=0.45, frustration=0.2, toxicity=0.9, rate=15.0)
    assert detect_shifts(baseline, calm, THRESHOLDS) == []  # toxicity has no baseline yet
    stormy = summary(sentiment=-0.2, anger=0.5, joy=0.1, rate=25.0)
    got = {s.metric: (s.before, s.after) for s in detect_shifts(baseline, stormy, THRESHOLDS)}
    assert got == {"sentiment": (0.4, -0.2), "anger": (0.0, 0.5), "joy": (0.5, 0.1), "rate": (10.0, 25.0)}
    assert detect_shifts(None, stormy, THRESHOLDS) == []


def test_a_quiet_rooms_small_burst_is_not_a_rate_shift():
    baseline = {"rate": 0.2}
    assert detect_shifts(baseline, summary(rate=1.1), THRESHOLDS) == []  # floored at one a minute
    assert [s.metric for s in detect_shifts(baseline, summary(rate=2.5), THRESHOLDS)] == ["rate"]


def test_windows_without_people_only_shift_the_rate():
    baseline = {"sentiment": 0.8, "rate": 2.0}
    agents = summary(humans=0, sentiment=-0.9, rate=10.0)
    assert [s.metric for s in detect_shifts(baseline, agents, THRESHOLDS)] == ["rate"]
