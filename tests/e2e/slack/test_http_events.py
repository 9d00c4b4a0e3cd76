"""Slack HTTP mode end to end: signed requests to Steward's real HTTP server, through slack-bolt, onto the bus."""

from __future__ import annotations

import json
import time

from adapters.slack.adapter import SlackAdapter
from bot.events import MemberJoined, MessageCreated, MessageDeleted, MessageEdited, ReactionAdded
from domain import ActorKind, Room
from storage.core import AgentRecord
from tests.e2e.slack.mock_slack import (
    ADMIN_TOKEN,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    event_body,
    message_event,
    sign,
    wait_for,
)

CHANNEL = "C0GENERAL"


async def test_a_user_message_becomes_a_core_event(start_slack):
    h = await start_slack()
    h.mock.users["U0ALICE"] = {"id": "U0ALICE", "name": "alice", "is_admin": True, "profile": {"display_name": "Alice"}}
    body = event_body(message_event(CHANNEL, "U0ALICE", "hi &lt;team&gt; <@U0BOB> & co", "1700000000.000100"))

    response = await h.send_event(body)

    assert response.status == 200
    [message] = await wait_for(lambda: h.cog.of(MessageCreated))
    assert message.room == Room("slack", TEAM, CHANNEL)
    assert message.message_id == "1700000000.000100"
    assert message.text == "hi <team> <@U0BOB> & co"
    assert message.author.id == "U0ALICE"
    assert message.author.kind is ActorKind.HUMAN
    assert message.author.display_name == "Alice"
    assert "admin" in message.author.roles
    assert message.mentions == ("U0BOB",)
    assert not message.via_steward
    await wait_for(lambda: h.app.metrics.value("steward_slack_events_total", type="message", outcome="published") == 1)


async def test_a_banned_word_gets_the_message_deleted_with_the_admin_token(start_slack):
    h = await start_slack(env={"BOT_TOKEN": BOT_TOKEN, "SIGNING_SECRET": SIGNING_SECRET, "ADMIN_TOKEN": ADMIN_TOKEN})
    ts = h.mock.post_message(CHANNEL, "U0ALICE")

    await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "you BADWORD", ts)))

    deletes = await wait_for(lambda: len(h.mock.calls_to("chat.delete")) == 2 and h.mock.calls_to("chat.delete"))
    assert [c.token for c in deletes] == [BOT_TOKEN, ADMIN_TOKEN]  # the bot may not; the admin's token may
    assert all(c.params == {"channel": CHANNEL, "ts": ts} for c in deletes)
    await wait_for(
        lambda: h.app.metrics.value("steward_actions_total", action="DeleteMessage", platform="slack", outcome="ok")
    )


async def test_without_an_admin_token_deleting_someone_elses_message_fails_and_is_counted(start_slack):
    h = await start_slack()
    ts = h.mock.post_message(CHANNEL, "U0ALICE")

    await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "badword", ts)))

    await wait_for(
        lambda: h.app.metrics.value("steward_actions_total", action="DeleteMessage", platform="slack", outcome="failed")
    )
    assert len(h.mock.calls_to("chat.delete")) == 1
    assert h.app.metrics.value("steward_slack_delete_refused_total") == 1


async def test_a_bad_signature_is_refused_with_401_and_counted(start_slack):
    h = await start_slack()
    body = event_body(message_event(CHANNEL, "U0ALICE", "hello", "1700000000.000200"))

    raw = json.dumps(body)
    forged = sign(raw, secret="not-the-secret")
    stale = sign(raw, timestamp=int(time.time()) - 3600)

    assert (await h.post(raw, content_type="application/json", headers=forged)).status == 401
    assert (await h.post(raw, content_type="application/json", headers=stale)).status == 401
    assert (await h.post(raw, content_type="application/json", headers={})).status == 401

    metrics = h.app.metrics
    assert metrics.value("steward_rejected_input_total", source="slack_http", reason="bad_signature") == 1
    assert metrics.value("steward_rejected_input_total", source="slack_http", reason="stale_timestamp") == 1
    assert metrics.value("steward_rejected_input_total", source="slack_http", reason="missing_signature") == 1
    # A correctly signed request still goes through: nothing was published for the refused ones.
    assert (await h.send_event(body)).status == 200
    await wait_for(lambda: h.cog.of(MessageCreated))
    await h.app.bus.join()
    assert len(h.cog.of(MessageCreated)) == 1


async def test_a_retried_event_is_handled_once(start_slack):
    h = await start_slack()
    body = event_body(message_event(CHANNEL, "U0ALICE", "hello", "1700000000.000300"), event_id="Ev0RETRIED")

    first = await h.send_event(body)
    retry = await h.send_event(body, headers={**sign(json.dumps(body)), "X-Slack-Retry-Num": "1"})
    other = event_body(message_event(CHANNEL, "U0ALICE", "again", "1700000000.000301"))
    await h.send_event(other)

    assert first.status == retry.status == 200
    # Bolt acknowledges first and runs the listener after: wait until all three requests have been handled.
    await wait_for(
        lambda: (
            h.app.metrics.value("steward_slack_events_total", type="message", outcome="duplicate") == 1
            and len(h.cog.of(MessageCreated)) == 2
        )
    )
    await h.app.bus.join()
    assert sorted(m.message_id for m in h.cog.of(MessageCreated)) == ["1700000000.000300", "1700000000.000301"]


