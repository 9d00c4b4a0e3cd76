"""Gateway events in: what a Discord server does arrives on Steward's bus as core events."""

from __future__ import annotations

import pytest

from bot.events import MemberJoined, MemberLeft, MessageCreated, MessageDeleted, MessageEdited, ReactionAdded
from domain import ActorKind, Room
from storage.core import AgentRecord
from tests.e2e.discord.conftest import eventually, probe


def created(app, text: str) -> list[MessageCreated]:
    return [e for e in probe(app).of(MessageCreated) if e.text == text]


async def test_a_members_message_arrives_with_room_author_and_roles(world, start_steward):
    app, _adapter = await start_steward()
    sent = await world.fake.user_says(world.general["id"], world.alice, "hello there")

    [event] = await eventually(lambda: created(app, "hello there"))
    assert event.room == Room("discord", world.guild["id"], world.general["id"])
    assert event.message_id == sent["id"]
    assert event.author.id == world.alice["id"]
    assert event.author.kind is ActorKind.HUMAN
    assert event.author.display_name == "alice"
    assert {world.helper_role["id"], "helpers"} <= event.author.roles
    assert not event.via_steward


async def test_registered_agent_bots_are_agents_and_other_bots_are_bots(world, start_steward):
    app, _adapter = await start_steward()
    await app.agents.register(
        AgentRecord(
            name="helper",
            platform="discord",
            owner_id=world.alice["id"],
            display_name="Helper",
            kind="bot_user",
            platform_user_id=world.agent_bot["id"],
        )
    )
    await world.fake.user_says(world.general["id"], world.agent_bot, "I am an agent")
    await world.fake.user_says(world.general["id"], world.other_bot, "sunny today")

    [agent_msg] = await eventually(lambda: created(app, "I am an agent"))
    [bot_msg] = await eventually(lambda: created(app, "sunny today"))
    assert agent_msg.author.kind is ActorKind.AGENT and agent_msg.author.id == "helper"
    assert agent_msg.author.display_name == "Helper"
    assert bot_msg.author.kind is ActorKind.BOT and bot_msg.author.id == world.other_bot["id"]


async def test_replies_name_their_parent_and_its_author(world, start_steward):
    app, _adapter = await start_steward()
    parent = await world.fake.user_says(world.general["id"], world.alice, "what time is it?")
    await world.fake.user_says(world.general["id"], world.bob, "noon", reply_to=parent["id"])

    [reply] = await eventually(lambda: created(app, "noon"))
    assert reply.reply_to == parent["id"]
    assert reply.reply_to_author is not None and reply.reply_to_author.id == world.alice["id"]


async def test_steward_ignores_its_own_messages(world, start_steward):
    app, _adapter = await start_steward()
    own = world.fake._message(world.general["id"], world.fake.bot_user, "a notice from Steward")
    await world.fake.dispatch("MESSAGE_CREATE", own, guild_id=world.guild["id"])
    await world.fake.user_says(world.general["id"], world.alice, "after the notice")

    await eventually(lambda: created(app, "after the notice"))
    await app.bus.join()
    assert created(app, "a notice from Steward") == []
    assert app.metrics.value("steward_discord_ignored_total", reason="own_message") == 1


async def test_edits_deletions_reactions_and_joins_become_core_events(world, start_steward):
    app, _adapter = await start_steward()
    message = await world.fake.user_says(world.general["id"], world.alice, "first version")
    await eventually(lambda: created(app, "first version"))

    await world.fake.user_edits(message["id"], "second version")
    [edit] = await eventually(lambda: probe(app).of(MessageEdited))
    assert (edit.message_id, edit.text, edit.author.id) == (message["id"], "second version", world.alice["id"])

    await world.fake.user_reacts(message["id"], world.bob, "👍")
    [reaction] = await eventually(lambda: probe(app).of(ReactionAdded))
    assert reaction.emoji == "👍" and reaction.actor.id == world.bob["id"]
    assert reaction.message_author is not None and reaction.message_author.id == world.alice["id"]

    newcomer = world.fake.user("carol")
    await world.fake.member_joins(world.guild["id"], newcomer)
    [joined] = await eventually(lambda: probe(app).of(MemberJoined))
    assert joined.member.id == newcomer["id"] and joined.room.server == world.guild["id"]

    await world.fake.dispatch(
        "GUILD_MEMBER_REMOVE", {"guild_id": world.guild["id"], "user": newcomer}, guild_id=world.guild["id"]
    )
    [left] = await eventually(lambda: probe(app).of(MemberLeft))
    assert left.member.id == newcomer["id"] and left.room.server == world.guild["id"]

    await world.fake.dispatch(
        "MESSAGE_DELETE",
        {"id": message["id"], "channel_id": world.general["id"], "guild_id": world.guild["id"]},
        guild_id=world.guild["id"],
    )
    [deleted] = await eventually(lambda: probe(app).of(MessageDeleted))
    assert deleted.message_id == message["id"] and deleted.room.channel == world.general["id"]


@pytest.mark.parametrize("abrupt", [False, True], ids=["closed-by-discord", "network-cut"])
async def test_a_dropped_gateway_connection_resumes_and_events_flow_again(world, start_steward, abrupt):
    app, adapter = await start_steward()
    await world.fake.user_says(world.general["id"], world.alice, "before the drop")
    await eventually(lambda: created(app, "before the drop"))

    await world.fake.drop_connections(abrupt=abrupt)
    # Said while Steward is disconnected: Discord keeps it for the session and replays it on RESUME.
    await world.fake.user_says(world.general["id"], world.bob, "during the drop")
    await eventually(lambda: world.fake.resumes)
    await world.fake.user_says(world.general["id"], world.alice, "after the drop")

    await eventually(lambda: created(app, "during the drop") and created(app, "after the drop"))
    assert len(world.fake.identifies) == 1  # resumed, not a new session
    assert world.fake.resumes[0]["session_id"] == next(iter(world.fake.sessions))
    await eventually(lambda: adapter.health()["up"])
    assert adapter.health()["gateway"]["resumed"] == 1
    assert app.metrics.value("steward_discord_gateway_total", event="disconnect") >= 1


async def test_messages_reach_the_bus_in_the_order_discord_sent_them(world, start_steward):
    """An agent's message needs a database lookup to be recognised; a human's message right after it must still
    come second (the moderator's loop and depth rules read the room's order)."""
    app, _adapter = await start_steward()
    await app.agents.register(
        AgentRecord(
            name="helper",
            platform="discord",
            owner_id=world.alice["id"],
            kind="bot_user",
            platform_user_id=world.agent_bot["id"],
        )
    )
    said = []
    for i in range(30):
        speaker = world.agent_bot if i % 2 == 0 else world.alice
        said.append(f"turn {i}")
        await world.fake.user_says(world.general["id"], speaker, f"turn {i}")

    await eventually(lambda: len([e for e in probe(app).of(MessageCreated) if e.text.startswith("turn ")]) == 30)
    heard = [e for e in probe(app).of(MessageCreated) if e.text.startswith("turn ")]
    assert [e.text for e in heard] == said
    assert [e.author.kind for e in heard[:2]] == [ActorKind.AGENT, ActorKind.HUMAN]
