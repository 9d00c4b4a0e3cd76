"""Room windows: by count and by time, eviction, trends and shifts; then the same through the running cog."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import CommandInvocation
from bot.events import MessageScored, TrendShifted
from cogs.sentiment.config import SentimentSettings
from cogs.sentiment.windows import RoomWindow, RoomWindows, hash32
from domain import Room
from policy.sentiment import KIND_AGENT, KIND_HUMAN
from tests.cogs.sentiment.helpers import ALICE, BOB, HELPER, ROOM, ChatRoom, Collector

T0 = 1_700_000_000.0


def cfg(**kw) -> SentimentSettings:
    return SentimentSettings(**kw)


def add(window: RoomWindow, at: float, author: str = "alice", *, compound=0.0, joy=0.0, anger=0.0, kind=KIND_HUMAN,
        message: str | None = None, toxicity=None, words=3):  # fmt: skip
    return window.observe(
        at, hash32(author), kind, hash32(message or f"{author}@{at}"), compound, 0.0, 0.0, anger, 0.0, joy, 0.0,
        toxicity, words,
    )  # fmt: skip


def test_window_closes_by_count():
    window = RoomWindow(ROOM, cfg(window_messages=3, window_seconds=30), T0)
    assert add(window, T0, "alice", compound=0.5) == []
    assert add(window, T0 + 1, "bob", compound=-0.1) == []
    [closed] = add(window, T0 + 2, "alice", compound=0.2)
    s = closed.summary
    assert (s.messages, s.humans, s.speakers) == (3, 3, 2)
    assert s.sentiment == pytest.approx(0.2, abs=1e-6)
    assert (s.start, s.end) == (T0, T0 + 2)
    assert s.latency == pytest.approx(1.0)  # every message answered someone else after a second
    # the sliding window still holds the last three messages
    assert [x.at for x in window.samples()] == [T0, T0 + 1, T0 + 2]
    assert add(window, T0 + 3, "carol") == []
    assert [x.at for x in window.samples()] == [T0 + 1, T0 + 2, T0 + 3]


def test_window_closes_by_time_and_forgets_old_messages():
    window = RoomWindow(ROOM, cfg(window_messages=10, window_seconds=30), T0)
    add(window, T0, "alice", compound=0.8)
    add(window, T0 + 20, "bob", compound=0.6)
    assert not window.due(T0 + 29.9)
    assert window.due(T0 + 30)
    [closed] = add(window, T0 + 45, "carol", compound=-0.4)
    s = closed.summary
    assert s.messages == 2 and (s.start, s.end) == (T0, T0 + 30)
    assert s.rate == pytest.approx(4.0)  # two messages in thirty seconds
    assert s.sentiment == pytest.approx(0.7, abs=1e-6)
    # T0 is more than 30 s before T0 + 45: gone from the sliding window
    assert [x.at for x in window.samples()] == [T0 + 20, T0 + 45]
    now = window.current(T0 + 45)
    assert now.messages == 2 and now.sentiment == pytest.approx(0.1, abs=1e-6)
    assert window.current(T0 + 80).messages == 0


def test_feelings_are_the_humans_but_engagement_counts_everyone():
    window = RoomWindow(ROOM, cfg(window_messages=3), T0)
    add(window, T0, "alice", compound=0.5, joy=0.6)
    add(window, T0 + 1, "helper", compound=-0.9, anger=0.9, kind=KIND_AGENT)
    [closed] = add(window, T0 + 2, "bob", compound=0.3, joy=0.2)
    s = closed.summary
    assert (s.messages, s.humans, s.speakers) == (3, 2, 3)
    assert s.sentiment == pytest.approx(0.4, abs=1e-6) and s.anger == 0.0


def test_toxicity_scores_attach_even_when_they_arrive_first():
    window = RoomWindow(ROOM, cfg(window_messages=2), T0)
    add(window, T0, "alice", message="m1")
    assert window.attach_score(hash32("m1"), 0.8) is True
    assert window.attach_score(hash32("m2"), 0.2) is False  # not seen yet: kept aside
    [closed] = add(window, T0 + 1, "bob", message="m2")
    assert closed.summary.toxicity == pytest.approx(0.5)


def test_trend_remembers_five_windows_and_reports_a_shift():
    window = RoomWindow(ROOM, cfg(window_messages=2, ema_alpha=0.5, min_windows_for_shift=2), T0)
    at = T0
    closed = []
    for _ in range(3):  # calm, friendly windows
        add(window, at, "alice", compound=0.5)
        closed += add(window, at + 1, "bob", compound=0.5)
        at += 2
    assert all(not c.shifts for c in closed)
    assert window.average()["sentiment"] == pytest.approx(0.5, abs=1e-6)
    add(window, at, "alice", compound=-0.6, anger=0.8)
    [turned] = add(window, at + 1, "bob", compound=-0.5, anger=0.7)
    metrics = {s.metric: s for s in turned.shifts}
    assert set(metrics) == {"sentiment", "anger"}
    assert metrics["sentiment"].before == pytest.approx(0.5, abs=1e-6)
    assert metrics["sentiment"].after == pytest.approx(-0.55, abs=1e-6)
    assert window.average()["sentiment"] == pytest.approx(-0.025, abs=1e-6)
    for _ in range(3):
        at += 2
        add(window, at, "alice")
        add(window, at + 1, "bob")
    history = window.history()
    assert len(history) == 5  # the last five windows, oldest first
    assert history[0].sentiment == pytest.approx(0.5, abs=1e-6)  # the third calm window
    assert history[1].sentiment == pytest.approx(-0.55, abs=1e-6)
    assert [h.start for h in history] == sorted(h.start for h in history)


def test_first_windows_never_shift():
    window = RoomWindow(ROOM, cfg(window_messages=1, min_windows_for_shift=2), T0)
    [a] = add(window, T0, compound=0.9)
    [b] = add(window, T0 + 1, compound=-0.9)
    assert a.shifts == () and b.shifts == ()  # only one window behind b: no established average yet


def test_times_survive_rebasing_in_a_long_lived_room():
    window = RoomWindow(ROOM, cfg(window_messages=3, window_seconds=30), T0)
    at = T0
    for _ in range(400):
        add(window, at)
        at += 20.0  # 8000 s in all: the time base moves forward twice
    assert [x.at for x in window.samples()] == [at - 40.0, at - 20.0]
    end = window.history()[-1].end
    assert at - 60.0 <= end <= at - 20.0
    assert (end - T0) % 10.0 == pytest.approx(0.0, abs=1e-3)  # still exact to the millisecond


def test_idle_rooms_are_evicted_and_memory_is_bounded():
    windows = RoomWindows(lambda room: cfg(), max_rooms=3, idle_seconds=60)
    rooms = [Room("test", "g", f"c{i}") for i in range(4)]
    for i, room in enumerate(rooms[:3]):
        window, evicted = windows.get(room, T0 + i)
        add(window, T0 + i)
        assert evicted == []
    # a fourth room evicts the least recently active one
    window, evicted = windows.get(rooms[3], T0 + 3)
    add(window, T0 + 3)
    assert [w.room for w in evicted] == [rooms[0]] and len(windows) == 3
    # touching room 1 keeps it; room 2 goes idle
    w1, _ = windows.get(rooms[1], T0 + 50)
    add(w1, T0 + 50)
    assert [w.room for w in windows.idle(T0 + 62.5)] == [rooms[2]]
    assert windows.peek(rooms[2]) is None and len(windows) == 2
    # an idle room met again starts afresh, and the stale window is handed back to be finished
    window, evicted = windows.get(rooms[3], T0 + 200)
    assert [w.room for w in evicted] == [rooms[3]] and window.size == 0


# --- through the cog --------------------------------------------------------------------------------------------


async def test_cog_publishes_trend_shifts_and_shows_the_mood(start_app, clock):
    app = await start_app(window_messages=2, min_windows_for_shift=2)
    shifts = Collector()
    app.bus.subscribe(TrendShifted, shifts, owner="test")
    room = ChatRoom(app)
    t0 = clock.now()
    for i in range(3):
        await room.say(ALICE, "this is lovely, thanks everyone", t0 + 4 * i)
        await room.say(BOB, "great work, I love it", t0 + 4 * i + 1)
    await app.bus.join()
    assert shifts.events == []
    await room.say(ALICE, "this is terrible, I hate it, ugh", t0 + 20)
    await room.say(BOB, "awful and useless, so annoying!!", t0 + 21)
    await app.bus.join()
    metrics = {e.metric: e for e in shifts.events}
    assert "sentiment" in metrics and "frustration" in metrics
    assert metrics["sentiment"].before > 0.4 and metrics["sentiment"].after < -0.4
    assert metrics["sentiment"].room == ROOM
    reply = await app.commands.invoke(CommandInvocation(name="mood", args=(), actor=ALICE, room=ROOM))
    assert "Last windows (sentiment):" in reply.text and "2 speakers" in reply.text
    other = await app.commands.invoke(
        CommandInvocation(name="mood", args=(), actor=ALICE, room=Room("test", "g1", "quiet"))
    )
    assert other.text == "No recent messages in this room."


async def test_cog_sweep_closes_quiet_windows_and_evicts_idle_rooms(start_app, clock):
    app = await start_app(window_seconds=30, idle_evict_seconds=120)
    cog = app.cogs.cogs["sentiment"]
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(ALICE, "hello", t0)
    await room.say(HELPER, "Hi Alice.", t0 + 1)
    clock.set(t0 + 40)
    await cog.sweep()
    assert app.metrics.value("steward_sentiment_windows_total") == 1
    assert len(cog.windows) == 1
    clock.set(t0 + 200)
    await cog.sweep()
    assert len(cog.windows) == 0
    assert app.metrics.value("steward_sentiment_evictions_total", reason="idle") == 1
    assert app.metrics.value("steward_sentiment_rooms") == 0


async def test_cog_applies_per_channel_window_sizes(start_app, make_settings, clock):
    app = await start_app(window_messages=10)
    assert app.settings.section("sentiment", ROOM).window_messages == 10
    from bot.app import StewardApp

    settings = make_settings(
        cogs={"enabled": ["sentiment"]},
        servers={"g1": {"channels": {"c1": {"sentiment": {"window_messages": 2}}}}},
    )
    assert settings.section("sentiment", ROOM).window_messages == 2
    other = StewardApp(settings, adapters=[], clock=clock)
    await other.start()
    try:
        room = ChatRoom(other)
        await room.say(ALICE, "one", clock.now())
        await room.say(BOB, "two", clock.now() + 1)
        assert other.metrics.value("steward_sentiment_windows_total") == 1
    finally:
        await other.stop()


async def test_scores_for_unknown_rooms_and_bad_scores_are_counted(sapp, clock):
    await sapp.bus.dispatch(
        MessageScored(at=clock.now(), room=ROOM, message_id="x", author=ALICE, scores={"toxicity": 0.1})
    )
    await sapp.bus.dispatch(
        MessageScored(at=clock.now(), room=ROOM, message_id="x", author=ALICE, scores={"toxicity": 7.0})
    )
    assert sapp.metrics.value("steward_sentiment_scores_total", outcome="no_window") == 1
    assert sapp.metrics.value("steward_sentiment_scores_total", outcome="rejected") == 1


async def test_a_model_without_a_toxicity_label_counts_its_worst_label(sapp, room, clock):
    t0 = clock.now()
    first = await room.say(ALICE, "hello", t0)
    scores = {"insult": 0.9, "obscene": 0.2, "note": "not a number"}
    await sapp.bus.dispatch(MessageScored(at=t0, room=ROOM, message_id=first, author=ALICE, scores=scores))
    assert sapp.metrics.value("steward_sentiment_scores_total", outcome="attached") == 1
    window = sapp.cogs.cogs["sentiment"].windows.peek(ROOM)
    assert window.current(t0).toxicity == pytest.approx(0.9)


@given(
    st.lists(st.tuples(st.floats(0.0, 50.0), st.integers(0, 3)), min_size=1, max_size=120),
    st.integers(1, 12),
    st.floats(1.0, 60.0),
)
@settings(max_examples=60, deadline=None)
def test_every_message_lands_in_exactly_one_window(steps, cap, span):
    """Whatever the timing: the window never exceeds N messages or T seconds, and each message is counted in one
    closed window or the open one."""
    window = RoomWindow(ROOM, cfg(window_messages=cap, window_seconds=span), T0)
    at, counted = T0, 0
    for gap, author in steps:
        at += gap
        for closed in add(window, at, f"user{author}"):
            counted += closed.summary.messages
            assert closed.summary.end - closed.summary.start <= span + 1e-6
        assert window.size <= cap
        assert all(at - s.at <= span + 1e-3 for s in window.samples())
        assert window.hist_size <= 5
    assert counted + window.since_close == len(steps)


def test_a_room_holds_what_it_has_seen_and_no_more_than_its_window():
    window = RoomWindow(ROOM, cfg(window_messages=4, window_seconds=30), T0, history=2)
    add(window, T0, "alice", compound=0.5)
    add(window, T0 + 1, "bob", compound=-0.5)
    assert (window.slots, window.history_capacity) == (2, 0)  # two messages, no window closed yet
    young = len(window.buf)
    for k in range(2, 30):  # windows close every four messages: the ring wraps, the history fills and rolls
        add(window, T0 + k, "alice" if k % 2 else "bob", compound=k / 100)
    assert (window.slots, window.history_capacity, window.hist_size) == (4, 2, 2)
    assert len(window.buf) > young
    [older, newer] = window.history()
    assert (older.start, newer.start) == (T0 + 20, T0 + 24)  # the last two of seven closed windows, in order
    assert [s.compound for s in window.samples()] == pytest.approx([0.26, 0.27, 0.28, 0.29], abs=1e-6)


async def test_a_sweep_passes_over_a_quiet_room_until_something_there_comes_due(start_app, clock):
    """A room where no window can close, no message be forgotten and no turn end yet costs the sweep a comparison;
    the window still closes at its time, and a new message asks for a look at the next sweep."""
    app = await start_app(window_seconds=30, idle_evict_seconds=600)
    cog = app.cogs.cogs["sentiment"]
    room = ChatRoom(app)
    t0 = clock.now()
    await room.say(ALICE, "hello", t0)
    await room.say(HELPER, "Hi Alice.", t0 + 1)
    clock.set(t0 + 5)
    await cog.sweep()
    [window] = list(cog.windows)
    assert window.next_look == pytest.approx(t0 + 30, abs=0.01)  # the window's span, the earliest thing due
    clock.set(t0 + 20)
    await cog.sweep()
    assert app.metrics.value("steward_sentiment_windows_total") == 0
    clock.set(t0 + 31)
    await cog.sweep()
    assert app.metrics.value("steward_sentiment_windows_total") == 1  # closed on time
    await room.say(ALICE, "thanks", t0 + 32)
    assert window.next_look == 0.0
