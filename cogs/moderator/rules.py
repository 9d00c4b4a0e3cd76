"""The registry of the moderator's agent rules, and the model rule.

``RULES`` maps each rule's name (what ``moderator.chain`` lists) to its class. The text rules are pure
(``policy.moderation_rules``); the model rule (toxicity) awaits the text scorer service, so it runs in a gate of its
own after the text rules (``GateOrder.MODEL``). Adding a rule is one class (with its config model as ``settings``
and its section name as ``key``) and one line here: its section appears under ``[moderator]`` and its name in the
default chain.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from pydantic import Field

from bot.scoring import ScorerState, TextScorer
from policy.moderation_links import LinkRule
from policy.moderation_mentions import MentionRule
from policy.moderation_rules import (
    AgentRule,
    CooldownRule,
    DepthRule,
    DuplicateRule,
    FilterRule,
    LengthRule,
    LoopRule,
    SectionT,
    Subject,
    SuspendedRule,
    TextRule,
)
from policy.moderation_settings import SectionModel


class Scored(NamedTuple):
    """A model rule's answer: the scores it saw, and the reason to reject (None: it passes)."""

    scores: Mapping[str, float]
    reason: str | None = None


class ModelState(Protocol):
    """What a model rule reads: the scorer service, when one runs."""

    def scorer(self) -> TextScorer | None: ...


class ModelRule(AgentRule[SectionT]):
    """A rule that asks a model (awaits a service); runs in the moderator's model gate, after every text rule."""

    @abstractmethod
    async def check(self, subject: Subject, state: ModelState) -> Scored | None:
        """None: the model is not there to ask (the rule passes without scores)."""


class ToxicityRuleSettings(SectionModel):
    enabled: bool = Field(default=True, description="Ask the text scorer service (when one runs) about each message")


class ToxicityRule(ModelRule[ToxicityRuleSettings]):
    """The text scorer's assessment of the message as the text rules left it (when the service runs)."""

    name = "toxicity"
    key = "toxicity"
    settings = ToxicityRuleSettings

    @classmethod
    def build(cls, section: ToxicityRuleSettings) -> ToxicityRule | None:
        return cls() if section.enabled else None

    async def check(self, subject: Subject, state: ModelState) -> Scored | None:
        scorer = state.scorer()
        if scorer is None or scorer.state is ScorerState.DISABLED:
            return None
        assessment = await scorer.assess(subject.text, subject.message.room, agent=True)
        if assessment.action is None:
            return Scored(assessment.scores)
        reason = assessment.reason or f"the model flagged it ({assessment.label or 'toxicity'})"
        return Scored(assessment.scores, reason)


AnyRule = type[TextRule[Any]] | type[ModelRule[Any]]

# The one registry: name -> class, in the default order (the text rules, then the model rules).
RULES: dict[str, AnyRule] = {
    rule.name: rule
    for rule in (
        SuspendedRule,
        CooldownRule,
        DuplicateRule,
        LoopRule,
        DepthRule,
        FilterRule,
        MentionRule,
        LinkRule,
        LengthRule,
        ToxicityRule,
    )
}

DEFAULT_CHAIN: tuple[str, ...] = tuple(name for name, rule in RULES.items() if issubclass(rule, TextRule)) + tuple(
    name for name, rule in RULES.items() if issubclass(rule, ModelRule)
)


def chain_problem(chain: tuple[str, ...]) -> str | None:
    """What is wrong with a configured chain (unknown or repeated names, a model rule before a text rule), or None."""
    unknown = [name for name in chain if name not in RULES]
    if unknown:
        return f"unknown rule(s) {unknown}; known rules: {list(RULES)}"
    if len(set(chain)) != len(chain):
        return "a rule is listed twice"
    kinds = [issubclass(RULES[name], ModelRule) for name in chain]
    if kinds != sorted(kinds):
        models = [name for name, model in zip(chain, kinds, strict=True) if model]
        return f"the model rule(s) {models} run in their own gate after the text rules: list them after every text rule"
    return None
