"""Drafts held for the owner, and the safety side: suspensions, blocked messages, and the rewards they produce."""

from __future__ import annotations

import pytest

from bot.actions import (
    AddAgentToChannel,
    AnswerInteraction,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    UpdatePrompt,
)
from bot.app import StewardApp
from bot.events import (
    ButtonPressed,
    FeedbackRecorded,
    InvitationDecided,
    MessageCreated,
    ModerationDecision,
)
from bot.publisher import Decision, GateOrder, Verdict
from bot.services import DraftReview
from domain import Actor, ActorKind
from storage.presence import DraftStatus

from .conftest import ALICE, BOB, OTHER_ROOM, ROOM, collect, last_prompt, presence_settings, register, run


def cog_of(app: StewardApp):
    return app.cogs.cogs["presence"]


async def held_draft(app, adapter, text="SELECT * is fine here"):
    await register(app, "helper", "messages=owner_each_draft")
    result = await app.publisher.submit("helper", ROOM, text)
    assert result.held == "draft:1" and not result.posted
    return last_prompt(adapter, "draft")


async def test_a_draft_is_held_until_the_owner_approves_it(papp, adapter):
    echoes, rewards = collect(papp, MessageCreated), collect(papp, FeedbackRecorded)
    prompt = await held_draft(papp, adapter)
    assert prompt.user_id == "alice" and "SELECT * is fine here" in prompt.text
    assert [b.custom_id for b in prompt.buttons] == [
        "steward:draft:1:approve",
        "steward:draft:1:edit",
        "steward:draft:1:reject",
    ]
    assert not adapter.of(PostAsAgent)
    assert "#1 helper in #general" in (await run(papp, "drafts")).text

    await papp.bus.dispatch(ButtonPressed(actor=BOB, custom_id="steward:draft:1:approve", interaction_id="b"))
    assert "Only alice" in adapter.of(AnswerInteraction)[-1].text
    assert not adapter.of(PostAsAgent)

    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:1:approve", interaction_id="a"))
    await papp.bus.join()
    posted = adapter.of(PostAsAgent)
    assert [(p.agent.name, p.text, p.room) for p in posted] == [("helper", "SELECT * is fine here", ROOM)]
    assert any(e.via_steward and e.author.id == "helper" for e in echoes)
    assert "approved and posted" in adapter.of(UpdatePrompt)[-1].text
    assert [(r.reward, r.source) for r in rewards] == [(0.5, "explicit.owner")]
    draft = await cog_of(papp).store.drafts.get(1)
    assert draft.status is DraftStatus.APPROVED and draft.text is None and draft.message_id  # text not kept

    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:1:reject", interaction_id="c"))
    assert "already decided" in adapter.of(AnswerInteraction)[-1].text
    assert len(adapter.of(PostAsAgent)) == 1


async def test_a_rejected_draft_is_never_posted(papp, adapter):
    rewards = collect(papp, FeedbackRecorded)
    await held_draft(papp, adapter)
    assert "rejected" in (await run(papp, "draft reject 1 not now")).text
    assert not adapter.of(PostAsAgent)
    assert [r.reward for r in rewards] == [-0.5]
    assert (await cog_of(papp).store.drafts.get(1)).outcome == "not now"


async def test_an_edited_draft_takes_the_gate_again(papp, adapter):
    seen: list[str] = []

    class Gate:
        async def evaluate(self, submission):
            seen.append(submission.text)
            if "forbidden" in submission.text:
                return Decision(Verdict.REJECT, "filter", "a forbidden word", submission.text)
            return Decision.approve(submission.text)

    papp.publisher.add_gate(Gate(), owner="test", order=GateOrder.RULES)
    await held_draft(papp, adapter, "first try")
    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:1:edit", interaction_id="e"))
    assert "draft edit 1 <new text>" in adapter.of(AnswerInteraction)[-1].text
    reply = await run(papp, 'draft edit 1 a better, "quoted" answer')
    assert reply.ok and "posted" in reply.text, reply.text
    assert seen == ["first try", 'a better, "quoted" answer']
    assert [p.text for p in adapter.of(PostAsAgent)] == ['a better, "quoted" answer']
    assert (await cog_of(papp).store.drafts.get(1)).status is DraftStatus.EDITED

    # The second draft is replaced by a text the gate refuses: nothing is posted, the owner hears why.
    await papp.publisher.submit("helper", ROOM, "second")
    reply = await run(papp, "draft edit 2 something forbidden")
    assert "not posted (filter: a forbidden word)" in reply.text
    assert len(adapter.of(PostAsAgent)) == 1
    assert not (await run(papp, "draft edit 3 x")).ok  # no such draft


