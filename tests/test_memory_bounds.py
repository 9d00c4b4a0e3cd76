"""Memory stays bounded: per-room state is forgotten once a room is quiet past every window that reads it, a flood
of distinct rooms is capped, and rooms without config overrides share their settings. Eviction changes no
decision: a duplicate or a cooldown within its window is still caught after an eviction pass."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import OVERRIDDEN_SECTIONS_KEPT, load_settings
from bot.events import MessageCreated
from bot.publisher import PublishResult, Verdict
from bot.ratelimit import RateLimiter
from cogs.conversation.config import ConversationSettings
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord
from tests.support import RecordingAdapter, SettingsFactory

T0 = 1_700_000_000.0
StartApp = Callable[..., Awaitable[StewardApp]]


@pytest.fixture
async def start_app(make_settings: SettingsFactory, clock: ManualClock) -> AsyncIterator[StartApp]:
    started: list[StewardApp] = []

    async def start(**sections: Any) -> StewardApp:
        app = StewardApp(make_settings(**sections), adapters=[RecordingAdapter()], clock=clock)
        await app.start()
        started.append(app)
        for name in ("alpha", "beta"):
            await app.agents.register(AgentRecord(name=name, platform="test", owner_id="owner"))
        return app

    yield start
    for app in started:
        await app.stop()


def room(n: int | str, server: str = "s1") -> Room:
    return Room("test", server, f"c{n}")


async def post(app: StewardApp, clock: ManualClock, agent: str, where: Room, text: str, at: float) -> PublishResult:
    clock.set(at)
    result = await app.publisher.submit(agent, where, text, at=at)
    await app.bus.join()
    return result


async def say(app: StewardApp, clock: ManualClock, where: Room, text: str, at: float, n: int) -> None:
    clock.set(at)
    person = Actor("test", f"u{n}", ActorKind.HUMAN, f"user {n}")
    await app.bus.dispatch(MessageCreated(at=at, room=where, message_id=f"h{n}", author=person, text=text))


# --- settings ---------------------------------------------------------------------------------------------------


def test_rooms_without_overrides_share_one_section_object(tmp_path) -> None:
    settings = load_settings(
        data={
            "database": {"path": str(tmp_path / "s.db")},
            "toxicity": {"enabled": False},
            "moderator": {"duplicate": {"window_seconds": 100}},
            "servers": {
                "big": {"moderator": {"duplicate": {"window_seconds": 200}}},
                "chan": {"channels": {"c7": {"moderator": {"duplicate": {"window_seconds": 300}}}}},
            },
        }
    )
    plain = {id(settings.section("moderator", room(n, f"server{n % 50}"))) for n in range(10_000)}
    assert len(plain) == 1
    assert settings.section("moderator", room(1, "server1")) is settings.section("moderator")
    assert settings._overridden_sections.currsize == 0  # nothing held for the 10,000 rooms

    in_big = {id(settings.section("moderator", room(n, "big"))) for n in range(5_000)}
    assert len(in_big) == 1  # one object for the whole server that overrides the section
    assert settings.section("moderator", room(3, "big")).duplicate.window_seconds == 200
    assert settings.section("moderator", room(7, "chan")).duplicate.window_seconds == 300
    assert settings.section("moderator", room(8, "chan")).duplicate.window_seconds == 100  # only c7 overrides
    assert settings.section("moderator", room(8, "chan")) is settings.section("moderator")
    assert settings._overridden_sections.currsize == 2 <= OVERRIDDEN_SECTIONS_KEPT
    windows = sorted(
        v.duplicate.window_seconds for v in settings.variants_as(type(settings.section("moderator")), "moderator")
    )
    assert windows == [100, 200, 300]


# --- moderator --------------------------------------------------------------------------------------------------


async def test_moderator_forgets_quiet_rooms_but_still_catches_a_duplicate_within_its_window(
    start_app: StartApp, clock: ManualClock
) -> None:
    # idle_room_seconds is below the duplicate window: the window wins, or a repeat would slip through.
    app = await start_app(moderator={"state": {"idle_room_seconds": 60}, "duplicate": {"window_seconds": 600}})
    cog: Any = app.cogs.cogs["moderator"]
    assert cog.state.idle_seconds == 600
    for n in range(200):
        result = await post(app, clock, "alpha", room(n), f"status report number {n} for this room", T0 + n)
        assert result.posted
    assert cog.state.room_count == 200
    await post(app, clock, "beta", room("busy"), "the busy room goes on", T0 + 750)  # event time moves on

    await cog.evict()

    # Rooms quiet since before T0 + 150 are past every window; the other 50 and the busy room are kept.
    assert cog.state.room_count == 51
    assert len(cog.service._plans) <= 51
    repeat = await post(app, clock, "alpha", room(180), "status report number 180 for this room", T0 + 760)
    assert repeat.decision.verdict is Verdict.REJECT and repeat.decision.rule == "duplicate"
    old = await post(app, clock, "alpha", room(10), "status report number 10 for this room", T0 + 770)
    assert old.posted  # out of the window, as it would be without eviction


async def test_a_cooldown_still_applies_after_an_eviction_pass(start_app: StartApp, clock: ManualClock) -> None:
    short = {"window_seconds": 5}
    app = await start_app(
        moderator={
            "state": {"idle_room_seconds": 1},
            "duplicate": short,
            "loop": short,
            "escalation": short,
            "cooldown": {"room_interval_seconds": 30, "room_burst": 3},
        }
    )
    cog: Any = app.cogs.cogs["moderator"]
    assert cog.state.idle_seconds == 90  # the room cooldown refills in 3 x 30 s
    await post(app, clock, "beta", room("old"), "long ago", T0 - 200)
    for n in range(3):
        assert (await post(app, clock, "alpha", room("x"), f"burst message {n}", T0 + n / 10)).posted
    # Quiet for 19 s, far past idle_room_seconds, but inside the cooldown.
    await post(app, clock, "beta", room("busy"), "time moves on", T0 + 19)

    await cog.evict()

    assert room("old").key not in cog.state and room("x").key in cog.state
    assert cog.state.room_count == 2  # the old room went; the room in its cooldown and the busy one stay
    fourth = await post(app, clock, "alpha", room("x"), "one more", T0 + 20)
    assert fourth.decision.verdict is Verdict.REJECT and fourth.decision.rule == "cooldown"


async def test_moderator_caps_a_flood_of_distinct_rooms(start_app: StartApp, clock: ManualClock) -> None:
    app = await start_app(moderator={"state": {"max_rooms": 100}})
    cog: Any = app.cogs.cogs["moderator"]
    for n in range(300):
        await say(app, clock, room(n), f"hello {n}", T0 + n, n)
    assert cog.state.room_count == 100
    assert "test:s1:c299" in cog.state and "test:s1:c0" not in cog.state  # the idlest went first


# --- sentiment --------------------------------------------------------------------------------------------------


async def test_sentiment_evicts_rooms_quiet_past_the_window_span(start_app: StartApp, clock: ManualClock) -> None:
    app = await start_app(sentiment={"idle_evict_seconds": 30, "window_seconds": 120})
    cog: Any = app.cogs.cogs["sentiment"]
    assert cog.windows.idle_seconds == 120  # the window span T is honoured
    for n in range(300):
        await say(app, clock, room(n), "this is going really well, thanks", T0 + n, n)
    assert len(cog.windows) == 300

    await cog.sweep(T0 + 400)

    kept = {w.room for w in cog.windows}
    assert kept == {room(n) for n in range(280, 300)}  # quiet for 120 s or less


async def test_sentiment_caps_a_flood_of_distinct_rooms(start_app: StartApp, clock: ManualClock) -> None:
    app = await start_app(sentiment={"max_rooms": 50})
    cog: Any = app.cogs.cogs["sentiment"]
    for n in range(200):
        await say(app, clock, room(n), "fine", T0 + n / 100, n)
    assert len(cog.windows) == 50 and cog.windows.peek(room(199)) is not None


# --- conversation -----------------------------------------------------------------------------------------------


async def test_conversation_forgets_quiet_rooms_and_keeps_an_active_one(
    start_app: StartApp, clock: ManualClock
) -> None:
    defaults = ConversationSettings(idle_seconds=100, evict_after_seconds=100)
    assert defaults.retention_seconds() == 3600  # the invite cooldown's hour still reads the room's state
    app = await start_app(
        conversation={
            "idle_seconds": 100,
            "evict_after_seconds": 100,
            "question_timeout_seconds": 300,
            "cooldown_seconds": 60,
            "invite_cooldown_seconds": 60,
            "conflict_window_seconds": 60,
            "addressed_window_seconds": 60,
        }
    )
    cog: Any = app.cogs.cogs["conversation"]
    for n in range(300):
        await say(app, clock, room(n), f"we should look at item {n}", T0 + n, n)
    await say(app, clock, room("busy"), "still here", T0 + 500, 1000)
    clock.set(T0 + 510)

    await cog.sweep()

    # Quiet for 300 s (the question timeout, the longest window here) or more: forgotten; the rest kept.
    assert set(cog.rooms.states) == {room(n).key for n in range(211, 300)} | {room("busy").key}


async def test_conversation_caps_a_flood_of_distinct_rooms(start_app: StartApp, clock: ManualClock) -> None:
    app = await start_app(conversation={"max_rooms": 40})
    cog: Any = app.cogs.cogs["conversation"]
    for n in range(150):
        await say(app, clock, room(n), "hello there", T0 + n, n)
    assert len(cog.rooms.states) == 40
    assert room(149).key in cog.rooms.states and room(0).key not in cog.rooms.states


# --- rate limits ------------------------------------------------------------------------------------------------


def test_rate_limiter_forgets_idle_keys_and_forgetting_changes_no_answer() -> None:
    limiter = RateLimiter(rate=1.0, capacity=5.0)
    for n in range(1_000):
        limiter.take(f"agent{n}", now=float(n % 3))
    assert len(limiter) == 1_000
    limiter.take("late", now=100.0)
    limiter.expire(100.0)
    assert len(limiter) == 1  # everyone else refilled long ago
    for _ in range(5):
        assert limiter.take("burst", now=200.0).allowed
    limiter.forget("burst")
    assert limiter.take("burst", now=200.0).allowed  # a forgotten bucket is a full one


async def test_a_server_override_with_a_longer_window_keeps_every_room_that_long(
    start_app: StartApp, clock: ManualClock
) -> None:
    app = await start_app(
        moderator={"state": {"idle_room_seconds": 60}},
        servers={"slow": {"moderator": {"duplicate": {"window_seconds": 2000}}}},
    )
    cog: Any = app.cogs.cogs["moderator"]
    assert cog.state.idle_seconds == 2000
    await post(app, clock, "alpha", room(1, "slow"), "said once in the slow server", T0)
    await post(app, clock, "beta", room("busy"), "time moves on", T0 + 1900)
    await cog.evict()
    repeat = await post(app, clock, "alpha", room(1, "slow"), "said once in the slow server", T0 + 1950)
    assert repeat.decision.rule == "duplicate"
