"""Invitations end to end on a real app (RecordingAdapter, real SQLite): policy, owner approval by buttons and
commands, join and leave, capacity, cooldown deferral, and what the inviter is told."""

from __future__ import annotations

from bot.actions import (
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    UpdatePrompt,
)
from bot.app import StewardApp
from bot.events import (
    AgentJoined,
    AgentLeft,
    AgentRemovalRequested,
    ButtonPressed,
    FeedbackRecorded,
    InvitationDecided,
    InvitationRequested,
    MemberLeft,
)
from bot.services import AgentDirectory
from domain import SYSTEM_ACTOR, Actor, ActorKind
from storage.presence import InvitationStatus
from tests.support import RecordingAdapter

from .conftest import (
    ADMIN,
    ALICE,
    BOB,
    OTHER_ROOM,
    ROOM,
    THIRD_ROOM,
    collect,
    last_prompt,
    presence_settings,
    register,
    run,
)


def press(custom_id: str, actor: Actor, interaction: str = "i1") -> ButtonPressed:
    return ButtonPressed(actor=actor, custom_id=custom_id, room=ROOM, interaction_id=interaction)


def texts(adapter, kind=SendMessage) -> list[str]:
    return [a.text for a in adapter.of(kind)]


async def test_register_set_show_and_list(papp):
    await register(papp, "helper", "policy=users-and-agents", "max_rooms=2", "topics=python, sql ,python")
    shown = await run(papp, "agent show helper")
    assert "users_and_agents" in shown.text and "max rooms: 2" in shown.text and "topics: python, sql" in shown.text
    listed = await run(papp, "agents")
    assert "helper - owner alice" in listed.text and "in 0/2 rooms" in listed.text
    # Only the owner (or an admin) may change the settings; bad values are named.
    assert not (await run(papp, "agent set helper max_rooms 3", actor=BOB)).ok
    bad = await run(papp, "agent set helper approval sometimes")
    assert not bad.ok and "manual, auto" in bad.text
    assert not (await run(papp, "agent register helper")).ok  # already registered
    assert not (await run(papp, "agent register bad:name")).ok
    directory = papp.services.get(AgentDirectory)
    assert await directory.topics() == {"helper": ["python", "sql"]}


async def test_user_invitation_approved_by_the_owners_button(papp, adapter):
    joined, decided, rewards = (
        collect(papp, AgentJoined),
        collect(papp, InvitationDecided),
        collect(papp, FeedbackRecorded),
    )
    await register(papp)
    reply = await run(papp, "invite helper we need help with SQL", actor=BOB)
    assert reply.ok and "asked the owner" in reply.text
    prompt = last_prompt(adapter)
    assert (prompt.user_id, prompt.target_platform, prompt.kind) == ("alice", "test", "invite")
    assert "Bob" in prompt.text and "we need help with SQL" in prompt.text
    assert not adapter.of(AddAgentToChannel)

    # Someone else's click is refused, privately.
    await papp.bus.dispatch(press(prompt.buttons[0].custom_id, BOB, "i-bob"))
    answer = adapter.of(AnswerInteraction)[-1]
    assert answer.interaction_id == "i-bob" and answer.ephemeral and "Only alice" in answer.text
    assert not adapter.of(AddAgentToChannel)

    await papp.bus.dispatch(press(prompt.buttons[0].custom_id, ALICE, "i-alice"))
    await papp.bus.join()
    assert [a.agent.name for a in adapter.of(AddAgentToChannel)] == ["helper"]
    assert "joined" in adapter.of(AnswerInteraction)[-1].text
    assert any("helper joined" in t for t in texts(adapter, UpdatePrompt))
    assert any("joined (invited by Bob)" in t for t in texts(adapter))  # announced in the room
    assert any("Invitation #1: helper joined" in t for t in texts(adapter))  # the inviter is told
    assert [(e.agent, e.room) for e in joined] == [("helper", ROOM)]
    assert [(d.outcome, d.invitation_id) for d in decided] == [("accepted", 1)]
    assert [(r.reward, r.source) for r in rewards] == [(0.5, "explicit.owner")]

    # A second click learns that it is decided; nothing happens twice.
    await papp.bus.dispatch(press(prompt.buttons[0].custom_id, ALICE, "i-again"))
    assert "already decided" in adapter.of(AnswerInteraction)[-1].text
    assert len(adapter.of(AddAgentToChannel)) == 1
    presence = await run(papp, "presence")
    assert "helper in #general" in presence.text


