"""The links and mentions rules on Discord, from the gateway to the REST calls: a member's disguised link and a
message pinging twenty members are deleted and their authors warned; an honest link stays."""

from __future__ import annotations

from tests.e2e.discord.conftest import eventually


async def test_a_disguised_link_and_mention_spam_are_deleted_and_an_honest_link_stays(world, start_steward):
    app, _adapter = await start_steward(sections={})
    general = world.general["id"]

    honest = await world.fake.user_says(general, world.bob, "notes: [the tutorial](https://docs.python.org/3/)")
    phish = await world.fake.user_says(general, world.bob, "free nitro [discord.com/nitro](https://dlscord.example/x)")
    pings = " ".join(f"<@{400000000000000000 + i}>" for i in range(20))
    spam = await world.fake.user_says(general, world.bob, f"wake up {pings}")

    await eventually(lambda: phish["id"] not in world.fake.messages and spam["id"] not in world.fake.messages)
    await app.bus.join()
    assert honest["id"] in world.fake.messages
    dm = await eventually(lambda: world.fake.dm_channels.get(world.bob["id"]))

    def dms() -> list[str] | None:
        sent = [m["content"] for m in world.fake.messages.values() if m["channel_id"] == dm["id"]]
        return sent if len(sent) == 2 else None

    warnings = await eventually(dms)
    assert "disguised link: shows discord.com, goes to dlscord.example" in warnings[0]
    assert "mention spam: pings 20 people in one message (at most 10 here)" in warnings[1]
