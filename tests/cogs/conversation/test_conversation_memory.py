"""What an active room costs the conversation moderator in memory: its state is compact (no per-room copies of
plain messages' features, no empty sets or 64-item deque blocks), so 100,000 rooms fit in a few hundred MB."""

from __future__ import annotations

import gc
import tracemalloc

from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import load_settings
from bot.events import MessageCreated
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord
from tests.support import RecordingAdapter

PEOPLE = [Actor("test", f"person{i}", ActorKind.HUMAN, f"Person {i}") for i in range(5)]
LINES = ("ok, sounds good", "I think the second option is simpler", "helper, what do you think?", "lunch?")


async def _bytes_per_room(tmp_path, rooms: int, messages_per_room: int) -> float:
    settings = load_settings(
        data={
            "database": {"path": str(tmp_path / "m.db")},
            "http": {"enabled": False},
            "cogs": {"enabled": ["conversation"]},
            "conversation": {"auto_actions": False},
        }
    )
    app = StewardApp(settings, adapters=[RecordingAdapter()], clock=ManualClock(1_800_000_000.0), http=False)
    await app.start()
    try:
        await app.agents.register(AgentRecord(name="helper", platform="test", owner_id="owner"))
        await app.cogs.cogs["conversation"].rooms.refresh_agents(force=True)

        async def say(prefix: str, n: int) -> None:
            room = Room("test", "s", f"{prefix}{n % rooms}")
            author, text = PEOPLE[n // rooms % 5], LINES[n % 4]  # each room hears several people
            at = 1_800_000_000.0 + n
            event = MessageCreated(at=at, room=room, message_id=f"{prefix}-{n}", author=author, text=text)
            await app.bus.dispatch(event)

        for n in range(rooms):  # what is made once (indexes, caches) is made here, not counted
            await say("warm", n)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(rooms * messages_per_room):
                await say("room", n)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(app.cogs.cogs["conversation"].states) == 2 * rooms
        return grown / rooms
    finally:
        await app.stop()


async def test_a_room_with_a_few_messages_costs_about_two_kilobytes(tmp_path):
    # (6.5 KB a room before: a dict of attributes, three deques of 64-item blocks, four empty sets, and a
    # frozenset, a dict and a mapping proxy per message)
    assert await _bytes_per_room(tmp_path, rooms=300, messages_per_room=3) < 2400


async def test_a_full_window_costs_about_two_hundred_bytes_a_message(tmp_path):
    # The default window of 20 messages (18 KB a room before): each turn is its id, its time, its author (one copy
    # per author) and its features (one shared copy for a plain message).
    per_room = await _bytes_per_room(tmp_path, rooms=200, messages_per_room=30)
    assert per_room < 2400 + 20 * 300
