"""Steward's actions performed on the mock Slack: agent posts through the publisher, approval prompts and their
buttons, DM fallbacks, channel membership of agents, slash commands."""

from __future__ import annotations

import pytest

from adapters.slack import create_adapter
from bot.actions import (
    AddAgentToChannel,
    AgentIdentity,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    TimeoutMember,
)
from bot.config import ConfigError
from bot.events import ButtonPressed, MessageCreated, ReactionAdded
from domain import ActorKind, Room
from storage.core import AgentRecord
from tests.e2e.slack.helpers_cog import OWNER
from tests.e2e.slack.mock_slack import (
    ADMIN_USER,
    BOT_TOKEN,
    BOT_USER,
    TEAM,
    block_actions_body,
    command_body,
    event_body,
    message_event,
    wait_for,
)

CHANNEL = "C0GENERAL"
ROOM = Room("slack", TEAM, CHANNEL)


async def test_an_agent_message_through_the_publisher_is_posted_with_its_name_and_icon(start_slack):
    h = await start_slack()
    await h.app.agents.register(
        AgentRecord(
            name="helper",
            platform="slack",
            owner_id=OWNER,
            display_name="Helper Bot",
            avatar_url="https://example.org/helper.png",
        )
    )

    result = await h.app.publisher.submit("helper", ROOM, "Hello <!channel>, see <@U0ALICE> & <http://x|y>")

    assert result.posted and result.message_id
    [call] = h.mock.calls_to("chat.postMessage")
    assert call.token == BOT_TOKEN
    assert call.params["channel"] == CHANNEL
    assert call.params["username"] == "Helper Bot"
    assert call.params["icon_url"] == "https://example.org/helper.png"
    # No broadcast ping or disguised link can pass through an agent's words; user mentions stay live.
    assert call.params["text"] == "Hello &lt;!channel&gt;, see <@U0ALICE> &amp; &lt;http://x|y&gt;"

    # Replies and reactions to that post are credited to the agent, although Slack shows Steward's bot as author.
    reply = message_event(
        CHANNEL, "U0ALICE", "thanks!", "1700000001.000001", thread_ts=result.message_id, parent_user_id=BOT_USER
    )
    reaction = {
        "type": "reaction_added",
        "user": "U0ALICE",
        "reaction": "tada",
        "item_user": BOT_USER,
        "item": {"type": "message", "channel": CHANNEL, "ts": result.message_id},
    }
    await h.send_event(event_body(reply))
    await h.send_event(event_body(reaction))
    await wait_for(lambda: h.cog.of(ReactionAdded) and [m for m in h.cog.of(MessageCreated) if not m.via_steward])
    [thanks] = [m for m in h.cog.of(MessageCreated) if not m.via_steward]
    assert thanks.reply_to == result.message_id
    assert thanks.reply_to_author is not None
    assert (thanks.reply_to_author.kind, thanks.reply_to_author.id) == (ActorKind.AGENT, "helper")
    [tada] = h.cog.of(ReactionAdded)
    assert tada.message_author is not None and tada.message_author.id == "helper"


