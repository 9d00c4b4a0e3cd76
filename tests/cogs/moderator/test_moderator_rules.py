"""The rule registry and the configured chain: order and omissions change which rule fires, a bad chain is a config
error naming the key, a new rule needs one class and one registry entry, and the two gates settle each message once."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import Field

from bot.actions import PostAsAgent
from bot.config import ConfigError, load_settings
from bot.events import MessageScored, ModerationDecision
from bot.publisher import AgentSubmission, GateOrder, Verdict
from cogs.moderator.config import ModeratorSettings, _with_rule_sections
from cogs.moderator.gates import ModelGate, RulesGate
from cogs.moderator.rules import DEFAULT_CHAIN, RULES, ModelRule
from cogs.moderator.service import ModeratorService, NoSuspensions, RulePlan
from domain import Room
from policy.moderation_rules import Outcome, Reject, RuleState, Subject, TextRule
from policy.moderation_settings import SectionModel
from storage.core import AgentRecord
from storage.moderation import InMemoryRoomState
from tests.cogs.moderator.conftest import ROOM, MakeHarness, WordScorer


def test_the_default_chain_is_the_registry_text_rules_first() -> None:
    assert DEFAULT_CHAIN == (
        "suspended",
        "cooldown",
        "duplicate",
        "loop",
        "depth",
        "filters",
        "mentions",
        "links",
        "length",
        "toxicity",
    )
    assert ModeratorSettings().chain == DEFAULT_CHAIN
    no_filters = tuple(name for name in DEFAULT_CHAIN if name != "filters")  # (no words, no patterns: off)
    assert RulePlan(ModeratorSettings()).chain == no_filters
    assert all(name == rule.name for name, rule in RULES.items())


def test_each_rule_section_is_its_config_model() -> None:
    fields = ModeratorSettings.model_fields
    for rule in RULES.values():
        if rule.key is not None:
            assert fields[rule.key].annotation is rule.settings, rule.name


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        (["duplicate", "sarcasm"], "unknown rule"),
        (["duplicate", "duplicate"], "listed twice"),
        (["toxicity", "filters"], "after every text rule"),
    ],
)
def test_a_bad_chain_is_a_config_error_naming_the_key(chain: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(data={"moderator": {"chain": chain}})
    assert "moderator.chain" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_settings(data={"servers": {"9": {"moderator": {"chain": chain}}}})
    assert "servers.9.moderator.chain" in str(err.value)


async def test_the_configured_order_decides_which_rule_fires(make_harness: MakeHarness) -> None:
    slow = {"cooldown": {"room_burst": 1, "room_interval_seconds": 100}}
    default = await make_harness(moderator=slow)
    await default.agent("alpha")
    assert (await default.submit("alpha", "same words", gap=10)).posted
    assert (await default.submit("alpha", "same words", gap=10)).decision.rule == "cooldown"
    reordered = await make_harness(moderator={**slow, "chain": ["suspended", "duplicate", "cooldown"]})
    assert (await reordered.submit("alpha", "same words", gap=10)).posted
    assert (await reordered.submit("alpha", "same words", gap=10)).decision.rule == "duplicate"


async def test_a_rule_left_out_of_the_chain_never_fires(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"chain": ["suspended", "cooldown", "loop", "depth", "mentions", "length"]})
    await h.agent("alpha")
    await h.submit("alpha", "same words", gap=10)
    assert (await h.submit("alpha", "same words", gap=10)).posted
    scorer = WordScorer()
    without_model = await make_harness(scorer=scorer, moderator={"chain": ["duplicate"]})
    assert (await without_model.submit("alpha", "you idiot", gap=10)).posted
    assert scorer.calls == []


class ShoutSettings(SectionModel):
    min_length: int = Field(default=8, ge=1, description="Shorter all-caps texts are fine")


class ShoutRule(TextRule[ShoutSettings]):
    """A rule the registry does not ship: rejects a long text in capitals."""

    name: ClassVar[str] = "shout"
    key: ClassVar[str | None] = "shout"
    settings = ShoutSettings

    def __init__(self, section: ShoutSettings) -> None:
        self.min_length = section.min_length

    @classmethod
    def build(cls, section: ShoutSettings) -> ShoutRule:
        return cls(section)

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        text = subject.text
        return Reject("all capitals") if len(text) >= self.min_length and text.isupper() else None


async def test_a_new_rule_is_one_class_and_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RULES, "shout", ShoutRule)
    model = _with_rule_sections(ModeratorSettings)
    assert model.model_fields["shout"].annotation is ShoutSettings
    settings = model.model_validate({"chain": ["suspended", "shout", "toxicity"], "shout": {"min_length": 5}})
    service = ModeratorService(config=lambda room: settings, state=InMemoryRoomState(), suspensions=NoSuspensions())
    room = Room("test", "s1", "general")
    assert service.plan(room).chain == ("suspended", "shout", "toxicity")
    decision = await service.evaluate("alpha", service.context(room, "HELLO THERE", 1.0))
    assert (decision.verdict, decision.rule, decision.reason) == (Verdict.REJECT, "shout", "all capitals")
    assert (await service.evaluate("alpha", service.context(room, "HEY", 2.0))).allowed


async def test_the_moderator_registers_its_rules_gate_then_its_model_gate(make_harness: MakeHarness) -> None:
    h = await make_harness()
    gates = [(order, name) for order, owner, name in h.app.publisher.gate_order if owner == "moderator"]
    assert gates == [(GateOrder.RULES, RulesGate.__name__), (GateOrder.MODEL, ModelGate.__name__)]
    assert all(isinstance(rule, ModelRule) for rule in RulePlan(ModeratorSettings()).model_rules)


async def test_an_edit_then_a_model_rejection_is_one_case(make_harness: MakeHarness) -> None:
    scorer = WordScorer()
    h = await make_harness(scorer=scorer, moderator={"escalation": {"rejections": 1}})
    await h.agent("alpha")
    result = await h.submit("alpha", "@here you idiot")
    assert (result.decision.verdict, result.decision.rule) == (Verdict.REJECT, "toxicity")
    assert result.decision.text == "here you idiot" and not result.posted
    assert scorer.calls == [("here you idiot", True)]  # the model sees the text as the rules left it
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert [(e.rule, e.verdict) for e in events] == [("toxicity", "reject")]
    assert "alpha in test:s1:general" in (await h.command("suspensions")).text  # the rejection counted


async def test_an_edit_carries_the_model_scores_into_its_case(make_harness: MakeHarness) -> None:
    h = await make_harness(scorer=WordScorer())
    await h.agent("alpha")
    result = await h.submit("alpha", "@here standup in 5")
    assert (result.decision.verdict, result.decision.rule) == (Verdict.EDIT, "mentions")
    assert result.decision.scores["toxicity"] == pytest.approx(0.02)
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert [(e.rule, e.verdict, round(e.scores["toxicity"], 2)) for e in events] == [("mentions", "edit", 0.02)]
    assert [e.message_id for e in h.of(MessageScored)] == [result.message_id]


async def test_log_only_edits_are_approvals_across_both_gates(make_harness: MakeHarness) -> None:
    h = await make_harness(scorer=WordScorer(), moderator={"log_only": True})
    await h.agent("alpha")
    result = await h.submit("alpha", "@here standup in 5")
    assert (result.decision.verdict, result.decision.rule) == (Verdict.APPROVE, "log_only")
    assert result.decision.reason.startswith("log-only: would edit (mentions: defused mass mention @here)")
    assert h.adapter.of(PostAsAgent)[-1].text == "@here standup in 5"  # posted as the agent sent it
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert [(e.rule, e.log_only) for e in events] == [("mentions", True)]


async def test_the_model_gate_alone_judges_by_the_model_rules(make_harness: MakeHarness) -> None:
    """A submission the rules gate did not see (no hand-off for it) is still judged, and settled, by the model."""
    h = await make_harness(scorer=WordScorer())
    await h.agent("alpha")
    cog = h.app.cogs.cogs["moderator"]
    record = AgentRecord(name="alpha", platform="test", owner_id="owner1")
    at = h.clock.now()
    flagged = await cog.gates.model.evaluate(AgentSubmission(record, ROOM, "@here you idiot", at))
    assert (flagged.verdict, flagged.rule) == (Verdict.REJECT, "toxicity")
    assert flagged.text == "@here you idiot"  # (the text rules did not run)
    fine = await cog.gates.model.evaluate(AgentSubmission(record, ROOM, "@here all good", at + 1))
    assert (fine.verdict, fine.rule, fine.text) == (Verdict.APPROVE, "pass", "@here all good")
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert [(e.rule, e.verdict) for e in events] == [("toxicity", "reject")]
