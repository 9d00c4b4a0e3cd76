"""The in-memory rule state: exact round trips, bounded history, eviction of idle and surplus rooms."""

from __future__ import annotations

import sys

from policy.moderation import WORDS_KEPT, AuthorKind, MatchMode, Recent, make_payload
from policy.ratelimit import TokenBucket
from storage.moderation import InMemoryRoomState, message_hash


def _agent(at: float, name: str, text: str, depth: int = 0) -> Recent:
    return Recent(at, name, AuthorKind.AGENT, message_hash(f"m{at}"), depth, *make_payload(text, MatchMode.NEAR))


def test_round_trip_keeps_every_field() -> None:
    state = InMemoryRoomState(history_size=4)
    entries = [
        _agent(1.5, "alpha", "hello there friends", depth=3),
        Recent(2.0, "", AuthorKind.HUMAN, message_hash("h1"), 0, 0, ()),
        Recent(3.0, "", AuthorKind.BOT, message_hash("b1"), 0, 0, ()),
        _agent(4.25, "beta", "x"),
    ]
    for entry in entries:
        state.remember("r1", entry)
    assert state.history("r1") == entries
    assert state.history("nowhere") == []


def test_history_is_bounded_to_the_newest() -> None:
    state = InMemoryRoomState(history_size=3)
    for i in range(10):
        state.remember("r1", _agent(float(i), "alpha", f"message {i}"))
    assert [e.at for e in state.history("r1")] == [7.0, 8.0, 9.0]
    # The word codes leave with their records: the columns still line up.
    recent = state.recent("r1")
    assert [recent.entry(i) for i in range(3)] == [_agent(float(i), "alpha", f"message {i}") for i in (7, 8, 9)]


def test_a_kept_message_costs_a_few_hundred_bytes_whatever_its_length() -> None:
    """Each remembered agent message: an 84-byte record, and at most ``WORDS_KEPT`` two-byte word codes."""
    state = InMemoryRoomState(history_size=12)
    essay = "Here is a long and detailed answer with many words in it. " * 200
    for i in range(12):
        state.remember("r1", _agent(float(i), "alpha", f"{i} {essay}"))
    room = state._rooms["r1"]
    per_message = (sys.getsizeof(room.records) + sys.getsizeof(room.words) + sum(map(sys.getsizeof, room.words))) / 12
    assert all(len(words) == WORDS_KEPT for words in room.words)
    assert per_message < 320
    # The length bound counts the words of the first 8 KiB.
    assert state.history("r1")[-1].length == len(f"11 {essay}".encode()[:8192].replace(b".", b" ").split())


def test_idle_rooms_are_evicted_by_event_time() -> None:
    state = InMemoryRoomState(history_size=3, idle_seconds=100)
    state.remember("old", _agent(0.0, "alpha", "a"))
    state.remember("busy", _agent(50.0, "alpha", "b"))
    state.set_global_bucket("alpha", TokenBucket(1.0, 0.0))
    state.set_rejections("alpha", "old", [0.0])
    state.remember("busy", _agent(120.0, "alpha", "c"))
    assert state.evict_idle() == 1
    assert state.history("old") == [] and len(state.history("busy")) == 2
    assert state.global_bucket("alpha") is None and state.rejections("alpha", "old") == []


def test_too_many_rooms_drops_the_idlest() -> None:
    state = InMemoryRoomState(history_size=2, max_rooms=2)
    state.remember("a", _agent(1.0, "x", "1"))
    state.remember("b", _agent(2.0, "x", "2"))
    state.remember("a", _agent(3.0, "x", "3"))  # a is now the most recent
    state.remember("c", _agent(4.0, "x", "4"))
    assert state.room_count == 2 and state.history("b") == [] and state.evicted == 1
    assert len(state.history("a")) == 2
