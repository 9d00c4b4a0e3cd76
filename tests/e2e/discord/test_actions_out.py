"""Core actions out: what Steward asks for reaches the fake Discord as the right REST calls, and Discord's
refusals come back as failed results, never as exceptions."""

from __future__ import annotations

from bot.actions import (
    AddAgentToChannel,
    AgentIdentity,
    Button,
    ButtonStyle,
    DeleteMessage,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    TimeoutMember,
    button_id,
)
from bot.events import MessageCreated, MessageEdited
from domain import Room
from storage.core import AgentRecord
from tests.e2e.discord.conftest import eventually, probe

AGENT_AVATAR = "https://example.org/helper.png"


def room(world) -> Room:
    return Room("discord", world.guild["id"], world.general["id"])


async def test_send_message_with_reply_and_buttons(world, start_steward):
    app, _adapter = await start_steward()
    parent = await world.fake.user_says(world.general["id"], world.alice, "can someone help?")
    buttons = (Button("Yes", button_id("poll", "7", "yes"), ButtonStyle.SUCCESS),)

    result = await app.router.perform(
        SendMessage(room=room(world), text="Steward here", reply_to=parent["id"], buttons=buttons)
    )

    assert result.ok and result.channel_id == world.general["id"]
    [call] = world.fake.calls_to("POST", f"/channels/{world.general['id']}/messages")
    assert call.json["content"] == "Steward here"
    assert str(call.json["message_reference"]["message_id"]) == parent["id"]
    [row] = call.json["components"]
    assert [(c["custom_id"], c["label"], c["style"]) for c in row["components"]] == [("steward:poll:7:yes", "Yes", 3)]
    assert world.fake.messages[result.message_id]["content"] == "Steward here"
    assert call.json["allowed_mentions"]["parse"] == ["users"]  # never @everyone or roles


async def test_an_agent_message_goes_through_the_publisher_and_a_cached_webhook(world, start_steward):
    app, _adapter = await start_steward()
    await app.agents.register(
        AgentRecord(
            name="helper",
            platform="discord",
            owner_id=world.alice["id"],
            display_name="Helper",
            avatar_url=AGENT_AVATAR,
        )
    )

    first = await app.publisher.submit("helper", room(world), "Hello, I can summarise this thread.")
    second = await app.publisher.submit("helper", room(world), "Here is the summary you asked for.")

    assert first.posted and second.posted, (first, second)
    assert len(world.fake.calls_to("POST", f"/channels/{world.general['id']}/webhooks")) == 1  # created once
    executions = world.fake.calls_to("POST", r"/webhooks/\d+/wtoken-\d+")
    assert [(c.json["username"], c.json["avatar_url"], c.json["content"]) for c in executions] == [
        ("Helper", AGENT_AVATAR, "Hello, I can summarise this thread."),
        ("Helper", AGENT_AVATAR, "Here is the summary you asked for."),
    ]
    assert executions[0].query["wait"] in ("1", "true")  # Discord returns the message only when asked to wait
    assert executions[0].json["allowed_mentions"]["parse"] == ["users"]
    assert world.fake.messages[first.message_id]["webhook_id"] in world.fake.webhooks

    # The webhook's echo comes back through the gateway; only the publisher's via_steward copy is on the bus.
    await world.fake.user_says(world.general["id"], world.bob, "thanks")
    await eventually(lambda: [e for e in probe(app).of(MessageCreated) if e.text == "thanks"])
    await app.bus.join()
    copies = [e for e in probe(app).of(MessageCreated) if e.message_id == first.message_id]
    assert [(c.via_steward, c.author.id) for c in copies] == [(True, "helper")]
    assert app.metrics.value("steward_discord_ignored_total", reason="own_webhook") == 2

    # A reply to the agent's message names the agent as the parent's author.
    await world.fake.user_says(world.general["id"], world.bob, "great summary", reply_to=first.message_id)
    [reply] = await eventually(lambda: [e for e in probe(app).of(MessageCreated) if e.text == "great summary"])
    assert reply.reply_to_author is not None and reply.reply_to_author.id == "helper"


