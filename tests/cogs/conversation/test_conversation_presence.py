"""The conversation moderator with the presence coordinator running: invitations the moderator asks for reach the
agent's owner, removals take the agent out, and review mode holds drafts for the owner."""

from __future__ import annotations

from bot.actions import AddAgentToChannel, RemoveAgentFromChannel, SendApprovalPrompt
from bot.commands import CommandInvocation
from bot.events import AgentJoined, AgentLeft, ButtonPressed, MessageScored
from bot.services import DraftReview
from domain import Actor, ActorKind
from tests.cogs.conversation.conftest import ROOM


async def test_the_moderator_works_through_the_presence_coordinator(start_chat):
    # The system may invite an agent only when its owner's invitation policy says "anyone".
    chat = await start_chat(
        cogs=("presence", "conversation"), sections={"presence": {"default_invitation_policy": "anyone"}}
    )
    assert DraftReview in chat.app.services

    # A topic that ops covers, and ops is not here: its owner is asked.
    await chat.say("alice", "the deploy failed again")
    await chat.say("bob", "should we rollback?")
    [prompt] = [p for p in chat.adapter.of(SendApprovalPrompt) if p.kind == "invite"]
    assert prompt.user_id == "owner-of-ops"
    owner = Actor("test", "owner-of-ops", ActorKind.HUMAN, "owner")
    await chat.app.bus.dispatch(
        ButtonPressed(at=chat.clock.now(), actor=owner, custom_id=prompt.buttons[0].custom_id, interaction_id="i1")
    )
    await chat.app.bus.join()
    assert [a.agent.name for a in chat.adapter.of(AddAgentToChannel)] == ["ops"]
    assert [e.agent for e in chat.of(AgentJoined)] == ["ops"]
    assert "ops" in chat.cog.states[ROOM.key].present

    # ops turns hostile with alice: the moderator asks for its removal and the coordinator performs it.
    m1 = await chat.say("alice", "ops, your rollback broke prod")
    reply = await chat.agent("ops", "you broke it yourself, genius", reply_to=m1)
    assert reply.posted
    m3 = await chat.say("alice", "useless bot", reply_to=reply.message_id)
    for message_id, author, kind in ((reply.message_id, "ops", ActorKind.AGENT), (m3, "alice", ActorKind.HUMAN)):
        await chat.app.bus.dispatch(
            MessageScored(
                at=chat.clock.now(),
                room=ROOM,
                message_id=message_id,
                author=Actor("test", author, kind, author),
                scores={"toxicity": 0.85},
            )
        )
    await chat.app.bus.join()
    assert [a.agent.name for a in chat.adapter.of(RemoveAgentFromChannel)] == ["ops"]
    [left] = chat.of(AgentLeft)
    assert left.agent == "ops" and left.forced
    assert "ops" not in chat.cog.states[ROOM.key].present

    # Review mode: an agent's message becomes a draft its owner approves.
    admin = Actor("test", "alice", ActorKind.HUMAN, "alice")
    await chat.app.commands.invoke(CommandInvocation.parse("mode review", actor=admin, room=ROOM, is_admin=True))
    held = await chat.agent("helper", "a careful answer")
    assert held.held is not None and held.held.startswith("draft:") and not held.posted
    [draft_prompt] = [p for p in chat.adapter.of(SendApprovalPrompt) if p.kind == "draft"]
    assert draft_prompt.user_id == "owner-of-helper" and "a careful answer" in draft_prompt.text
