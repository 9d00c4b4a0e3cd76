"""The gate: each rule decides agents' messages before they reach the adapter."""

from __future__ import annotations

import pytest

from bot.actions import PostAsAgent
from bot.config import ConfigError, load_settings
from bot.events import MessageScored, ModerationDecision
from bot.publisher import GateOrder, Verdict
from bot.scoring import ScorerState, TextScorer
from domain import Room
from storage.core import AgentRecord

from .conftest import ROOM, Harness, MakeHarness, WordScorer


async def test_a_rejected_message_never_reaches_the_adapter(app, adapter, clock) -> None:
    # The default app: every cog that exists, as deployed.
    await app.agents.register(AgentRecord(name="alpha", platform="test", owner_id="o1"))
    first = await app.publisher.submit("alpha", ROOM, "The build is green again.")
    clock.advance(30)
    second = await app.publisher.submit("alpha", ROOM, "the build is   GREEN again.")
    assert second.decision.verdict is Verdict.REJECT and second.decision.rule == "duplicate"
    assert not second.posted
    posted = [a.text for a in adapter.of(PostAsAgent)]
    assert "the build is   GREEN again." not in posted
    if first.posted:
        assert posted == ["The build is green again."]


async def test_each_rejection_is_a_case_an_event_and_a_metric(harness: Harness) -> None:
    await harness.submit("alpha", "ship it")
    result = await harness.submit("alpha", "ship it")
    events = [e for e in await harness.settle() if isinstance(e, ModerationDecision)]
    assert [(e.verdict, e.rule, e.case_id) for e in events] == [("reject", "duplicate", 1)]
    assert events[0].target.id == "alpha" and not events[0].log_only
    reply = await harness.command("case 1")
    assert "duplicate" in reply.text and result.decision.reason in reply.text
    metric = harness.app.metrics.value(
        "steward_moderation_cases_total", target="agent", verdict="reject", rule="duplicate", log_only="false"
    )
    assert metric == 1.0


async def test_duplicates_by_another_agent_only_when_configured(make_harness: MakeHarness) -> None:
    plain = await make_harness()
    await plain.agent("alpha")
    await plain.agent("beta")
    await plain.submit("alpha", "weekly report is out")
    assert (await plain.submit("beta", "weekly report is out")).posted
    await plain.app.stop()

    strict = await make_harness(moderator={"duplicate": {"any_agent": True}})
    await strict.submit("alpha", "weekly report is out")
    result = await strict.submit("beta", "Weekly report is out!")
    assert result.decision.rule == "duplicate" and "agent alpha" in result.decision.reason


async def test_duplicate_window_expires(harness: Harness) -> None:
    await harness.submit("alpha", "status: all good")
    assert (await harness.submit("alpha", "status: all good", gap=601)).posted


async def test_cooldown_burst_then_rate(make_harness: MakeHarness) -> None:
    h = await make_harness(
        moderator={"cooldown": {"room_burst": 2, "room_interval_seconds": 10, "global_interval_seconds": 0}}
    )
    await h.agent("alpha")
    outcomes = []
    lines = ["deploy started", "tests are running", "coverage went up", "release notes drafted", "rollback ready"]
    for line, gap in zip(lines, [0, 1, 1, 10, 1], strict=True):
        result = await h.submit("alpha", line, gap=gap)
        outcomes.append(result.decision.rule)
    assert outcomes == ["pass", "pass", "cooldown", "pass", "cooldown"]
    assert "next allowed in" in (await h.submit("alpha", "one more distinct thing", gap=0)).decision.reason


async def test_cooldown_across_rooms(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"cooldown": {"global_burst": 2, "global_interval_seconds": 30}})
    await h.agent("alpha")
    rooms = [Room("test", "s1", f"c{i}") for i in range(3)]
    results = [await h.submit("alpha", f"hello room {i}", room=r, gap=1) for i, r in enumerate(rooms)]
    assert [r.decision.rule for r in results] == ["pass", "pass", "cooldown"]
    assert "across rooms" in results[2].decision.reason


