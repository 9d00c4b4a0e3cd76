"""Multi-workspace installs end to end: the OAuth flow stores an installation in Steward's SQLite database, events
from that workspace are authorised with it, actions there use its tokens, and uninstalling removes it."""

from __future__ import annotations

import re

from bot.actions import PostAsAgent, SendApprovalPrompt, SendDirectMessage, UpdatePrompt
from bot.events import MessageCreated
from domain import AgentIdentity, Room
from tests.e2e.slack.mock_slack import SIGNING_SECRET, Workspace, event_body, eventually, message_event, wait_for

TEAM2 = "T0TEAM2"
BOT2_TOKEN = "xoxb-team2"
INSTALLER_TOKEN = "xoxp-installer"
ENV = {"CLIENT_ID": "1111.2222", "CLIENT_SECRET": "oauth-client-secret", "SIGNING_SECRET": SIGNING_SECRET}


async def install(
    h, code: str = "code-1", team: str = TEAM2, bot_token: str = BOT2_TOKEN, user_token: str = INSTALLER_TOKEN
) -> None:
    h.mock.add_workspace(Workspace(team, bot_token, f"U0BOT{team}", f"B0BOT{team}"))
    h.mock.user_tokens[user_token] = team
    h.mock.oauth_codes[code] = {
        "ok": True,
        "app_id": "A0STEWARD",
        "authed_user": {"id": "U0INSTALLER", "scope": "chat:write", "access_token": user_token, "token_type": "user"},
        "scope": "chat:write,channels:history",
        "token_type": "bot",
        "access_token": bot_token,
        "bot_user_id": f"U0BOT{team}",
        "team": {"id": team, "name": team},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    async with h.session.get(h.base + "/slack/install") as response:
        page = await response.text()
        assert response.status == 200
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    state = re.search(r"state=([A-Za-z0-9_\-]+)", page)
    assert state is not None
    async with h.session.get(
        h.base + f"/slack/oauth_redirect?code={code}&state={state.group(1)}", headers={"Cookie": cookie}
    ) as response:
        assert response.status == 200, await response.text()


async def test_an_installed_workspace_is_served_with_its_own_tokens(start_slack):
    h = await start_slack(env=ENV)
    assert not h.mock.calls_to("auth.test")  # no single bot token to check at start

    await install(h)

    assert h.mock.calls_to("oauth.v2.access")
    await h.send_event(event_body(message_event("C0TWO", "U0CAROL", "hello from two", "1700000004.000001"), team=TEAM2))
    [message] = await wait_for(lambda: h.cog.of(MessageCreated))
    assert message.room == Room("slack", TEAM2, "C0TWO")

    posted = await h.app.router.perform(
        PostAsAgent(room=Room("slack", TEAM2, "C0TWO"), agent=AgentIdentity(name="helper"), text="hi")
    )
    assert posted.ok
    assert h.mock.calls_to("chat.postMessage")[-1].token == BOT2_TOKEN

    # Carol was seen in the second workspace: a DM to her and the update of that DM use its token too.
    dm = await h.app.router.perform(SendDirectMessage(target_platform="slack", user_id="U0CAROL", text="psst"))
    assert dm.ok and dm.channel_id
    assert h.mock.calls_to("conversations.open")[-1].token == BOT2_TOKEN
    updated = await h.app.router.perform(
        UpdatePrompt(target_platform="slack", channel_id=dm.channel_id, message_id=dm.message_id or "", text="done")
    )
    assert updated.ok and h.mock.calls_to("chat.update")[-1].token == BOT2_TOKEN

    # Someone else's message with a banned word: the bot may not delete it, the installing admin's token may.
    ts = h.mock.post_message("C0TWO", "U0CAROL")
    await h.send_event(event_body(message_event("C0TWO", "U0CAROL", "badword", ts), team=TEAM2))
    deletes = await wait_for(lambda: len(h.mock.calls_to("chat.delete")) == 2 and h.mock.calls_to("chat.delete"))
    assert [c.token for c in deletes] == [BOT2_TOKEN, INSTALLER_TOKEN]


async def test_a_dm_to_a_user_never_seen_goes_through_the_workspace_that_knows_them(start_slack):
    h = await start_slack(env=ENV)
    await install(h)
    await install(h, code="code-3", team="T0TEAM3", bot_token="xoxb-team3", user_token="xoxp-installer3")
    # Installed first, so looked at last: the third workspace's bot does not know this user.
    h.mock.users["U0OWNER2"] = {"id": "U0OWNER2", "name": "owner2", "team_id": TEAM2}

    result = await h.app.router.perform(
        SendApprovalPrompt(target_platform="slack", user_id="U0OWNER2", text="Approve?", kind="draft", key="1")
    )

    assert result.ok
    assert [c.token for c in h.mock.calls_to("users.info")][-2:] == ["xoxb-team3", BOT2_TOKEN]
    assert h.mock.calls_to("conversations.open")[-1].token == BOT2_TOKEN
    assert h.mock.calls_to("chat.postMessage")[-1].token == BOT2_TOKEN

    # After a restart the prompt can still be updated (its DM channel's workspace is in the database).
    await h.stop()
    again = await start_slack(env=ENV)
    updated = await again.app.router.perform(
        UpdatePrompt(
            target_platform="slack", channel_id=result.channel_id or "", message_id=result.message_id or "", text="ok"
        )
    )
    assert updated.ok and h.mock.calls_to("chat.update")[-1].token == BOT2_TOKEN


async def test_events_from_a_workspace_without_an_installation_are_not_published(start_slack):
    h = await start_slack(env=ENV)

    response = await h.send_event(
        event_body(message_event("C0X", "U0X", "who am I", "1700000004.000002"), team="T0NOPE")
    )

    assert response.status == 200  # bolt answers Slack; nothing reaches the cogs
    await h.app.bus.join()
    assert not h.cog.of(MessageCreated)
    posted = await h.app.router.perform(
        PostAsAgent(room=Room("slack", "T0NOPE", "C0X"), agent=AgentIdentity("a"), text="x")
    )
    assert not posted.ok and "not installed" in (posted.error or "")


async def test_uninstalling_removes_the_installation(start_slack):
    h = await start_slack(env=ENV)
    await install(h)

    await h.send_event(event_body({"type": "app_uninstalled"}, team=TEAM2))

    room = Room("slack", TEAM2, "C0TWO")

    async def refused() -> bool:
        result = await h.app.router.perform(PostAsAgent(room=room, agent=AgentIdentity(name="helper"), text="hi"))
        return not result.ok and "not installed" in (result.error or "")

    assert await eventually(refused)


async def test_an_install_with_a_forged_state_is_refused(start_slack):
    h = await start_slack(env=ENV)
    h.mock.oauth_codes["code-x"] = {"ok": True}

    async with h.session.get(h.base + "/slack/oauth_redirect?code=code-x&state=forged") as response:
        assert response.status >= 400

    assert not h.mock.calls_to("oauth.v2.access")
