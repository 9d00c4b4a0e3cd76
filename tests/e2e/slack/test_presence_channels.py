"""Naming a channel in ``/steward invite`` on Slack: a channel link (``<#C0123|general>``, what the client sends for
a picked channel), a bare ``#name`` (looked up with conversations.list, page by page) and a raw id all name the
same channel; an unknown name is refused clearly instead of being taken for an id."""

from __future__ import annotations

from tests.e2e.slack.mock_slack import command_body, wait_for

CHANNEL = "C0GENERAL"
OWNER = "U0OWNER"


async def test_a_channel_named_by_link_name_or_id_is_the_same_channel(start_slack):
    h = await start_slack(cogs=["presence"], sections={"presence": {"default_join_cooldown_seconds": 0}})
    # More channels than one page of conversations.list: the lookup follows the cursor.
    h.mock.channels.update({f"C0X{i:06d}": f"team-{i}" for i in range(450)})
    h.mock.channels["C0ZZROOM"] = "zz-support"  # sorts last: on the third page

    async def command(text: str, key: str) -> str:
        body = command_body(user=OWNER, text=text, channel=CHANNEL, response_url=h.mock.response_url(key))
        assert (await h.send_form(body)).status == 200
        [answer] = await wait_for(lambda: h.mock.responses.get(key))
        return answer["text"]

    assert "Registered" in await command("agent register scout --bot U0SCOUTBOT Scout", "register")
    store = h.app.cogs.cogs["presence"].store

    linked = await command("invite scout <#C0RANDOM|random> to help", "linked")
    assert "joined <#C0RANDOM>" in linked, linked  # a live channel link, not an id or escaped markup
    assert [s.room_obj.channel for s in await store.presence.of_agent("scout")] == ["C0RANDOM"]
    assert not h.mock.calls_to("conversations.list")  # a link needs no lookup

    assert "joined <#C0ZZROOM>" in await command("invite scout #zz-support", "named")
    pages = h.mock.calls_to("conversations.list")
    assert len(pages) == 3 and pages[0].params["types"] == "public_channel,private_channel"

    assert "joined <#C0X000007>" in await command("invite scout C0X000007", "raw")
    unknown = await command("invite scout #no-such-room", "unknown")
    assert "no channel named #no-such-room" in unknown and "joined" not in unknown
    rooms = sorted(s.room_obj.channel for s in await store.presence.of_agent("scout"))
    assert rooms == ["C0RANDOM", "C0X000007", "C0ZZROOM"]
    assert "no-such-room" not in {inv.room_obj.channel for inv in await store.invitations.list(agents=["scout"])}