async def test_agent_ping_pong_is_stopped_and_a_human_resets_it(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"loop": {"max_exchanges": 3}})
    await h.agent("alpha")
    await h.agent("beta")
    last = None
    rules = []
    lines = ["tabs are better", "spaces, obviously", "tabs save bytes", "spaces align code", "bytes are cheap now"]
    for i, line in enumerate(lines):
        speaker = "alpha" if i % 2 == 0 else "beta"
        result = await h.submit(speaker, line, reply_to=last)
        rules.append(result.decision.rule)
        last = result.message_id or last
    assert rules == ["pass", "pass", "pass", "pass", "loop"]
    await h.human("ok you two, enough")
    assert (await h.submit("alpha", "fair enough, stopping here")).posted


async def test_three_agent_cycle_is_a_loop(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"loop": {"max_exchanges": 4}, "depth": {"enabled": False}})
    for name in ("alpha", "beta", "gamma"):
        await h.agent(name)
    speakers = ["alpha", "beta", "gamma", "alpha", "beta", "gamma"]
    ideas = ["use a queue", "try a cache", "shard by room", "batch the writes", "add an index", "drop the lock"]
    results = [await h.submit(s, idea) for s, idea in zip(speakers, ideas, strict=True)]
    assert [r.decision.rule for r in results] == ["pass"] * 5 + ["loop"]
    assert "alpha→beta→gamma→alpha" in results[-1].decision.reason


async def test_reply_depth(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"depth": {"max_depth": 3}, "loop": {"enabled": False}})
    await h.agent("alpha")
    await h.agent("beta")
    parent = await h.human("what do you both think?")
    depths = []
    for i in range(4):
        text = ["I think yes", "hmm, maybe not", "why not though?", "costs, mostly"][i]
        result = await h.submit("alpha" if i % 2 == 0 else "beta", text, reply_to=parent)
        depths.append(result.decision.rule)
        parent = result.message_id or parent
    assert depths == ["pass", "pass", "pass", "depth"]
    # A human answering in the chain starts it again.
    human_reply = await h.human("interesting", reply_to=parent)
    assert (await h.submit("beta", "thanks!", reply_to=human_reply)).posted


async def test_filters_reject_or_mask_per_server(make_harness: MakeHarness) -> None:
    h = await make_harness(
        moderator={"filters": {"words": ["darn"], "patterns": [r"free\s+crypto"]}},
        servers={"s2": {"moderator": {"filters": {"agent_action": "edit"}}}},
    )
    await h.agent("alpha")
    rejected = await h.submit("alpha", "well DАRN it")  # Cyrillic А
    assert rejected.decision.verdict is Verdict.REJECT and "darn" in rejected.decision.reason
    assert (await h.submit("alpha", "get free   crypto")).decision.rule == "filters"
    edited = await h.submit("alpha", "well darn it", room=Room("test", "s2", "general"))
    assert edited.decision.verdict is Verdict.EDIT and edited.posted
    assert h.adapter.of(PostAsAgent)[-1].text == "well **** it"


async def test_mass_mentions_and_length_are_edited(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"length": {"limits": {"test": 40}}})
    await h.agent("alpha")
    result = await h.submit("alpha", "@everyone the deploy is done, " + "details " * 10)
    assert result.decision.verdict is Verdict.EDIT
    assert result.decision.rule == "mentions+length"
    text = h.adapter.of(PostAsAgent)[-1].text
    assert "@everyone" not in text and len(text) <= 40 and text.endswith("…")


async def test_mentions_rejected_when_configured(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"mentions": {"action": "reject"}})
    await h.agent("alpha")
    assert (await h.submit("alpha", "<!channel> lunch")).decision.rule == "mentions"


async def test_toxicity_rule_uses_the_scorer_service(make_harness: MakeHarness) -> None:
    scorer = WordScorer()
    h = await make_harness(scorer=scorer)
    await h.agent("alpha")
    rejected = await h.submit("alpha", "you are an idiot")
    assert rejected.decision.rule == "toxicity" and "0.97" in rejected.decision.reason
    assert rejected.decision.scores["toxicity"] == pytest.approx(0.97)
    posted = await h.submit("alpha", "you are a star")
    assert posted.posted
    await h.settle()
    scored = h.of(MessageScored)
    assert [(e.message_id, round(e.scores["toxicity"], 2)) for e in scored] == [(posted.message_id, 0.02)]
    assert scorer.calls == [("you are an idiot", True), ("you are a star", True)]
    case = await h.command("case 1")
    assert "toxicity=0.97" in case.text


