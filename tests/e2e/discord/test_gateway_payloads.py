"""Gateway payloads Steward cannot read: each loses only itself (logged, counted by event) and the connection goes
on; and message timestamps that cannot be true do not become the event's time."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import structlog.testing

from bot.events import MessageCreated
from tests.e2e.discord.conftest import eventually, probe
from tests.e2e.discord.fake_discord import DISCORD_EPOCH_MS
from tests.e2e.discord.test_moderation import MODERATOR

PAYLOAD_ERRORS = "steward_gateway_payload_errors_total"


def _deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"name": "leaf", "value": "x"}
    for _ in range(levels):
        node = {"name": "n", "value": "v", "fields": [node]}
    return node


def malformed_dispatches(world) -> list[tuple[str, Any]]:
    """(event, data) pairs Discord could send by mistake; several kinds for the events Steward reads."""
    fake = world.fake
    channel, guild = world.general["id"], world.guild["id"]
    message = fake._message(channel, world.bob, "a message")
    fake.messages.pop(message["id"])

    def msg(**changes: Any) -> dict[str, Any]:
        data = copy.deepcopy(message) | {"id": fake.snowflake()}
        for key, value in changes.items():
            if value is ...:
                data.pop(key, None)
            else:
                data[key] = value
        return data

    click = fake._interaction(3, world.bob, channel, guild)
    return [
        ("MESSAGE_CREATE", msg(author=...)),
        ("MESSAGE_CREATE", msg(author=None)),
        ("MESSAGE_CREATE", msg(id="not-a-snowflake")),
        ("MESSAGE_CREATE", msg(channel_id={"id": channel})),
        ("MESSAGE_CREATE", msg(channel_id=None)),
        ("MESSAGE_CREATE", msg(timestamp="yesterday-ish")),
        ("MESSAGE_CREATE", msg(content=["not", "text"], mentions="everyone")),
        ("MESSAGE_CREATE", msg(embeds=[_deep(200)] * 20)),
        ("MESSAGE_CREATE", msg(type="default")),
        ("MESSAGE_CREATE", None),
        ("MESSAGE_CREATE", ["a", "list"]),
        ("MESSAGE_UPDATE", {"id": "x", "channel_id": channel}),
        ("MESSAGE_UPDATE", msg(author=..., edited_timestamp="soon")),
        ("MESSAGE_DELETE", {"channel_id": channel}),
        ("MESSAGE_DELETE_BULK", {"ids": "all", "channel_id": channel}),
        ("MESSAGE_REACTION_ADD", {"user_id": world.bob["id"], "channel_id": channel, "message_id": "1"}),
        ("GUILD_CREATE", {"id": "zzz", "name": 5}),
        ("GUILD_CREATE", {"id": fake.snowflake(), "channels": "none", "members": 7, "roles": [None]}),
        ("GUILD_MEMBER_ADD", {"user": world.bob}),
        ("GUILD_MEMBER_REMOVE", {"user": None}),
        ("INTERACTION_CREATE", {k: v for k, v in click.items() if k != "data"} | {"type": 3}),
        ("INTERACTION_CREATE", {k: v for k, v in click.items() if k not in ("member", "user")}),
        ("INTERACTION_CREATE", {**click, "type": "button", "id": None}),
        ("CHANNEL_CREATE", {"id": fake.snowflake(), "guild_id": guild}),
        ("THREAD_CREATE", {"id": "thread?", "guild_id": guild, "type": 11}),
        ("GUILD_ROLE_CREATE", {"role": {"id": "r"}}),
        ("TYPING_START", {"channel_id": channel, "user_id": None, "timestamp": "t"}),
        ("STEWARD_NEVER_HEARD_OF_THIS", {"what": "an event no library knows"}),
    ]


RAW_FRAMES = [
    "this is not JSON at all",
    "[1, 2, 3]",
    '{"op": 0, "t": "MESSAGE_CREATE", "s": null}',
    '{"op": 0, "t": "RESUMED", "d": null}',
    '{"op": 10, "d": {}}',
    '{"op": "zero", "d": {}}',
    "[" * 50_000 + "]" * 50_000,
]


def errors_counted(app) -> float:
    return sum(
        sample.value
        for metric in app.metrics.registry.collect()
        if metric.name == PAYLOAD_ERRORS.removesuffix("_total")
        for sample in metric.samples
        if sample.name == PAYLOAD_ERRORS
    )


async def test_malformed_payloads_are_dropped_and_the_next_message_is_moderated(world, start_steward):
    app, adapter = await start_steward(sections={"moderator": MODERATOR})
    dispatches = malformed_dispatches(world)
    for event, data in dispatches:
        await world.fake.dispatch(event, data, guild_id=world.guild["id"])
    for frame in RAW_FRAMES:
        await world.fake.send_raw(frame)

    bad = await world.fake.user_says(world.general["id"], world.bob, "please frobnicate the server")

    await eventually(lambda: bad["id"] not in world.fake.messages)  # deleted by the moderator, as always
    assert len(dispatches) + len(RAW_FRAMES) >= 30
    assert world.fake.connected() == 1 and len(world.fake.identifies) == 1 and world.fake.resumes == []
    assert adapter.health()["up"] is True
    value = app.metrics.value
    assert errors_counted(app) >= 20
    for event in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "GUILD_CREATE", "INTERACTION_CREATE", "RESUMED"):
        assert value(PAYLOAD_ERRORS, event=event) >= 1, event
    assert value(PAYLOAD_ERRORS, event="invalid_json") == 2  # not JSON; nested too deep to decode
    assert value(PAYLOAD_ERRORS, event="not_an_object") == 1 and value(PAYLOAD_ERRORS, event="op_10") == 1
    assert value(PAYLOAD_ERRORS, event="MESSAGE_CREATE") >= 8
    events = probe(app).of(MessageCreated)
    assert events[-1].text == "please frobnicate the server"
    # What discord.py could read whole (a deeply nested embed is still a message) arrived well-formed.
    assert all(isinstance(e.text, str) and e.author.id == world.bob["id"] for e in events), events


async def test_one_rejected_payload_is_logged_with_its_event(world, start_steward):
    app, _adapter = await start_steward()
    with structlog.testing.capture_logs() as logs:
        await world.fake.dispatch("MESSAGE_CREATE", {"id": "1", "channel_id": world.general["id"]})
        await world.fake.user_says(world.general["id"], world.bob, "after it")
        await eventually(lambda: probe(app).of(MessageCreated))
    [rejected] = [line for line in logs if line["event"] == "gateway_payload_rejected"]
    assert rejected["event_type"] == "MESSAGE_CREATE" and rejected["log_level"] == "warning"
    assert rejected["error"].startswith("KeyError") and rejected["fields"] == ["channel_id", "id"]


def _id_at(seconds: float) -> str:
    """A snowflake whose embedded creation time is ``seconds`` (negative before Discord's epoch)."""
    return str(int(seconds * 1000 - DISCORD_EPOCH_MS) << 22)


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (4102444800.0, "future"),  # 2100-01-01: the id says the message was written in the future
        (time.time() + 3600, "future"),
        (1262304000.0, "before_discord_epoch"),  # 2010-01-01: before Discord existed
    ],
)
async def test_an_impossible_message_time_gives_way_to_the_receive_time(world, start_steward, when, reason):
    app, _adapter = await start_steward()
    message = world.fake._message(world.general["id"], world.bob, "sent at an impossible time")
    message["id"] = _id_at(when)
    before = time.time()
    await world.fake.dispatch("MESSAGE_CREATE", message, guild_id=world.guild["id"])

    [event] = await eventually(lambda: probe(app).of(MessageCreated))
    assert before - 1 <= event.at <= time.time() + 1
    assert app.metrics.value("steward_discord_timestamps_rejected_total", reason=reason) == 1


async def test_a_plausible_message_time_is_the_event_time(world, start_steward):
    app, _adapter = await start_steward()
    message = world.fake._message(world.general["id"], world.bob, "on time")
    message["timestamp"] = "9999-12-31T23:59:59+00:00"  # discord.py times a message by its id, not this field
    await world.fake.dispatch("MESSAGE_CREATE", message, guild_id=world.guild["id"])
    [event] = await eventually(lambda: probe(app).of(MessageCreated))
    assert event.at == (int(message["id"]) >> 22) / 1000 + DISCORD_EPOCH_MS / 1000  # the fake's ids: Nov 2023
    assert app.metrics.value("steward_discord_timestamps_rejected_total", reason="future") == 0
