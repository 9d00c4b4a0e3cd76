"""policy.feedback: rewards from the room's response, attribution to agent turns, reaction tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.feedback import (
    ResponseStats,
    TurnRef,
    attribute,
    normalise_emoji,
    reaction_reward,
    reaction_table,
    reward,
)
from policy.sentiment import WindowSummary

WEIGHTS = {"sentiment": 0.5, "joy": 0.6, "anger": 0.6, "frustration": 0.6, "confusion": 0.5, "toxicity": 0.8,
           "engagement": 0.3, "left": 0.5}  # fmt: skip
BEFORE = WindowSummary(start=0.0, end=30.0, messages=3, humans=3, sentiment=0.0, rate=6.0, frustration=0.1)


def test_joy_after_the_agent_is_positive():
    after = ResponseStats(messages=2, speakers=2, span=20.0, sentiment=0.7, joy=0.8)
    r = reward(BEFORE, after, WEIGHTS)
    assert r is not None and r.value > 0.5
    assert r.emotion == "joy" and r.intensity == pytest.approx(0.8)
    assert set(r.signals) >= {"joy", "sentiment"}


def test_frustration_and_confusion_are_negative():
    after = ResponseStats(messages=2, speakers=1, span=20.0, sentiment=-0.4, frustration=0.9, confusion=0.6)
    r = reward(BEFORE, after, WEIGHTS)
    assert r is not None and r.value < -0.5
    assert r.emotion == "frustration" and r.intensity == pytest.approx(0.9)


def test_relief_of_frustration_is_positive():
    tense = WindowSummary(start=0.0, end=30.0, messages=3, humans=3, sentiment=-0.5, frustration=0.9, rate=6.0)
    after = ResponseStats(messages=1, speakers=1, span=30.0, sentiment=0.1, frustration=0.1)
    r = reward(tense, after, WEIGHTS)
    assert r is not None and r.value > 0 and r.emotion in ("frustration", "sentiment")


def test_toxicity_and_leaving_are_negative():
    toxic = reward(BEFORE, ResponseStats(messages=1, speakers=1, span=30.0, toxicity=0.9), WEIGHTS)
    assert toxic is not None and toxic.emotion == "toxicity" and toxic.value < -0.5
    gone = reward(BEFORE, ResponseStats(messages=0, speakers=0, span=30.0, left=2), WEIGHTS)
    assert gone is not None and gone.emotion == "left" and gone.value == pytest.approx(-0.5)


def test_rising_engagement_is_positive_on_its_own():
    quiet = WindowSummary(start=0.0, end=30.0, messages=1, humans=1, rate=2.0)
    busy = ResponseStats(messages=6, speakers=4, span=30.0)  # 12 a minute, neutral words
    r = reward(quiet, busy, WEIGHTS)
    assert r is not None and r.emotion == "engagement" and r.value == pytest.approx(0.3)


def test_a_quieter_room_is_not_held_against_the_agent():
    busy = WindowSummary(start=0.0, end=30.0, messages=10, humans=10, rate=20.0)
    assert reward(busy, ResponseStats(messages=1, speakers=1, span=30.0), WEIGHTS) is None


def test_neutral_and_silence_give_nothing():
    assert reward(BEFORE, ResponseStats(messages=3, speakers=2, span=30.0, frustration=0.1), WEIGHTS) is None
    assert reward(BEFORE, ResponseStats(messages=0, speakers=0, span=30.0), WEIGHTS) is None
    few = ResponseStats(messages=1, speakers=1, span=30.0, joy=0.9)
    assert reward(BEFORE, few, WEIGHTS, min_responses=2) is None


unit = st.floats(0.0, 1.0)


@given(
    st.integers(0, 50), st.floats(-1, 1), unit, unit, unit, unit, st.one_of(st.none(), unit), st.integers(0, 5),
    st.floats(0.0, 600.0),
)  # fmt: skip
def test_rewards_always_lie_in_range(n, sent, joy, anger, frus, conf, tox, left, span):
    after = ResponseStats(messages=n, speakers=min(n, 3), span=span, sentiment=sent, joy=joy, anger=anger,
                          frustration=frus, confusion=conf, toxicity=tox, left=left)  # fmt: skip
    r = reward(BEFORE, after, WEIGHTS)
    if r is not None:
        assert -1.0 <= r.value <= 1.0 and 0.0 <= r.intensity <= 1.0 and abs(r.value) >= 0.08


def test_attribution_rules():
    turns = [TurnRef("helper", "m1"), TurnRef("scout", "m2"), TurnRef("helper", "m3")]
    assert attribute(turns) == 2  # the most recent agent
    assert attribute(turns, reply_to="m2", reply_to_agent="scout") == 1
    assert attribute(turns, reply_to="m1", reply_to_agent="helper") == 0  # that very message
    assert attribute(turns, reply_to="old", reply_to_agent="scout") == 1  # the agent's latest turn
    assert attribute(turns, reply_to="h9") is None  # a reply to someone else: a side conversation
    assert attribute(turns, reply_to="h9", reply_to_agent="nobody") is None
    assert attribute(turns, mentions=("scout",)) == 1
    assert attribute(turns, mentions=("someone",)) == 2
    assert attribute([]) is None


def test_reaction_tables_normalise_emoji_and_names():
    table = reaction_table({"👍": 0.5, ":+1:": 0.5, "❤️": 0.7, "thumbsdown": -0.5})
    assert reaction_reward("👍🏾", table) == 0.5
    assert reaction_reward("+1::skin-tone-4", table) == 0.5
    assert reaction_reward("❤", table) == 0.7  # without the variation selector
    assert reaction_reward(":THUMBSDOWN:", table) == -0.5
    assert reaction_reward("🦄", table) is None
    assert normalise_emoji(" :tada: ") == "tada"