async def test_an_approval_prompt_counts_only_the_owners_click_and_only_once(start_slack):
    h = await start_slack()
    result = await h.app.router.perform(
        SendApprovalPrompt(
            target_platform="slack", user_id=OWNER, text="Let *helper* join #general?", kind="trial", key="7"
        )
    )
    assert result.ok and result.channel_id and result.message_id
    [opened] = h.mock.calls_to("conversations.open")
    assert opened.params["users"] == OWNER
    prompt = h.mock.calls_to("chat.postMessage")[-1]
    assert prompt.params["channel"] == result.channel_id
    buttons = prompt.params["blocks"][-1]["elements"]
    assert [(b["action_id"], b.get("style")) for b in buttons] == [
        ("steward:trial:7:approve", "primary"),
        ("steward:trial:7:decline", "danger"),
    ]

    async def click(user: str, choice: str, key: str) -> None:
        body = block_actions_body(
            user=user,
            action_id=f"steward:trial:7:{choice}",
            channel=result.channel_id,
            message_ts=result.message_id,
            response_url=h.mock.response_url(key),
        )
        assert (await h.send_form(body)).status == 200

    await click("U0MALLORY", "approve", "mallory")
    [refusal] = await wait_for(lambda: h.mock.responses.get("mallory"))
    assert refusal == {
        "text": "Only the agent's owner can decide.",
        "response_type": "ephemeral",
        "replace_original": False,
    }
    assert not h.mock.calls_to("chat.update")

    await click(OWNER, "approve", "owner")
    await wait_for(lambda: h.mock.responses.get("owner"))
    [update] = h.mock.calls_to("chat.update")
    assert update.params["channel"] == result.channel_id and update.params["ts"] == result.message_id
    assert update.params["text"] == f"Trial 7: approve by <@{OWNER}>"
    assert all(block["type"] != "actions" for block in update.params["blocks"])  # the buttons are gone

    await click(OWNER, "decline", "again")
    [again] = await wait_for(lambda: h.mock.responses.get("again"))
    assert again["text"] == "Already decided: approve."
    assert len(h.mock.calls_to("chat.update")) == 1
    pressed = h.cog.of(ButtonPressed)
    assert [p.actor.id for p in pressed] == ["U0MALLORY", OWNER, OWNER]
    assert pressed[0].room == Room("slack", TEAM, result.channel_id)


async def test_a_dm_that_fails_falls_back_to_the_room_and_says_so(start_slack):
    h = await start_slack()
    h.mock.dm_blocked.add("U0SHY")

    result = await h.app.router.perform(
        SendDirectMessage(target_platform="slack", user_id="U0SHY", text="your agent was invited", fallback_room=ROOM)
    )

    assert result.ok and result.note == "dm_failed_fallback" and result.channel_id == CHANNEL
    posted = h.mock.calls_to("chat.postMessage")[-1]
    assert posted.params["channel"] == CHANNEL
    assert posted.params["text"].startswith("<@U0SHY> ")
    assert h.app.metrics.value("steward_slack_dm_fallbacks_total") == 1
    assert (
        h.app.metrics.value("steward_slack_api_errors_total", method="conversations.open", error="cannot_dm_bot") == 1
    )


async def test_a_dm_falls_back_to_the_configured_channel_or_fails_clearly(start_slack):
    h = await start_slack(dm_fallback_channels={TEAM: "C0FALLBACK"})
    h.mock.dm_blocked.add("U0SHY")
    h.mock.fail["chat.postMessage"] = "channel_not_found"

    failed = await h.app.router.perform(
        SendApprovalPrompt(
            target_platform="slack", user_id="U0SHY", text="?", kind="trial", key="8", fallback_room=ROOM
        )
    )

    assert not failed.ok and "U0SHY" in (failed.error or "")
    del h.mock.fail["chat.postMessage"]
    h.mock.calls.clear()
    # The user was seen in this workspace: the configured fallback channel of the workspace is used.
    await h.send_event(event_body(message_event(CHANNEL, "U0SHY", "hi", "1700000002.000001")))
    await wait_for(lambda: h.cog.of(MessageCreated))
    ok = await h.app.router.perform(SendDirectMessage(target_platform="slack", user_id="U0SHY", text="psst"))
    assert ok.ok and ok.note == "dm_failed_fallback" and ok.channel_id == "C0FALLBACK"