async def test_after_a_restart_the_existing_webhook_is_reused(world, start_steward):
    app, _adapter = await start_steward()
    await app.agents.register(AgentRecord(name="helper", platform="discord", owner_id=world.alice["id"]))
    assert (await app.publisher.submit("helper", room(world), "first life")).posted
    await app.stop()

    app2, _adapter2 = await start_steward()
    assert (await app2.publisher.submit("helper", room(world), "second life")).posted
    assert len(world.fake.webhooks) == 1
    assert len(world.fake.calls_to("POST", f"/channels/{world.general['id']}/webhooks")) == 1


async def test_delete_timeout_and_channel_access_for_an_agent(world, start_steward):
    app, _adapter = await start_steward()
    victim = await world.fake.user_says(world.general["id"], world.bob, "spam spam spam")
    agent = AgentIdentity(name="helper", display_name="Helper", platform_user_id=world.agent_bot["id"])

    deleted = await app.router.perform(DeleteMessage(room=room(world), message_id=victim["id"], reason="spam"))
    timed_out = await app.router.perform(
        TimeoutMember(room=room(world), user_id=world.bob["id"], seconds=600, reason="spam")
    )
    added = await app.router.perform(AddAgentToChannel(room=room(world), agent=agent))
    overwrite_after_add = dict(world.general["permission_overwrites"][0])
    removed = await app.router.perform(RemoveAgentFromChannel(room=room(world), agent=agent, reason="left"))
    managed = await app.router.perform(AddAgentToChannel(room=room(world), agent=AgentIdentity(name="webhook-only")))

    assert all(r.ok for r in (deleted, timed_out, added, removed, managed))
    assert victim["id"] not in world.fake.messages
    [delete_call] = world.fake.calls_to("DELETE", rf"/channels/{world.general['id']}/messages/{victim['id']}")
    assert delete_call.json is None
    assert world.fake.members[(world.guild["id"], world.bob["id"])]["communication_disabled_until"] is not None
    assert overwrite_after_add["id"] == world.agent_bot["id"] and overwrite_after_add["type"] == 1
    assert int(overwrite_after_add["allow"]) & (1 << 11) and overwrite_after_add["deny"] == "0"  # send messages
    [overwrite] = world.fake.channels[world.general["id"]]["permission_overwrites"]
    assert overwrite["allow"] == "0" and int(overwrite["deny"]) & (1 << 10)  # view channel denied
    assert managed.note == "no_platform_user"  # a webhook-only agent needs no overwrite


async def test_discord_refusals_become_failed_results_and_the_next_action_still_works(world, start_steward):
    app, _adapter = await start_steward()
    channel_messages = f"/channels/{world.general['id']}/messages"
    world.fake.fail_next[("POST", channel_messages)] = (403, 50013, "Missing Permissions")

    forbidden = await app.router.perform(SendMessage(room=room(world), text="hello"))
    missing = await app.router.perform(DeleteMessage(room=room(world), message_id="123456789"))
    malformed = await app.router.perform(DeleteMessage(room=room(world), message_id="not-an-id"))
    too_long = await app.router.perform(TimeoutMember(room=room(world), user_id=world.bob["id"], seconds=10**9))
    fine = await app.router.perform(SendMessage(room=room(world), text="hello again"))

    assert not forbidden.ok and "50013" in forbidden.error and "Missing Permissions" in forbidden.error
    assert not missing.ok and "10008" in missing.error
    assert not malformed.ok and "not a Discord id" in malformed.error
    assert not too_long.ok and "timeout lasts" in too_long.error
    assert fine.ok
    errors = "steward_discord_action_errors_total"
    assert app.metrics.value(errors, action="SendMessage", reason="forbidden") == 1
    assert app.metrics.value(errors, action="DeleteMessage", reason="not_found") == 1
    assert app.metrics.value(errors, action="DeleteMessage", reason="invalid") == 1
    assert app.metrics.value("steward_actions_total", action="SendMessage", platform="discord", outcome="failed") == 1


