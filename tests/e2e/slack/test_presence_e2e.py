"""The real presence cog on Slack: an invitation made with /steward reaches the agent's owner as a DM with buttons;
someone else's click is refused, the owner's click brings the agent's bot user into the channel and updates the
prompt, and a second click changes nothing."""

from __future__ import annotations

from tests.e2e.slack.mock_slack import block_actions_body, command_body, wait_for

CHANNEL = "C0GENERAL"
OWNER = "U0OWNER"


async def test_an_invitation_is_approved_by_the_owner_only_with_dm_buttons(start_slack):
    h = await start_slack(cogs=["presence"])

    async def command(user: str, text: str, key: str) -> str:
        body = command_body(user=user, text=text, channel=CHANNEL, response_url=h.mock.response_url(key))
        assert (await h.send_form(body)).status == 200
        [answer] = await wait_for(lambda: h.mock.responses.get(key))
        return answer["text"]

    async def click(user: str, action_id: str, channel: str, ts: str, key: str) -> str:
        body = block_actions_body(
            user=user, action_id=action_id, channel=channel, message_ts=ts, response_url=h.mock.response_url(key)
        )
        assert (await h.send_form(body)).status == 200
        answers = await wait_for(lambda: h.mock.responses.get(key))
        await h.app.bus.join()
        return "\n".join(answer["text"] for answer in answers)

    assert "Registered" in await command(OWNER, "agent register scout --bot U0SCOUTBOT Scout", "register")
    assert "asked the owner" in await command("U0ALICE", "invite scout", "invite")

    [opened] = h.mock.calls_to("conversations.open")
    assert opened.params["users"] == OWNER
    prompt = next(c for c in h.mock.calls_to("chat.postMessage") if c.params["channel"] == "D0OWNER")
    approve = next(
        b["action_id"] for b in prompt.params["blocks"][-1]["elements"] if b["action_id"].endswith(":approve")
    )
    [ts] = h.mock.posted_in("D0OWNER")

    refused = await click("U0MALLORY", approve, "D0OWNER", ts, "mallory")
    assert OWNER in refused
    assert not h.mock.calls_to("conversations.invite")

    await click(OWNER, approve, "D0OWNER", ts, "owner")
    [invite] = await wait_for(lambda: h.mock.calls_to("conversations.invite"))
    assert invite.params == {"channel": CHANNEL, "users": "U0SCOUTBOT"}
    [update] = await wait_for(lambda: h.mock.calls_to("chat.update"))
    assert update.params["channel"] == "D0OWNER" and update.params["ts"] == ts
    assert all(block["type"] != "actions" for block in update.params["blocks"])

    again = await click(OWNER, approve, "D0OWNER", ts, "again")
    assert "already decided" in again
    assert len(h.mock.calls_to("conversations.invite")) == 1
