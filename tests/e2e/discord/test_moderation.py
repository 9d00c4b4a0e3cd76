"""The moderator cog on Discord: a filtered message is deleted and its author warned; an exempt role is left alone;
an agent's filtered message never reaches Discord at all."""

from __future__ import annotations

from domain import Room
from storage.core import AgentRecord
from tests.e2e.discord.conftest import eventually

MODERATOR = {"filters": {"words": ["frobnicate"]}, "humans": {"exempt_roles": ["helpers"]}}


async def test_a_filtered_message_is_deleted_and_its_author_warned_by_dm(world, start_steward):
    app, _adapter = await start_steward(sections={"moderator": MODERATOR})
    assert "moderator" in app.cogs.cogs

    bad = await world.fake.user_says(world.general["id"], world.bob, "please FROBNICATE the server")

    await eventually(lambda: bad["id"] not in world.fake.messages)
    dm = await eventually(lambda: world.fake.dm_channels.get(world.bob["id"]))
    warnings = await eventually(lambda: [m for m in world.fake.messages.values() if m["channel_id"] == dm["id"]])
    assert warnings[0]["content"].startswith("Warning from the moderators")
    assert len(world.fake.calls_to("DELETE", rf"/channels/{world.general['id']}/messages/{bad['id']}")) == 1


async def test_an_exempt_role_is_not_moderated(world, start_steward):
    app, _adapter = await start_steward(sections={"moderator": MODERATOR})

    exempt = await world.fake.user_says(world.general["id"], world.alice, "frobnicate, as a helper")
    bad = await world.fake.user_says(world.general["id"], world.bob, "frobnicate, as a member")

    await eventually(lambda: bad["id"] not in world.fake.messages)
    await app.bus.join()
    assert exempt["id"] in world.fake.messages  # alice holds the "helpers" role, read from Discord


async def test_an_agents_filtered_message_never_reaches_discord(world, start_steward):
    app, _adapter = await start_steward(sections={"moderator": MODERATOR})
    await app.agents.register(AgentRecord(name="helper", platform="discord", owner_id=world.alice["id"]))

    result = await app.publisher.submit(
        "helper", Room("discord", world.guild["id"], world.general["id"]), "frobnicate!"
    )

    assert not result.posted and result.decision.rule == "filters"
    assert world.fake.calls_to("POST", r"/webhooks/\d+/wtoken-\d+") == []


async def test_missing_permissions_are_recorded_as_refused_not_done(world, start_steward):
    ladder = [{"points": 1, "action": "timeout", "seconds": 600}]
    app, _adapter = await start_steward(sections={"moderator": {**MODERATOR, "humans": {"ladder": ladder}}})
    guild, general, bob = world.guild["id"], world.general["id"], world.bob["id"]
    world.fake.fail_next[("DELETE", rf"/channels/{general}/messages/\d+")] = (403, 50013, "Missing Permissions")
    world.fake.fail_next[("PATCH", rf"/guilds/{guild}/members/{bob}")] = (403, 50013, "Missing Permissions")

    bad = await world.fake.user_says(general, world.bob, "frobnicate it")

    dm = await eventually(lambda: world.fake.dm_channels.get(bob))
    [notice] = await eventually(lambda: [m for m in world.fake.messages.values() if m["channel_id"] == dm["id"]])
    assert "removed" not in notice["content"] and "timed out" not in notice["content"]
    assert bad["id"] in world.fake.messages and not world.fake.members[(guild, bob)].get("communication_disabled_until")
    await app.bus.join()  # the case is opened once the actions are done
    [case] = await app.cases.list(f"discord:{guild}")
    assert case.action == "delete_failed: 50013+timeout_failed: 50013+warn"
    notes = " ".join(app.health()["notes"])
    assert "give Steward's role Manage Messages" in notes and "give Steward's role Moderate Members" in notes