async def test_drafts_expire_and_survive_a_restart(make_settings, adapter, clock):
    settings = presence_settings(make_settings, draft_ttl_seconds=120)
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        await held_draft(app, adapter)
    finally:
        await app.stop()
    second = StewardApp(settings, adapters=[adapter], clock=clock)
    await second.start()
    try:
        # Still there after the restart, text included; a second draft joins it, and both expire.
        assert "SELECT * is fine here" in (await run(second, "drafts")).text
        await second.publisher.submit("helper", ROOM, "another")
        clock.advance(121)
        assert await second.scheduler.fire_due() == 2
        assert (await cog_of(second).store.drafts.get(1)).status is DraftStatus.EXPIRED
        assert "expired" in adapter.of(UpdatePrompt)[-1].text
        assert not adapter.of(PostAsAgent)
        assert "already decided" in (await run(second, "draft approve 1")).text
    finally:
        await second.stop()


async def test_hold_for_review_service_holds_whatever_the_settings(papp, adapter):
    await register(papp, "helper")
    result = await papp.publisher.submit("helper", ROOM, "posted directly")
    assert result.posted
    record = await papp.agents.get("helper")
    from bot.publisher import AgentSubmission

    submission = AgentSubmission(record, ROOM, "needs review", papp.clock.now())
    ref = await papp.services.get(DraftReview).hold_for_review(submission, Decision.approve("needs review"), 99)
    assert ref == "draft:1"
    assert (await cog_of(papp).store.drafts.get(1)).source == "review"
    assert "approved and posted" in (await run(papp, "draft approve 1")).text
    assert [p.text for p in adapter.of(PostAsAgent)] == ["posted directly", "needs review"]


async def suspend(app: StewardApp, room=None, until_offset=3600.0):
    """Suspend "helper" through the core's record (room None: the whole server of ROOM); it announces
    ``AgentSuspended`` as the moderator's escalation does."""
    return await app.suspensions.suspend(
        agent="helper",
        room=room or ROOM,
        whole_server=room is None,
        at=app.clock.now(),
        seconds=until_offset,
        reason="3 rejections",
        case_number=None,
    )


async def lift(app: StewardApp, suspension) -> None:
    assert await app.suspensions.end(suspension, at=app.clock.now(), by="test")
    await app.bus.join()


async def test_a_suspension_removes_the_agent_and_blocks_it_until_lifted(papp, adapter, clock):
    rewards, decided = collect(papp, FeedbackRecorded), collect(papp, InvitationDecided)
    await register(papp, "helper", "messages=owner_each_draft")
    await run(papp, "invite helper")  # joins ROOM (owner)
    await run(papp, f"invite helper {OTHER_ROOM.key}", actor=BOB)  # waits for the owner
    await papp.publisher.submit("helper", ROOM, "a draft")  # held
    suspension = await suspend(papp)
    await papp.bus.join()

    removed = adapter.of(RemoveAgentFromChannel)
    assert [(r.agent.name, r.room) for r in removed] == [("helper", ROOM)]
    assert "suspended: 3 rejections" in removed[0].reason
    assert [(d.invitation_id, d.outcome) for d in decided[-1:]] == [(2, "declined")]
    assert (await cog_of(papp).store.drafts.get(1)).status is DraftStatus.REJECTED
    assert sorted((r.reward, r.source) for r in rewards) == [
        (-2.0, "presence.suspension"),
        (-1.0, "presence.forced_leave"),
    ]

    # New invitations are declined while it lasts, even by the owner.
    assert "suspended" in (await run(papp, "invite helper")).text
    await lift(papp, suspension)
    assert "joined" in (await run(papp, "invite helper")).text


