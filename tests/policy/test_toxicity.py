"""The toxicity policy: thresholds and actions per label, chunk aggregation, chunk selection."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.toxicity import (
    LABELS,
    AgentActions,
    HumanActions,
    LabelThresholds,
    judge,
    known_labels,
    max_over_chunks,
    spread_indices,
    unavailable_action,
)

THRESHOLDS = LabelThresholds().as_dict()


def test_nothing_crossed_means_no_action() -> None:
    scores = dict.fromkeys(LABELS, 0.1)
    result = judge(scores, THRESHOLDS, AgentActions().as_dict())
    assert result.label is None and result.action is None and result.reason == ""


def test_a_crossed_label_gives_its_agent_action_and_a_readable_reason() -> None:
    scores = {"toxicity": 0.91, "insult": 0.2}
    result = judge(scores, THRESHOLDS, AgentActions().as_dict())
    assert (result.label, result.action) == ("toxicity", "reject")
    assert result.reason == "toxicity 0.91 >= 0.80"


def test_the_threshold_itself_counts_as_crossed() -> None:
    result = judge({"threat": 0.6}, THRESHOLDS, AgentActions().as_dict())
    assert result.action == "reject"


def test_the_most_severe_action_wins_over_the_highest_score() -> None:
    actions = HumanActions(toxicity="warn", threat="timeout").as_dict()
    scores = {"toxicity": 0.99, "threat": 0.61, "obscene": 0.95}
    result = judge(scores, THRESHOLDS, actions)
    assert (result.label, result.action) == ("threat", "timeout")
    assert set(result.crossed) == {"toxicity", "threat", "obscene"}
    assert "also" in result.reason


def test_between_equal_actions_the_label_furthest_over_wins() -> None:
    scores = {"toxicity": 0.85, "insult": 0.99}
    result = judge(scores, THRESHOLDS, AgentActions().as_dict())
    assert result.label == "insult"


def test_ignored_labels_and_labels_the_model_lacks_are_not_judged() -> None:
    actions = AgentActions(toxicity="ignore").as_dict()
    assert judge({"toxicity": 1.0}, THRESHOLDS, actions).action is None
    # The original model has no sexual_explicit: nothing to cross.
    assert judge({"toxicity": 0.1}, THRESHOLDS, AgentActions().as_dict()).action is None


def test_a_log_action_still_names_the_label() -> None:
    result = judge({"obscene": 0.9}, THRESHOLDS, AgentActions(obscene="log").as_dict())
    assert (result.label, result.action) == ("obscene", "log")


def test_a_nan_score_never_crosses() -> None:
    assert judge({"toxicity": math.nan}, THRESHOLDS, AgentActions().as_dict()).action is None


@pytest.mark.parametrize(
    ("mode", "agent", "expected"),
    [("open", True, None), ("closed", True, "reject"), ("open", False, None), ("closed", False, None)],
)
def test_unavailable_model_follows_fail_mode_for_agents_only(mode, agent, expected) -> None:
    assert unavailable_action(mode, agent=agent) == expected


def test_chunks_aggregate_to_the_max_per_label() -> None:
    merged = max_over_chunks([{"toxicity": 0.1, "insult": 0.7}, {"toxicity": 0.9, "insult": 0.2}])
    assert merged == {"toxicity": 0.9, "insult": 0.7}
    with pytest.raises(ValueError):
        max_over_chunks([])


@given(count=st.integers(min_value=1, max_value=500), limit=st.integers(min_value=1, max_value=64))
def test_spread_indices_keeps_the_ends_and_the_limit(count: int, limit: int) -> None:
    picked = spread_indices(count, limit)
    assert picked == sorted(set(picked))
    assert len(picked) == min(count, limit)
    assert picked[0] == 0
    if limit > 1:
        assert picked[-1] == count - 1
    assert all(0 <= i < count for i in picked)


def test_known_labels_keeps_steward_order_and_drops_unknown() -> None:
    assert known_labels(["insult", "toxicity", "made_up"]) == ("toxicity", "insult")


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError):
        LabelThresholds(toxicity=1.5)
    with pytest.raises(ValueError):
        AgentActions(toxicity="delete")