async def test_agents_bot_users_are_invited_and_removed_and_timeouts_are_refused(start_slack):
    h = await start_slack()
    scout = AgentIdentity(name="scout", display_name="Scout", platform_user_id="U0SCOUTBOT")

    added = await h.app.router.perform(AddAgentToChannel(room=ROOM, agent=scout))
    removed = await h.app.router.perform(RemoveAgentFromChannel(room=ROOM, agent=scout, reason="capacity"))
    managed = await h.app.router.perform(AddAgentToChannel(room=ROOM, agent=AgentIdentity(name="helper")))
    timeout = await h.app.router.perform(TimeoutMember(room=ROOM, user_id="U0ALICE", seconds=60))

    assert added.ok and removed.ok
    assert h.mock.calls_to("conversations.invite")[0].params == {"channel": CHANNEL, "users": "U0SCOUTBOT"}
    assert h.mock.calls_to("conversations.kick")[0].params == {"channel": CHANNEL, "user": "U0SCOUTBOT"}
    assert managed.ok and managed.note == "no_bot_user_to_invite"
    assert not timeout.ok and "no member timeout" in (timeout.error or "")

    h.mock.fail["conversations.invite"] = "restricted_action"
    refused = await h.app.router.perform(AddAgentToChannel(room=ROOM, agent=scout))
    assert not refused.ok and "restricted_action" in (refused.error or "")
    assert h.app.metrics.value(
        "steward_slack_api_errors_total", method="conversations.invite", error="restricted_action"
    )


async def test_slash_commands_run_the_registry_with_admin_rights_from_slack(start_slack):
    h = await start_slack()

    async def run(user: str, text: str, key: str) -> str:
        body = command_body(user=user, text=text, channel=CHANNEL, response_url=h.mock.response_url(key))
        assert (await h.send_form(body)).status == 200
        [answer] = await wait_for(lambda: h.mock.responses.get(key))
        assert answer["response_type"] == "ephemeral"
        return answer["text"]

    assert "status: ok" in await run("U0ALICE", "status", "status")
    assert await run("U0ALICE", "secret", "denied") == "'secret' is for server admins"
    assert await run(ADMIN_USER, "secret", "granted") == "the secret is 42"
    assert "announce" in await run("U0ALICE", "", "help")
    assert await run("U0ALICE", "announce the build is green", "announce") == "announced"
    notice = h.mock.calls_to("chat.postMessage")[-1]
    assert notice.params["channel"] == CHANNEL and notice.params["text"] == "the build is green"
    assert "unknown command" in await run("U0ALICE", "nope", "unknown")
    # users.info answers are cached: one lookup per user however many commands they run.
    lookups = [c.params["user"] for c in h.mock.calls_to("users.info")]
    assert sorted(lookups) == sorted(set(lookups))


async def test_secrets_in_the_configuration_file_are_refused(make_settings):
    settings = make_settings(slack={"bot_token": "xoxb-in-a-file", "mode": "http", "signing_secret": "in-a-file"})
    with pytest.raises(ConfigError) as info:
        create_adapter(settings)
    assert "slack.bot_token" in str(info.value) and "STEWARD_SLACK__BOT_TOKEN" in str(info.value)
    assert "slack.signing_secret" in str(info.value)


async def test_incomplete_slack_configuration_names_the_missing_secret(make_settings, monkeypatch):
    monkeypatch.setenv("STEWARD_SLACK__BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError) as info:
        make_settings(slack={"mode": "socket"})
    assert "STEWARD_SLACK__APP_TOKEN" in str(info.value)


async def test_an_answer_whose_response_url_fails_is_posted_ephemerally_instead(start_slack):
    h = await start_slack()
    prompt = await h.app.router.perform(
        SendApprovalPrompt(target_platform="slack", user_id=OWNER, text="Go?", kind="trial", key="11")
    )
    body = block_actions_body(
        user="U0MALLORY",
        action_id="steward:trial:11:approve",
        channel=prompt.channel_id,
        message_ts=prompt.message_id,
        response_url=f"{h.mock.url}/gone",  # Slack's response_url has expired: 404
    )

    assert (await h.send_form(body)).status == 200

    [ephemeral] = await wait_for(lambda: h.mock.calls_to("chat.postEphemeral"))
    assert ephemeral.params == {
        "channel": prompt.channel_id,
        "user": "U0MALLORY",
        "text": "Only the agent's owner can decide.",
    }
    assert h.app.metrics.value("steward_slack_api_errors_total", method="response_url", error="http_404")