async def test_owner_declines_by_command_and_the_inviter_hears_why(papp, adapter):
    rewards = collect(papp, FeedbackRecorded)
    await register(papp)
    await run(papp, "invite helper", actor=BOB)
    listed = await run(papp, "invitations")
    assert "#1 helper -> #general" in listed.text and "pending" in listed.text
    assert not (await run(papp, "decline 1", actor=BOB)).ok  # not Bob's agent
    reply = await run(papp, "decline 1 busy this week")
    assert reply.ok and "Declined invitation #1" in reply.text
    assert any("declined: busy this week" in t for t in texts(adapter))
    assert (await run(papp, "approve 1")).text.startswith("Invitation #1 was already decided")
    assert not adapter.of(AddAgentToChannel)
    assert [r.reward for r in rewards] == [-0.3]
    assert (await run(papp, "invitations")).text == "No open invitations."


async def test_owner_invites_and_auto_approval_join_at_once(papp, adapter):
    await register(papp, "helper")
    await register(papp, "scout", "approval=auto")
    assert "joined" in (await run(papp, "invite helper")).text  # by its owner
    assert "auto" in (await run(papp, "invite scout", actor=BOB)).text  # auto approval
    assert [a.agent.name for a in adapter.of(AddAgentToChannel)] == ["helper", "scout"]
    assert not adapter.of(SendDirectMessage)


async def test_declines_are_stored_with_their_reasons(papp, adapter):
    await register(papp, "helper", "policy=owner_only")
    reply = await run(papp, "invite helper", actor=BOB)
    assert not adapter.of(AddAgentToChannel)
    assert "policy is owner_only" in reply.text
    await run(papp, "agent set helper policy any_user")
    assert (await run(papp, "accept_agents off", actor=ADMIN)).ok is False  # admins only
    assert (await run(papp, "accept_agents off", actor=ADMIN, admin=True)).ok
    assert "does not accept agents" in (await run(papp, "invite helper", actor=BOB)).text
    assert "does not accept agents" in (await run(papp, "invite helper")).text  # not even its owner
    cog = papp.cogs.cogs["presence"]
    stored = await cog.store.invitations.list(agents=["helper"])
    assert [(i.status, i.rule) for i in reversed(stored)] == [
        (InvitationStatus.DECLINED, "policy"),
        (InvitationStatus.DECLINED, "room_refuses_agents"),
        (InvitationStatus.DECLINED, "room_refuses_agents"),
    ]
    assert all(i.reason and i.decided_at for i in stored)


async def test_capacity_counts_rooms_and_leaving_frees_it(papp, adapter):
    left = collect(papp, AgentLeft)
    await register(papp, "helper", "max_rooms=1")
    assert "joined" in (await run(papp, "invite helper")).text
    reply = await run(papp, f"invite helper {OTHER_ROOM.key}")
    assert "at capacity (1/1 rooms)" in reply.text
    assert (await run(papp, "leave helper")).text == "helper left #general (g1)."
    assert [(e.agent, e.forced) for e in left] == [("helper", False)]
    assert adapter.of(RemoveAgentFromChannel)[-1].agent.name == "helper"
    assert "joined" in (await run(papp, f"invite helper {OTHER_ROOM.key}")).text
    assert (await run(papp, "leave helper")).text == "helper is not in #general (g1)."


async def test_an_admin_removal_is_a_forced_leave_with_a_penalty(papp, adapter):
    rewards = collect(papp, FeedbackRecorded)
    await register(papp)
    await run(papp, "invite helper")
    assert not (await run(papp, "remove helper", actor=BOB)).ok
    assert (await run(papp, "remove helper spamming", actor=ADMIN, admin=True)).ok
    assert adapter.of(RemoveAgentFromChannel)[-1].reason == "spamming"
    assert [(r.reward, r.source) for r in rewards] == [(-1.0, "presence.forced_leave")]


