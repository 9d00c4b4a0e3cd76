"""Toxicity policy: per-label thresholds and actions, turned into one judgement for one text.

Pure: plain functions over plain data (scores in, a judgement out). The scores come from a Detoxify model; which
labels exist depends on the model (``sexual_explicit`` only in ``unbiased`` and ``multilingual``), so a label the
model does not produce is simply never crossed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Detoxify's label names, after its own standardisation (toxic -> toxicity, identity_hate -> identity_attack ...).
LABELS: tuple[str, ...] = (
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
)

AgentAction = Literal["reject", "log", "ignore"]
HumanAction = Literal["timeout", "delete", "warn", "log", "ignore"]
IGNORE = "ignore"
FailMode = Literal["open", "closed"]

# The more severe action wins when several labels cross their thresholds.
ACTION_SEVERITY: Mapping[str, int] = {"log": 0, "warn": 1, "delete": 2, "timeout": 3, "reject": 3}


def _threshold(default: float, label: str) -> float:
    return Field(default=default, ge=0.0, le=1.0, description=f"Score (0..1) at or above which '{label}' acts")


class _Labels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelThresholds(_Labels):
    """One threshold per label; a label is not judged when its action is ``ignore``."""

    def as_dict(self) -> dict[str, float]:
        return {label: getattr(self, label) for label in LABELS}

    toxicity: float = _threshold(0.8, "toxicity")
    severe_toxicity: float = _threshold(0.5, "severe_toxicity")
    obscene: float = _threshold(0.8, "obscene")
    threat: float = _threshold(0.6, "threat")
    insult: float = _threshold(0.8, "insult")
    identity_attack: float = _threshold(0.6, "identity_attack")
    sexual_explicit: float = _threshold(0.7, "sexual_explicit")


def _agent_action(default: AgentAction, label: str) -> AgentAction:
    return Field(default=default, description=f"What happens to an agent's message whose '{label}' crosses it")


def _human_action(default: HumanAction, label: str) -> HumanAction:
    return Field(default=default, description=f"What happens to a human's message whose '{label}' crosses it")


class _ActionLabels(_Labels):
    def as_dict(self) -> dict[str, str]:
        return {label: getattr(self, label) for label in LABELS}


class AgentActions(_ActionLabels):
    """Per label: ``reject`` (not posted), ``log`` (posted, the score recorded) or ``ignore`` (not judged)."""

    toxicity: AgentAction = _agent_action("reject", "toxicity")
    severe_toxicity: AgentAction = _agent_action("reject", "severe_toxicity")
    obscene: AgentAction = _agent_action("reject", "obscene")
    threat: AgentAction = _agent_action("reject", "threat")
    insult: AgentAction = _agent_action("reject", "insult")
    identity_attack: AgentAction = _agent_action("reject", "identity_attack")
    sexual_explicit: AgentAction = _agent_action("reject", "sexual_explicit")


class HumanActions(_ActionLabels):
    """Per label: ``timeout``, ``delete``, ``warn``, ``log`` or ``ignore``; humans' messages are judged after they
    are posted."""

    toxicity: HumanAction = _human_action("warn", "toxicity")
    severe_toxicity: HumanAction = _human_action("delete", "severe_toxicity")
    obscene: HumanAction = _human_action("log", "obscene")
    threat: HumanAction = _human_action("delete", "threat")
    insult: HumanAction = _human_action("warn", "insult")
    identity_attack: HumanAction = _human_action("delete", "identity_attack")
    sexual_explicit: HumanAction = _human_action("delete", "sexual_explicit")


@dataclass(frozen=True, slots=True)
class Judgement:
    """The worst crossed label and its action, or ``label``/``action`` None when nothing crossed."""

    label: str | None
    action: str | None
    reason: str
    crossed: tuple[str, ...] = ()


NOTHING_CROSSED = Judgement(label=None, action=None, reason="")


def judge(scores: Mapping[str, float], thresholds: Mapping[str, float | None], actions: Mapping[str, str]) -> Judgement:
    """Compare each score with its label's threshold; the crossed label with the most severe action wins, then the
    one furthest over its threshold. Labels whose action is ``ignore``, or that have no threshold or no action, are
    not judged."""
    crossed: list[tuple[int, float, str]] = []
    for label, score in scores.items():
        limit = thresholds.get(label)
        action = actions.get(label)
        if limit is None or action is None or action == IGNORE or not score >= limit:
            continue
        crossed.append((ACTION_SEVERITY.get(action, 0), score - limit, label))
    if not crossed:
        return NOTHING_CROSSED
    crossed.sort(reverse=True)
    _, _, worst = crossed[0]
    action = actions[worst]
    reason = f"{worst} {scores[worst]:.2f} >= {thresholds[worst]:.2f}"
    if len(crossed) > 1:
        reason += " (also " + ", ".join(label for _, _, label in crossed[1:]) + ")"
    return Judgement(label=worst, action=action, reason=reason, crossed=tuple(label for _, _, label in crossed))


def unavailable_action(fail_mode: FailMode, *, agent: bool) -> str | None:
    """The action when no score is available: agents follow fail-open (None) or fail-closed ("reject"); humans'
    messages are never acted on without a score."""
    return "reject" if agent and fail_mode == "closed" else None


def max_over_chunks(chunk_scores: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """A long text is as toxic as its worst chunk, label by label."""
    if not chunk_scores:
        raise ValueError("a text has at least one chunk")
    merged: dict[str, float] = dict(chunk_scores[0])
    for scores in chunk_scores[1:]:
        for label, value in scores.items():
            if value > merged.get(label, float("-inf")):
                merged[label] = value
    return merged


def spread_indices(count: int, limit: int) -> list[int]:
    """At most ``limit`` indices out of ``range(count)``, evenly spread and always keeping the first and the last
    (a long text's ends are where a payload is most easily hidden)."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    if count <= limit:
        return list(range(count))
    if limit == 1:
        return [0]
    step = (count - 1) / (limit - 1)
    return sorted({round(i * step) for i in range(limit)})


def known_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """The model's labels that Steward knows how to judge, in Steward's order."""
    present = set(labels)
    return tuple(label for label in LABELS if label in present)