async def test_a_room_suspension_leaves_other_rooms_alone_and_ends_by_itself(papp, adapter, clock):
    await register(papp, "helper")
    await run(papp, "invite helper")
    await run(papp, f"invite helper {OTHER_ROOM.key}")
    await suspend(papp, room=ROOM, until_offset=600)
    await papp.bus.join()
    assert [r.room for r in adapter.of(RemoveAgentFromChannel)] == [ROOM]
    assert "suspended" in (await run(papp, "invite helper")).text
    clock.advance(601)
    assert "joined" in (await run(papp, "invite helper")).text
    assert len(adapter.of(AddAgentToChannel)) == 3


@pytest.mark.parametrize(
    ("verdict", "target_kind", "log_only", "rewarded"),
    [
        ("reject", ActorKind.AGENT, False, True),
        ("reject", ActorKind.AGENT, True, False),
        ("approve", ActorKind.AGENT, False, False),
        ("reject", ActorKind.HUMAN, False, False),
    ],
)
async def test_blocked_messages_cost_the_agent(papp, verdict, target_kind, log_only, rewarded):
    rewards = collect(papp, FeedbackRecorded)
    await register(papp)
    target = Actor("test", "helper", target_kind, "helper")
    await papp.bus.publish(
        ModerationDecision(
            room=ROOM, target=target, verdict=verdict, rule="toxicity", reason="r", case_id=7, log_only=log_only
        )
    )
    await papp.bus.join()
    expected = [(-0.7, "presence.blocked_message")] if rewarded else []
    assert [(r.reward, r.source) for r in rewards] == expected
    if rewarded:
        assert rewards[0].context["case_id"] == 7 and rewards[0].room == ROOM


async def test_the_edit_button_on_a_decided_draft_says_so(papp, adapter):
    await held_draft(papp, adapter)
    await run(papp, "draft reject 1")
    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:1:edit", interaction_id="e"))
    assert "already decided (rejected)" in adapter.of(AnswerInteraction)[-1].text
    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:x:edit", interaction_id="f"))
    assert "not valid" in adapter.of(AnswerInteraction)[-1].text
    await papp.bus.dispatch(ButtonPressed(actor=ALICE, custom_id="steward:draft:1:maybe", interaction_id="g"))
    assert "not valid" in adapter.of(AnswerInteraction)[-1].text
    assert papp.metrics.value("steward_presence_rejected_total", source="button", reason="bad_choice") == 1.0


async def test_a_long_draft_is_shortened_in_the_prompt_but_posted_whole(papp, adapter):
    text = "word " * 800
    prompt = await held_draft(papp, adapter, text)
    assert len(prompt.text) < 1800 and "…" in prompt.text
    await run(papp, "draft approve 1")
    assert adapter.of(PostAsAgent)[-1].text == text


async def test_no_new_draft_reaches_the_owner_while_the_agent_is_suspended(papp, adapter, clock):
    await register(papp, "helper", "messages=owner_each_draft")
    suspension = await suspend(papp)
    await papp.bus.join()
    result = await papp.publisher.submit("helper", ROOM, "let me in")  # no moderator gate in this app
    assert result.held == "draft:1" and not result.posted
    assert not [p for p in adapter.of(SendApprovalPrompt) if p.kind == "draft"]
    draft = await cog_of(papp).store.drafts.get(1)
    assert (draft.status, draft.outcome, draft.text) == (DraftStatus.REJECTED, "the agent is suspended here", None)
    await lift(papp, suspension)
    assert (await papp.publisher.submit("helper", ROOM, "back")).held == "draft:2"
    assert last_prompt(adapter, "draft").key == "2"


async def test_a_suspension_of_an_unknown_agent_holds_without_a_reward(papp, clock):
    rewards = collect(papp, FeedbackRecorded)
    await suspend(papp)  # "helper" is not registered yet
    await papp.bus.join()
    assert rewards == []
    await register(papp)
    assert "suspended" in (await run(papp, "invite helper")).text  # the core's record still blocks it
