"""The real moderator cog on Slack: a human's filtered word gets the message deleted and the author warned by DM;
an agent's filtered word is rejected by the gate before anything reaches Slack."""

from __future__ import annotations

from domain import Room
from storage.core import AgentRecord
from tests.e2e.slack.mock_slack import (
    ADMIN_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    event_body,
    eventually,
    message_event,
    wait_for,
)

CHANNEL = "C0GENERAL"
MODERATOR = {"moderator": {"filters": {"words": ["frobnicate"]}}}
ENV = {"BOT_TOKEN": BOT_TOKEN, "SIGNING_SECRET": SIGNING_SECRET, "ADMIN_TOKEN": ADMIN_TOKEN}


async def test_a_human_message_with_a_filtered_word_is_deleted_and_its_author_warned(start_slack):
    h = await start_slack(env=ENV, cogs=["moderator"], sections=MODERATOR)
    ts = h.mock.post_message(CHANNEL, "U0ALICE")

    await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "please FROBNICATE it", ts)))

    deletes = await wait_for(lambda: len(h.mock.calls_to("chat.delete")) == 2 and h.mock.calls_to("chat.delete"))
    assert [c.token for c in deletes] == [BOT_TOKEN, ADMIN_TOKEN]
    assert all(c.params == {"channel": CHANNEL, "ts": ts} for c in deletes)
    assert h.app.health()["adapters"]["slack"]["deletes_others"] is True
    # The first step of the warning ladder is a DM to the author.
    await wait_for(lambda: any(c.params.get("users") == "U0ALICE" for c in h.mock.calls_to("conversations.open")))


async def test_an_agent_message_with_a_filtered_word_never_reaches_slack(start_slack):
    h = await start_slack(cogs=["moderator"], sections=MODERATOR)
    await h.app.agents.register(AgentRecord(name="helper", platform="slack", owner_id="U0OWNER"))

    rejected = await h.app.publisher.submit("helper", Room("slack", TEAM, CHANNEL), "let us frobnicate")
    approved = await h.app.publisher.submit("helper", Room("slack", TEAM, CHANNEL), "let us talk")

    assert not rejected.posted and rejected.decision.rule
    assert approved.posted
    [posted] = h.mock.calls_to("chat.postMessage")
    assert posted.params["text"] == "let us talk" and posted.params["username"] == "helper"


async def test_without_a_user_token_a_refused_delete_is_told_and_recorded_as_refused(start_slack):
    h = await start_slack(cogs=["moderator"], sections=MODERATOR)  # a bot token only
    ts = h.mock.post_message(CHANNEL, "U0ALICE")

    await h.send_event(event_body(message_event(CHANNEL, "U0ALICE", "please frobnicate it", ts)))

    notice = await wait_for(
        lambda: [c for c in h.mock.calls_to("chat.postMessage") if c.params["channel"] == "D0ALICE"]
    )
    text = notice[0].params["text"]
    assert "frobnicate" in text and "removed" not in text and "1.0 warning point(s)" in text
    [delete] = h.mock.calls_to("chat.delete")
    assert delete.params == {"channel": CHANNEL, "ts": ts}  # Slack refused it: cant_delete_message
    [case] = await eventually(lambda: h.app.cases.list(f"slack:{TEAM}"))  # opened once the actions are done
    assert case.action == "delete_failed: cant_delete_message+warn" and case.verdict == "delete"
    refused = h.app.metrics.value(
        "steward_moderation_action_failures_total", action="DeleteMessage", platform="slack", code="cant_delete_message"
    )
    assert refused == 1.0 and h.app.metrics.value("steward_slack_delete_refused_total") == 1.0
    health = h.app.health()
    assert health["status"] == "ok" and health["adapters"]["slack"]["deletes_others"] is False
    assert (
        "moderator_actions: slack: Slack cannot delete people's messages without a user token with chat:write; "
        "set slack.admin_token" in " ".join(health["notes"])
    )
