"""Invitation prompts on a (fake) Discord whose owner refuses DMs (403, code 50007): the buttons go to the server's
configured fallback channel, never to the public channel; with no fallback the inviter is told and the invitation
waits for the owner's command. Messages name people with mentions, not raw ids."""

from __future__ import annotations

from typing import Any

from storage.core import AgentRecord
from tests.e2e.discord.conftest import eventually


def answers_to(world: Any, interaction: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in world.fake.interaction_responses if r["token"] == interaction["token"]]


def followups(world: Any, interaction: dict[str, Any]):
    return lambda: [r for r in answers_to(world, interaction) if r["kind"] == "followup"]


def with_buttons(world: Any) -> list[dict[str, Any]]:
    return [m for m in world.fake.messages.values() if m.get("components")]


async def register_helper(app: Any, world: Any) -> None:
    await app.agents.register(
        AgentRecord(
            name="helper",
            platform="discord",
            owner_id=world.alice["id"],
            kind="bot_user",
            platform_user_id=world.agent_bot["id"],
        )
    )


async def test_the_prompt_goes_to_the_invitation_servers_fallback_channel(world, start_steward):
    # The owner is also in another server whose fallback channel is listed first: the invitation's server wins.
    other = world.fake.add_guild("Other server")
    other_prompts = world.fake.add_channel(other["id"], "prompts-elsewhere")
    world.fake.add_member(other["id"], world.alice)
    fallbacks = {other["id"]: other_prompts["id"], world.guild["id"]: world.fallback["id"]}
    app, _adapter = await start_steward(dm_fallback_channels=fallbacks)
    await register_helper(app, world)
    world.fake.dm_blocked.add(world.alice["id"])

    invite = await world.fake.slash(world.general["id"], world.bob, "steward", "invite", {"args": "helper"})
    [told] = await eventually(followups(world, invite))

    assert "asked the owner" in told["body"]["content"]
    [prompt] = with_buttons(world)
    assert prompt["channel_id"] == world.fallback["id"]
    assert prompt["content"].startswith(f"<@{world.alice['id']}> Invitation #1: bob (user) invites your agent helper")
    assert f"to <#{world.general['id']}>" in prompt["content"] and world.guild["id"] not in prompt["content"]
    approve = next(c["custom_id"] for c in prompt["components"][0]["components"] if c["custom_id"].endswith("approve"))

    bystander = await world.fake.click(prompt["id"], approve, world.bob)
    [refused] = await eventually(followups(world, bystander))
    assert refused["body"]["content"] == f"Only <@{world.alice['id']}> can decide this invitation."


async def test_without_a_fallback_no_buttons_are_posted_and_the_invitation_waits(world, start_steward):
    app, _adapter = await start_steward()
    await register_helper(app, world)
    world.fake.dm_blocked.add(world.alice["id"])

    invite = await world.fake.slash(world.general["id"], world.bob, "steward", "invite", {"args": "helper"})
    [told] = await eventually(followups(world, invite))

    text = told["body"]["content"]
    assert f"could not reach <@{world.alice['id']}>, the owner of helper" in text and "stays pending" in text
    assert with_buttons(world) == []  # nothing with Approve / Decline anywhere, least of all in #general
    store = app.cogs.cogs["presence"].store
    assert (await store.invitations.get(1)).status.value == "pending"

    approve = await world.fake.slash(world.general["id"], world.alice, "steward", "approve", {"args": "1"})
    [approved] = await eventually(followups(world, approve))
    assert "joined" in approved["body"]["content"]
    overwrites = await eventually(lambda: world.fake.channels[world.general["id"]]["permission_overwrites"])
    assert overwrites[0]["id"] == world.agent_bot["id"]


async def test_a_room_is_named_by_link_by_name_or_by_id_and_an_unknown_name_is_refused(world, start_steward):
    support = world.fake.add_channel(world.guild["id"], "Support")
    app, _adapter = await start_steward(sections={"presence": {"default_join_cooldown_seconds": 0}})
    await register_helper(app, world)

    async def invite(words: str) -> str:
        interaction = await world.fake.slash(world.general["id"], world.alice, "steward", "invite", {"args": words})
        [reply] = await eventually(followups(world, interaction))
        return reply["body"]["content"]

    assert f"joined <#{world.fallback['id']}>" in await invite(f"helper <#{world.fallback['id']}>")
    assert f"joined <#{support['id']}>" in await invite("helper #support")  # names match whatever the case
    unknown = await invite("helper #nowhere")
    assert "no channel named #nowhere" in unknown and "joined" not in unknown
    stays = await app.cogs.cogs["presence"].store.presence.of_agent("helper")
    assert sorted(s.room_obj.channel for s in stays) == sorted([world.fallback["id"], support["id"]])