async def test_cooldown_defers_and_the_retry_asks_the_owner(papp, adapter, clock):
    await register(papp, "helper", "cooldown=60")
    await run(papp, "invite helper")
    reply = await run(papp, f"invite helper {OTHER_ROOM.key}", actor=BOB)
    assert "deferred" in reply.text and "60s" in reply.text
    assert (await papp.scheduler.fire_due()) == 0
    clock.advance(61)
    assert (await papp.scheduler.fire_due()) == 1
    await papp.bus.join()
    prompt = last_prompt(adapter)
    assert prompt.key == "2"
    assert any("Asked the owner of helper" in t for t in texts(adapter, SendMessage))
    assert "joined" in (await run(papp, "approve 2")).text


async def test_a_platform_refusing_the_join_fails_the_invitation(papp, adapter):
    adapter.fail[AddAgentToChannel] = "missing permissions"
    await register(papp)
    reply = await run(papp, "invite helper")
    assert "failed" in reply.text and "missing permissions" in reply.text
    assert (await run(papp, "presence")).text == "No agents here."


async def test_invitation_events_from_the_system_and_agents(papp, adapter):
    await register(papp, "helper", "policy=anyone")
    await register(papp, "other", "policy=any_user")
    await papp.bus.publish(InvitationRequested(agent="helper", room=ROOM, inviter=SYSTEM_ACTOR, reason="topic: sql"))
    await papp.bus.publish(InvitationRequested(agent="other", room=ROOM, inviter=SYSTEM_ACTOR))
    await papp.bus.publish(InvitationRequested(agent="ghost", room=ROOM, inviter=BOB))
    await papp.bus.join()
    assert "topic: sql" in last_prompt(adapter).text
    cog = papp.cogs.cogs["presence"]
    other = await cog.store.invitations.list(agents=["other"])
    assert other[0].rule == "policy" and other[0].inviter_kind == "system"
    assert (
        papp.metrics.value("steward_presence_rejected_total", source="invitation_event", reason="unknown_agent") == 1.0
    )
    # An agent cannot invite itself.
    me = Actor("test", "helper", ActorKind.AGENT, "helper")
    result = await cog.coordinator.request("helper", OTHER_ROOM, me)
    assert result.invitation.rule == "self_invite"


async def test_an_inviter_who_spams_is_declined(make_settings, adapter, clock):
    app = StewardApp(presence_settings(make_settings, inviter_max_invitations=2), adapters=[adapter], clock=clock)
    await app.start()
    try:
        for name in ("a1", "a2", "a3"):
            await register(app, name)
        assert "asked the owner" in (await run(app, "invite a1", actor=BOB)).text
        assert "asked the owner" in (await run(app, "invite a2", actor=BOB)).text
        assert "too many invitations" in (await run(app, "invite a3", actor=BOB)).text
        clock.advance(601)
        assert "asked the owner" in (await run(app, f"invite a3 {THIRD_ROOM.key}", actor=BOB)).text
    finally:
        await app.stop()


async def test_removal_requests_from_the_conversation_moderator(papp, adapter):
    await register(papp)
    await run(papp, "invite helper")
    await papp.bus.publish(AgentRemovalRequested(agent="helper", room=ROOM, reason="off topic", requested_by=BOB))
    await papp.bus.join()
    assert not adapter.of(RemoveAgentFromChannel)  # a plain user may not
    await papp.bus.publish(
        AgentRemovalRequested(agent="helper", room=ROOM, reason="off topic", requested_by=SYSTEM_ACTOR)
    )
    await papp.bus.join()
    assert adapter.of(RemoveAgentFromChannel)[-1].reason == "off topic"


class FallbackAdapter(RecordingAdapter):
    """A platform whose DMs to the owner fail and land in a fallback channel instead."""

    async def perform(self, action):
        if isinstance(action, SendApprovalPrompt):
            self.performed.append(action)
            return ActionResult(ok=True, message_id="p1", channel_id="fallback-chan", note="dm_failed_fallback")
        return await super().perform(action)


async def test_a_failed_dm_falls_back_and_is_recorded(make_settings, clock):
    adapter = FallbackAdapter()
    app = StewardApp(presence_settings(make_settings), adapters=[adapter], clock=clock)
    await app.start()
    try:
        await register(app)
        await run(app, "invite helper", actor=BOB)
        # the platform's configured fallback channel, never the invitation's room (its buttons are the owner's)
        assert last_prompt(adapter).fallback_room is None
        inv = await app.cogs.cogs["presence"].store.invitations.get(1)
        assert (inv.prompt_note, inv.prompt_channel, inv.prompt_message) == (
            "dm_failed_fallback",
            "fallback-chan",
            "p1",
        )
        await run(app, "approve 1")
        update = adapter.of(UpdatePrompt)[-1]
        assert (update.channel_id, update.message_id) == ("fallback-chan", "p1")
    finally:
        await app.stop()