async def test_toxicity_rule_passes_without_a_ready_scorer(make_harness: MakeHarness) -> None:
    h = await make_harness(scorer=WordScorer(ScorerState.DISABLED))
    await h.agent("alpha")
    assert (await h.submit("alpha", "you are an idiot")).posted
    bare = await make_harness()
    assert TextScorer not in bare.app.services
    assert (await bare.submit("alpha", "you idiot, again")).posted


async def test_per_channel_override(make_harness: MakeHarness) -> None:
    h = await make_harness(
        servers={"s1": {"channels": {"bots": {"moderator": {"duplicate": {"enabled": False}}}}}},
    )
    await h.agent("alpha")
    bots = Room("test", "s1", "bots")
    await h.submit("alpha", "ping", room=bots, gap=10)
    assert (await h.submit("alpha", "ping", room=bots, gap=10)).posted
    await h.submit("alpha", "ping", gap=10)
    assert not (await h.submit("alpha", "ping", gap=10)).posted


async def test_log_only_records_but_posts(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"log_only": True})
    await h.agent("alpha")
    await h.submit("alpha", "same thing")
    result = await h.submit("alpha", "same thing")
    assert result.posted and result.decision.rule == "log_only"
    assert "would reject (duplicate" in result.decision.reason
    events = [e for e in await h.settle() if isinstance(e, ModerationDecision)]
    assert len(events) == 1 and events[0].log_only and events[0].rule == "duplicate"
    assert "[log-only]" in (await h.command("cases")).text


def test_invalid_regex_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(data={"moderator": {"filters": {"patterns": ["fine", "broken("]}}})
    text = str(err.value)
    assert "moderator.filters.patterns" in text and "patterns[1] 'broken('" in text and "missing )" in text
    with pytest.raises(ConfigError) as err:
        load_settings(data={"servers": {"9": {"moderator": {"filters": {"patterns": ["(?<=a)b"]}}}}})
    assert "servers.9.moderator.filters.patterns" in str(err.value)


def test_config_rejects_unknown_rules_and_short_history() -> None:
    with pytest.raises(ConfigError, match="unknown rule"):
        load_settings(data={"moderator": {"chain": ["duplicate", "sarcasm"]}})
    with pytest.raises(ConfigError, match="history_size"):
        load_settings(data={"moderator": {"loop": {"max_exchanges": 20}, "state": {"history_size": 10}}})


class _ApprovingGate:
    """Another cog's gate that approves everything it sees (with a score of its own)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def evaluate(self, submission):
        from bot.publisher import Decision

        self.seen.append(submission.text)
        return Decision.approve(submission.text, rule="pass", reason="fine by me", scores={"other": 0.5})


async def test_an_edit_stays_an_edit_when_a_later_gate_approves(make_harness: MakeHarness) -> None:
    h = await make_harness(scorer=WordScorer())
    later = _ApprovingGate()
    h.app.publisher.add_gate(later, owner="other", order=GateOrder.MODEL)
    await h.agent("alpha")
    result = await h.submit("alpha", "@here standup in 5")
    assert later.seen == ["here standup in 5"]
    assert result.decision.verdict is Verdict.EDIT and result.decision.rule == "mentions"
    assert set(result.decision.scores) == {"toxicity", "insult", "other"}
    logged = (await h.app.decisions.recent(1))[0]
    assert (logged.verdict, logged.rule) == ("edit", "mentions")


async def test_log_only_keeps_the_would_be_verdict_when_a_later_gate_approves(make_harness: MakeHarness) -> None:
    h = await make_harness(moderator={"log_only": True})
    later = _ApprovingGate()
    h.app.publisher.add_gate(later, owner="other", order=GateOrder.MODEL + 1)
    await h.agent("alpha")
    await h.submit("alpha", "same thing")
    result = await h.submit("alpha", "same thing")
    assert result.posted and later.seen == ["same thing", "same thing"]
    assert result.decision.rule == "log_only" and "would reject (duplicate" in result.decision.reason
    logged = (await h.app.decisions.recent(1))[0]
    assert (logged.verdict, logged.rule) == ("approve", "log_only") and "would reject (duplicate" in logged.reason
    # The first message, that nothing objected to, is the later gate's plain approval.
    first = (await h.app.decisions.recent(2))[1]
    assert (first.rule, first.reason) == ("pass", "fine by me")