async def test_stewards_own_messages_are_ignored_and_other_bots_map_to_agents(start_slack):
    h = await start_slack()
    await h.app.agents.register(
        AgentRecord(name="scout", platform="slack", owner_id="U0OWNER", kind="bot_user", platform_user_id="B0SCOUT")
    )
    own = message_event(CHANNEL, BOT_USER, "posted for an agent", "1700000000.000400", bot_id=BOT_ID)
    scout = {
        "type": "message",
        "subtype": "bot_message",
        "channel": CHANNEL,
        "bot_id": "B0SCOUT",
        "username": "Scout",
        "text": "I am scout",
        "ts": "1700000000.000401",
    }
    stranger = {**scout, "bot_id": "B0OTHER", "username": "Other", "ts": "1700000000.000402"}

    for event in (own, scout, stranger):
        await h.send_event(event_body(event))

    messages = await wait_for(lambda: len(h.cog.of(MessageCreated)) == 2 and h.cog.of(MessageCreated))
    await h.app.bus.join()
    assert len(h.cog.of(MessageCreated)) == 2
    by_id = {m.message_id: m.author for m in messages}
    assert by_id["1700000000.000401"].kind is ActorKind.AGENT
    assert by_id["1700000000.000401"].id == "scout"
    assert by_id["1700000000.000402"].kind is ActorKind.BOT
    assert by_id["1700000000.000402"].id == "B0OTHER"


async def test_edits_deletions_reactions_joins_and_threads(start_slack):
    h = await start_slack()
    parent = "1700000000.000500"
    events = [
        message_event(CHANNEL, "U0BOB", "in a thread", "1700000000.000501", thread_ts=parent, parent_user_id="U0ALICE"),
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": CHANNEL,
            "ts": "1700000000.000502",
            "message": {"type": "message", "user": "U0BOB", "text": "fixed typo", "ts": "1700000000.000501"},
            "previous_message": {"type": "message", "user": "U0BOB", "text": "fixd typo", "ts": "1700000000.000501"},
        },
        {
            "type": "message",
            "subtype": "message_changed",  # an unfurl: same text, not an edit
            "channel": CHANNEL,
            "ts": "1700000000.000503",
            "message": {"type": "message", "user": "U0BOB", "text": "same", "ts": "1700000000.000501"},
            "previous_message": {"type": "message", "user": "U0BOB", "text": "same", "ts": "1700000000.000501"},
        },
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": CHANNEL,
            "ts": "1700000000.000504",
            "deleted_ts": "1700000000.000501",
        },
        {
            "type": "reaction_added",
            "user": "U0CAROL",
            "reaction": "thumbsup",
            "item_user": "U0ALICE",
            "item": {"type": "message", "channel": CHANNEL, "ts": parent},
            "event_ts": "1700000000.000505",
        },
        {"type": "member_joined_channel", "user": "U0DAVE", "channel": CHANNEL, "team": TEAM},
        {"type": "app_home_opened", "user": "U0DAVE", "channel": "D0DAVE", "tab": "home"},
    ]
    for event in events:
        assert (await h.send_event(event_body(event))).status == 200

    kinds = (MessageCreated, MessageEdited, MessageDeleted, ReactionAdded, MemberJoined)
    await wait_for(
        lambda: (
            all(h.cog.of(kind) for kind in kinds)
            and h.app.metrics.value("steward_slack_events_total", type="app_home_opened", outcome="ignored") == 1
        )
    )
    await h.app.bus.join()
    [reply] = h.cog.of(MessageCreated)
    assert reply.thread_id == parent and reply.reply_to == parent
    assert reply.reply_to_author is not None and reply.reply_to_author.id == "U0ALICE"
    [edit] = h.cog.of(MessageEdited)
    assert (edit.message_id, edit.text, edit.author.id) == ("1700000000.000501", "fixed typo", "U0BOB")
    [deleted] = h.cog.of(MessageDeleted)
    assert deleted.message_id == "1700000000.000501"
    [reaction] = h.cog.of(ReactionAdded)
    assert (reaction.emoji, reaction.actor.id, reaction.message_id) == ("thumbsup", "U0CAROL", parent)
    assert reaction.message_author is not None and reaction.message_author.id == "U0ALICE"
    [joined] = h.cog.of(MemberJoined)
    assert joined.member.id == "U0DAVE"


async def test_health_reports_the_adapter(start_slack):
    h = await start_slack()
    adapter = next(a for a in h.app.adapters if isinstance(a, SlackAdapter))
    report = adapter.health()
    assert report["up"] is True
    assert report["team"] == TEAM
    assert report["mode"] == "http"


async def test_an_oversized_request_is_refused_and_counted(start_slack):
    h = await start_slack()
    body = json.dumps(event_body(message_event(CHANNEL, "U0ALICE", "x" * 1_100_000, "1700000000.000600")))

    response = await h.send_event(json.loads(body))

    assert response.status == 413
    assert h.app.metrics.value("steward_rejected_input_total", source="slack_http", reason="too_large") == 1


async def test_slacks_url_verification_challenge_is_answered(start_slack):
    h = await start_slack()
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )

    async with h.session.post(
        h.base + "/slack/events", data=body.encode(), headers={"Content-Type": "application/json", **sign(body)}
    ) as response:
        assert response.status == 200
        assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await response.text()