async def test_an_owner_who_cannot_be_reached_can_still_decide_by_command(papp, adapter):
    adapter.fail[SendApprovalPrompt] = "cannot send messages to this user"
    await register(papp)
    reply = (await run(papp, "invite helper", actor=BOB)).text
    assert "could not reach alice, the owner of helper" in reply and "stays pending" in reply
    inv = await papp.cogs.cogs["presence"].store.invitations.get(1)
    assert inv.prompt_note == "failed: cannot send messages to this user" and inv.status.value == "pending"
    assert "#1 helper" in (await run(papp, "invitations")).text
    assert "joined" in (await run(papp, "approve 1")).text


async def test_a_channel_can_refuse_agents_in_the_config(make_settings, adapter, clock):
    settings = make_settings(
        cogs={"enabled": ["presence"]},
        presence={"default_join_cooldown_seconds": 0},
        servers={"g1": {"channels": {"random": {"presence": {"accept_agents": False}}}}},
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        await register(app)
        assert "does not accept agents" in (await run(app, f"invite helper {OTHER_ROOM.key}")).text
        assert "joined" in (await run(app, "invite helper")).text
        # The room's own switch wins over the config.
        await run(app, f"accept_agents on {OTHER_ROOM.key}", actor=ADMIN, admin=True)
        assert "joined" in (await run(app, f"invite helper {OTHER_ROOM.key}")).text
    finally:
        await app.stop()


async def test_unregistering_an_agent_closes_everything_it_had(papp, adapter):
    await register(papp, "helper", "messages=owner_each_draft")
    await run(papp, "invite helper")
    await run(papp, f"invite helper {OTHER_ROOM.key}", actor=BOB)
    await papp.publisher.submit("helper", ROOM, "a draft")
    assert not (await run(papp, "agent unregister helper", actor=BOB)).ok
    reply = await run(papp, "agent unregister helper")
    assert "left 1 room(s), closed 1 invitation(s) and 1 draft(s)" in reply.text
    assert await papp.agents.get("helper") is None
    assert adapter.of(RemoveAgentFromChannel)[-1].agent.name == "helper"
    assert any("unregistered" in t for t in texts(adapter))  # Bob hears his invitation is closed
    assert not (await run(papp, "invite helper")).ok
    assert (await run(papp, "agents")).text == "No agents are registered."
    await register(papp, "helper")  # the name is free again


async def test_the_owner_inviting_where_an_invitation_waits_approves_it(papp, adapter):
    await register(papp)
    await run(papp, "invite helper", actor=BOB)
    reply = await run(papp, "invite helper")
    assert reply.text == "helper joined #general (g1) (approved by the owner)."
    assert len(adapter.of(AddAgentToChannel)) == 1
    assert (await papp.cogs.cogs["presence"].store.invitations.get(1)).status is InvitationStatus.ACCEPTED
    assert any("Invitation #1: helper joined" in t for t in texts(adapter))  # Bob is told


async def test_an_agent_leaving_on_the_platform_ends_its_stay(papp, adapter):
    left = collect(papp, AgentLeft)
    await run(papp, "agent register botty --bot U123 Botty")
    await run(papp, "invite botty")
    assert (await papp.agents.get("botty")).kind == "bot_user"
    await papp.bus.publish(MemberLeft(room=ROOM, member=Actor("test", "U999", ActorKind.BOT)))  # someone else
    await papp.bus.publish(MemberLeft(room=ROOM, member=BOB))
    await papp.bus.join()
    assert not left
    await papp.bus.publish(MemberLeft(room=ROOM, member=Actor("test", "U123", ActorKind.BOT, "Botty")))
    await papp.bus.join()
    assert [(e.agent, e.forced, e.reason) for e in left] == [("botty", False, "left the channel")]
    assert not adapter.of(RemoveAgentFromChannel)  # it is already gone; nothing to do on the platform
    assert (await run(papp, "presence")).text == "No agents here."