async def test_discord_rate_limits_are_waited_out_by_discord_py(world, start_steward):
    app, _adapter = await start_steward()
    path = f"/channels/{world.general['id']}/messages"
    world.fake.rate_limit_next[("POST", path)] = 0.05

    result = await app.router.perform(SendMessage(room=room(world), text="patience"))

    assert result.ok
    assert len(world.fake.calls_to("POST", path)) == 2  # the 429, then the retry


async def test_a_dm_the_user_blocks_falls_back_to_the_servers_configured_channel(world, start_steward):
    app, _adapter = await start_steward(dm_fallback_channels={world.guild["id"]: world.fallback["id"]})
    world.fake.dm_blocked.add(world.alice["id"])

    prompt = SendApprovalPrompt(
        target_platform="discord", user_id=world.alice["id"], text="Let Helper join #general?", kind="invite", key="42"
    )
    result = await app.router.perform(prompt)

    assert result.ok and result.note == "dm_failed_fallback" and result.channel_id == world.fallback["id"]
    posted = world.fake.messages[result.message_id]
    assert posted["channel_id"] == world.fallback["id"]
    assert posted["content"] == f"<@{world.alice['id']}> Let Helper join #general?"
    assert [c["custom_id"] for c in posted["components"][0]["components"]] == [
        "steward:invite:42:approve",
        "steward:invite:42:decline",
    ]
    [call] = world.fake.calls_to("POST", f"/channels/{world.fallback['id']}/messages")
    assert [str(u) for u in call.json["allowed_mentions"]["users"]] == [world.alice["id"]]
    assert app.metrics.value("steward_discord_dm_fallbacks_total", outcome="fallback") == 1

    # The action's own fallback room wins over the configured one; with neither, the DM fails clearly.
    explicit = await app.router.perform(
        SendDirectMessage(target_platform="discord", user_id=world.alice["id"], text="hi", fallback_room=room(world))
    )
    assert explicit.ok and explicit.channel_id == world.general["id"] and explicit.note == "dm_failed_fallback"
    # Someone who blocks DMs and shares no server that has a fallback channel: a clear failure.
    stranger = world.fake.user("stranger")
    world.fake.dm_blocked.add(stranger["id"])
    lost = await app.router.perform(SendDirectMessage(target_platform="discord", user_id=stranger["id"], text="hi"))
    assert not lost.ok and "no fallback channel" in lost.error


async def test_a_dm_that_fails_with_no_fallback_is_a_clear_failure(world, start_steward):
    app, _adapter = await start_steward()
    world.fake.dm_blocked.add(world.bob["id"])

    result = await app.router.perform(SendDirectMessage(target_platform="discord", user_id=world.bob["id"], text="hi"))

    assert not result.ok and "50007" in result.error and "no fallback channel" in result.error
    assert app.metrics.value("steward_discord_dm_fallbacks_total", outcome="lost") == 1


async def test_threads_are_rooms_and_agents_post_into_them_through_the_parents_webhook(world, start_steward):
    thread = world.fake.add_thread(world.general, "planning")
    app, _adapter = await start_steward()
    await app.agents.register(AgentRecord(name="helper", platform="discord", owner_id=world.alice["id"]))

    await world.fake.user_says(thread["id"], world.alice, "in the thread")
    [said] = await eventually(lambda: [e for e in probe(app).of(MessageCreated) if e.text == "in the thread"])
    assert said.room == Room("discord", world.guild["id"], thread["id"]) and said.thread_id == thread["id"]

    result = await app.publisher.submit("helper", said.room, "agent in the thread", thread_id=said.thread_id)

    assert result.posted
    [hook] = world.fake.webhooks.values()
    assert hook["channel_id"] == world.general["id"]  # webhooks live on the parent channel
    [execution] = world.fake.calls_to("POST", r"/webhooks/\d+/wtoken-\d+")
    assert execution.query["thread_id"] == thread["id"]
    assert world.fake.messages[result.message_id]["channel_id"] == thread["id"]


