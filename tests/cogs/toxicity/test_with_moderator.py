"""The toxicity model inside the moderator's gate: an agent's message is judged before it is posted, with the
scores in the decision; while the model is down, fail-closed keeps agents' messages off the platform."""

from __future__ import annotations

import pytest

from bot.actions import PostAsAgent
from bot.app import StewardApp
from bot.publisher import Verdict
from bot.scoring import TextScorer
from domain import Room
from storage.core import AgentRecord

ROOM = Room(platform="test", server="s1", channel="general")
LABELS = {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}


async def start(make_settings, adapter, clock, toxicity) -> StewardApp:
    settings = make_settings(cogs={"enabled": ["toxicity", "moderator"]}, toxicity=toxicity)
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    await app.agents.register(AgentRecord(name="helper", platform="test", owner_id="owner"))
    await app.services.get(TextScorer).wait_loaded()
    return app


async def test_an_agent_message_over_a_threshold_is_rejected_before_posting(
    make_settings, adapter, clock, torch_section
) -> None:
    # Every label's threshold at 0 for agents: whatever this random model says crosses.
    zero = dict.fromkeys(LABELS | {"sexual_explicit"}, 0.0)
    app = await start(make_settings, adapter, clock, {**torch_section, "agent_thresholds": zero})
    try:
        result = await app.publisher.submit("helper", ROOM, "you are an idiot")
        assert result.decision.verdict is Verdict.REJECT
        assert result.decision.rule == "toxicity"
        assert set(result.decision.scores) == LABELS
        assert not result.posted and adapter.of(PostAsAgent) == []
    finally:
        await app.stop()


async def test_an_agent_message_under_the_thresholds_is_posted_with_its_scores(
    make_settings, adapter, clock, torch_section
) -> None:
    high = dict.fromkeys(LABELS | {"sexual_explicit"}, 1.0)
    app = await start(make_settings, adapter, clock, {**torch_section, "agent_thresholds": high})
    try:
        result = await app.publisher.submit("helper", ROOM, "thanks, nice code")
        assert result.decision.verdict is Verdict.APPROVE
        assert set(result.decision.scores) == LABELS
        assert result.posted and [a.text for a in adapter.of(PostAsAgent)] == ["thanks, nice code"]
    finally:
        await app.stop()


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
async def test_with_detoxify_down_the_fast_model_gates_agents_whatever_the_fail_mode(
    fail_mode, make_settings, adapter, clock, tiny, tmp_path
) -> None:
    section = {"checkpoint": str(tmp_path / "gone.ckpt"), "model_dir": str(tiny.directory), "fail_mode": fail_mode}
    app = await start(make_settings, adapter, clock, section)
    try:
        clean = await app.publisher.submit("helper", ROOM, "hello there, the deploy is done")
        assert clean.posted and clean.decision.verdict is Verdict.APPROVE
        offensive = await app.publisher.submit("helper", ROOM, "shut up, you pathetic moron")
        assert offensive.decision.verdict is Verdict.REJECT and not offensive.posted
        assert offensive.decision.rule == "toxicity"
        assert offensive.decision.reason.endswith("by the fast model")
        assert set(offensive.decision.scores) == {"toxicity"}
        assert [a.text for a in adapter.of(PostAsAgent)] == ["hello there, the deploy is done"]
    finally:
        await app.stop()
