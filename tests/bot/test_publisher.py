from __future__ import annotations

import pytest

from bot.actions import PostAsAgent
from bot.app import StewardApp
from bot.events import MessageCreated
from bot.publisher import AgentSubmission, Decision, GateOrder, UnknownAgent, Verdict
from domain import Room
from storage.core import AgentRecord

ROOM = Room("test", "g", "c")


class RejectWord:
    def __init__(self, word: str) -> None:
        self.word = word

    async def evaluate(self, submission: AgentSubmission) -> Decision:
        if self.word in submission.text:
            return Decision(Verdict.REJECT, "word", f"contains {self.word!r}", submission.text)
        return Decision.approve(submission.text)


class Shout:
    async def evaluate(self, submission: AgentSubmission) -> Decision:
        return Decision(Verdict.EDIT, "shout", "made louder", submission.text.upper())


class HoldAll:
    def __init__(self) -> None:
        self.held: list[tuple[AgentSubmission, Decision, int]] = []

    async def hold(self, submission: AgentSubmission, decision: Decision, decision_id: int) -> str | None:
        self.held.append((submission, decision, decision_id))
        return f"draft-{decision_id}"


@pytest.fixture
async def gated_app(make_settings, adapter, clock):
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter], clock=clock)
    await app.start()
    await app.agents.register(AgentRecord("alpha", "test", "owner"))
    yield app
    await app.stop()


async def test_a_rejected_message_never_reaches_the_adapter(gated_app, adapter) -> None:
    gated_app.publisher.add_gate(RejectWord("secret"), owner="t", order=GateOrder.RULES)
    echoes: list[MessageCreated] = []

    async def hear(event: MessageCreated) -> None:
        echoes.append(event)

    gated_app.bus.subscribe(MessageCreated, hear)
    rejected = await gated_app.publisher.submit("alpha", ROOM, "the secret is 42")
    assert rejected.decision.verdict is Verdict.REJECT and not rejected.posted
    assert adapter.of(PostAsAgent) == []
    assert echoes == []
    approved = await gated_app.publisher.submit("alpha", ROOM, "nothing to see")
    assert approved.posted
    assert [a.text for a in adapter.of(PostAsAgent)] == ["nothing to see"]
    assert [e.text for e in echoes] == ["nothing to see"] and echoes[0].via_steward


async def test_every_decision_is_stored_before_it_is_returned(gated_app) -> None:
    gated_app.publisher.add_gate(RejectWord("secret"), owner="t", order=GateOrder.RULES)
    first = await gated_app.publisher.submit("alpha", ROOM, "the secret")
    second = await gated_app.publisher.submit("alpha", ROOM, "fine")
    stored = {r.id: r for r in await gated_app.decisions.recent()}
    assert stored[first.decision_id].verdict == "reject" and stored[first.decision_id].rule == "word"
    assert stored[second.decision_id].message_id == second.message_id
    # No text unless a setting asks for it: only the hash.
    assert stored[first.decision_id].text is None and len(stored[first.decision_id].text_hash) == 64


async def test_edits_are_posted_as_edited_and_gates_chain(gated_app, adapter) -> None:
    gated_app.publisher.add_gate(Shout(), owner="t", order=GateOrder.RULES)
    gated_app.publisher.add_gate(RejectWord("LOUD"), owner="t", order=GateOrder.RULES)
    result = await gated_app.publisher.submit("alpha", ROOM, "quiet please")
    assert result.decision.verdict is Verdict.EDIT
    assert [a.text for a in adapter.of(PostAsAgent)] == ["QUIET PLEASE"]
    rejected = await gated_app.publisher.submit("alpha", ROOM, "loud")
    assert rejected.decision.rule == "word"


async def test_a_holder_keeps_the_message_until_released(gated_app, adapter) -> None:
    holder = HoldAll()
    gated_app.publisher.add_holder(holder, owner="t")
    result = await gated_app.publisher.submit("alpha", ROOM, "draft me")
    assert result.held == f"draft-{result.decision_id}" and not result.posted
    assert adapter.of(PostAsAgent) == []
    submission, decision, decision_id = holder.held[0]
    released = await gated_app.publisher.post_held(submission, decision, decision_id)
    assert released.posted and [a.text for a in adapter.of(PostAsAgent)] == ["draft me"]


async def test_empty_and_unknown_are_refused(gated_app, adapter) -> None:
    empty = await gated_app.publisher.submit("alpha", ROOM, "   ")
    assert empty.decision.verdict is Verdict.REJECT and empty.decision.rule == "input"
    with pytest.raises(UnknownAgent):
        await gated_app.publisher.submit("nobody", ROOM, "hi")
    assert adapter.of(PostAsAgent) == []


async def test_an_adapter_failure_is_reported_not_raised(gated_app, adapter) -> None:
    adapter.fail[PostAsAgent] = "Forbidden: missing webhook permission"
    result = await gated_app.publisher.submit("alpha", ROOM, "hello")
    assert not result.posted and "Forbidden" in (result.error or "")
    assert (
        gated_app.metrics.value("steward_actions_total", action="PostAsAgent", platform="test", outcome="failed") == 1
    )