async def test_a_foreign_webhook_registered_as_an_agent_speaks_as_that_agent(world, start_steward):
    app, _adapter = await start_steward()
    foreign = {"id": world.fake.snowflake(), "channel_id": world.general["id"], "token": "other", "user": world.bob}
    foreign |= {"type": 1, "name": "their-hook", "avatar": None, "guild_id": world.guild["id"]}
    world.fake.webhooks[foreign["id"]] = foreign
    await app.agents.register(
        AgentRecord(name="hooked", platform="discord", owner_id=world.bob["id"], platform_user_id=foreign["id"])
    )
    author = {**world.fake.user("Hooked Agent", bot=True), "id": foreign["id"]}
    message = world.fake._message(world.general["id"], author, "posted by a webhook", webhook_id=foreign["id"])
    await world.fake.dispatch("MESSAGE_CREATE", message, guild_id=world.guild["id"])

    [said] = await eventually(lambda: [e for e in probe(app).of(MessageCreated) if e.text == "posted by a webhook"])
    assert said.author.id == "hooked" and said.author.kind.value == "agent"


async def test_a_button_id_discord_could_not_route_back_fails_the_action(world, start_steward):
    app, _adapter = await start_steward()
    prompt = SendApprovalPrompt(
        target_platform="discord", user_id=world.alice["id"], text="?", kind="invite", key="has space"
    )
    result = await app.router.perform(prompt)
    assert not result.ok and "does not match" in result.error
    assert world.fake.calls_to("POST", r"/channels/\d+/messages") == []


async def test_after_a_restart_old_agent_posts_are_still_known_as_steward_s(world, start_steward):
    app, _adapter = await start_steward()
    await app.agents.register(
        AgentRecord(name="helper", platform="discord", owner_id=world.alice["id"], display_name="Helper")
    )
    posted = await app.publisher.submit("helper", room(world), "posted before the restart")
    assert posted.posted
    await app.stop()

    lookups = f"/channels/{world.general['id']}/webhooks"
    before = len(world.fake.calls_to("GET", lookups))
    app2, _adapter2 = await start_steward()
    # Discord re-sends the old message (a link preview arrived): it is Steward's own webhook, not a stranger's.
    await world.fake.user_edits(posted.message_id, "posted before the restart")
    await world.fake.user_says(world.general["id"], world.bob, "replying to the agent", reply_to=posted.message_id)

    [reply] = await eventually(lambda: [e for e in probe(app2).of(MessageCreated) if e.text == "replying to the agent"])
    assert reply.reply_to_author is not None and reply.reply_to_author.id == "helper"
    await app2.bus.join()
    assert probe(app2).of(MessageEdited) == []
    assert app2.metrics.value("steward_discord_ignored_total", reason="own_webhook") == 1
    assert len(world.fake.calls_to("GET", lookups)) == before + 1  # the new process looked the webhooks up once


async def test_a_deleted_webhook_is_made_again_once(world, start_steward):
    app, _adapter = await start_steward()
    await app.agents.register(AgentRecord(name="helper", platform="discord", owner_id=world.alice["id"]))
    assert (await app.publisher.submit("helper", room(world), "with the first webhook")).posted
    [first] = list(world.fake.webhooks)
    del world.fake.webhooks[first]  # a server admin deleted it

    again = await app.publisher.submit("helper", room(world), "with a new webhook")

    assert again.posted
    [second] = list(world.fake.webhooks)
    assert second != first and world.fake.messages[again.message_id]["webhook_id"] == second
