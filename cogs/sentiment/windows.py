"""Per-room windows of message scores, kept compact.

A room's window is the last N messages that are at most T seconds old (both bounds hold). Alongside it the room
keeps its *tumbling* windows: every N messages, or T seconds after the first message of a window, the current
window closes into a ``WindowSummary``; the last few summaries and an exponential moving average of them form the
room's trend, and a closed window far from that average is a trend shift.

Memory: every cog together must keep an active room under 4 KiB; this one takes about 1 KiB. No Python object per
message: scores in one ``array('f')`` (ring of N slots, moving average, last windows' summaries: ring and summaries
grow as they fill), author and message ids as 32-bit hashes in one ``array('i')``. VADER's pos and neg are not kept
(nothing reads them: a ``Sample`` says 0). Times are float32 offsets from a base that moves on as the room ages.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cogs.sentiment.config import SentimentSettings, shift_thresholds_of
from domain import Room
from policy.sentiment import (
    EMPTY_SUMMARY_FIELDS,
    TREND_METRICS,
    Sample,
    Shift,
    WindowSummary,
    detect_shifts,
    ema_update,
    summarise,
)

if TYPE_CHECKING:
    from cogs.sentiment.feedback import AgentTurn

NAN = float("nan")

# ring slot layout
(R_AT, R_KIND, R_COMPOUND, R_ANGER, R_FRUS, R_JOY, R_CONF, R_TOX, R_WORDS, R_GAP) = range(10)
RF = 10
_EMPTY_SLOT = array("f", bytes(4 * RF))
# summary layout: WindowSummary's fields in declaration order (start and end as offsets from the base)
HF = len(EMPTY_SUMMARY_FIELDS)
_H_INDEX = {name: i for i, name in enumerate(EMPTY_SUMMARY_FIELDS)}
_OPTIONAL = frozenset({"toxicity", "latency"})
_INTS = frozenset({"messages", "humans", "speakers"})
EF = len(TREND_METRICS)
_EMPTY_SUMMARY = array("f", bytes(4 * HF))
REBASE_AFTER = 3600.0  # seconds; float32 offsets below this keep sub-millisecond precision
PENDING_SCORES = 8  # toxicity scores that arrived before their message, per room


def hash32(value: str) -> int:
    return (hash(value) & 0xFFFFFFFF) - 0x80000000


def _opt(value: float) -> float | None:
    return None if value != value else float(value)


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    room: Room
    summary: WindowSummary
    average_before: dict[str, float | None] | None
    shifts: tuple[Shift, ...]


class RoomWindow:
    __slots__ = (
        "base",
        "buf",
        "cap",
        "cfg",
        "closed",
        "head",
        "hist_head",
        "hist_max",
        "hist_size",
        "ids",
        "last_at",
        "next_look",
        "opened_at",
        "pending_scores",
        "room",
        "since_close",
        "size",
        "span",
        "turns",
    )

    def __init__(self, room: Room, cfg: SentimentSettings, now: float, *, history: int = 5) -> None:
        self.room = room
        self.cfg = cfg
        self.cap = cfg.window_messages
        self.span = cfg.window_seconds
        self.base = now
        self.buf = array("f", bytes(4 * (RF + EF)))  # one ring slot and the average; more as the room fills
        for i in range(EF):
            self.buf[RF + i] = NAN
        self.ids = array("i", bytes(8))
        self.hist_max = history
        self.head = 0
        self.size = 0
        self.since_close = 0
        self.opened_at: float | None = None
        self.last_at = now
        self.next_look = 0.0  # before this the sweep has nothing to do here (0: look); every message resets it
        self.closed = 0
        self.hist_head = 0
        self.hist_size = 0
        self.turns: list[AgentTurn] | None = None  # open agent turns (feedback.AgentTurn), made on demand
        self.pending_scores: dict[int, float] | None = None

    # --- layout --------------------------------------------------------------------------------------------------

    @property
    def slots(self) -> int:  # ring slots held so far: up to N (the ring grows until it first wraps)
        return len(self.ids) >> 1

    @property
    def history_capacity(self) -> int:  # summaries held so far: up to ``history``
        return (len(self.buf) - self.slots * RF - EF) // HF

    @property
    def _ema_at(self) -> int:
        return self.slots * RF

    @property
    def _hist_at(self) -> int:
        return self.slots * RF + EF

    def _slot(self, age: int) -> int:
        """Index of the slot ``age`` messages back from the newest (0 = newest)."""
        return (self.head - 1 - age) % self.cap

    # --- observing -----------------------------------------------------------------------------------------------

    def observe(
        self,
        at: float,
        author: int,
        kind: int,
        message: int,
        compound: float,
        pos: float,
        neg: float,
        anger: float,
        frustration: float,
        joy: float,
        confusion: float,
        toxicity: float | None,
        words: int,
    ) -> list[ClosedWindow]:
        """Add one message's scores; return the windows this closed (by time before it, by count after it)."""
        if at < self.last_at:  # late or reordered delivery: keep the window's time monotonic
            at = self.last_at
        closed = []
        if self.opened_at is not None and at - self.opened_at >= self.span:
            closed.append(self.close(self.opened_at + self.span))
        self.prune(at)
        if at - self.base > REBASE_AFTER:
            self._rebase(at)
        gap = NAN
        if self.size:
            prev = self._slot(0)
            if self.ids[2 * prev] != author:
                gap = at - (self.base + self.buf[prev * RF + R_AT])
        if toxicity is None and self.pending_scores:
            toxicity = self.pending_scores.pop(message, None)
        slot = self.head
        o = slot * RF
        buf = self.buf if slot < len(self.ids) >> 1 else self._grow(o)
        buf[o] = at - self.base
        buf[o + 1] = kind
        buf[o + 2] = compound
        buf[o + 3] = anger
        buf[o + 4] = frustration
        buf[o + 5] = joy
        buf[o + 6] = confusion
        buf[o + 7] = NAN if toxicity is None else toxicity
        buf[o + 8] = words
        buf[o + 9] = gap
        self.ids[2 * slot] = author
        self.ids[2 * slot + 1] = message
        self.head = (slot + 1) % self.cap
        if self.size < self.cap:
            self.size += 1
        self.last_at = at
        if self.opened_at is None:
            self.opened_at = at
        self.since_close += 1
        if self.since_close >= self.cap:
            closed.append(self.close(at))
        return closed

    def _grow(self, o: int) -> array[float]:
        """One more ring slot at ``o`` (before the average); at N slots the arrays are copied to their exact size."""
        self.buf[o:o] = _EMPTY_SLOT
        self.ids.extend((0, 0))
        if len(self.ids) == 2 * self.cap:
            self.buf, self.ids = array("f", self.buf), array("i", self.ids)
        return self.buf

    def oldest_closed_at(self) -> float | None:
        """When the oldest message of a closed window was posted (what ``prune`` forgets first), or None."""
        if self.size <= self.since_close:
            return None
        return self.buf[((self.head - self.size) % self.cap) * RF + R_AT] + self.base

    def prune(self, now: float) -> int:
        """Forget messages older than the window's span; return how many.

        Never the open tumbling window's messages: callers close that window first when its time is up, so its
        messages are within the span, and a stored (float32) time must not say otherwise by a rounding.
        """
        horizon = now - self.span - self.base
        dropped = 0
        while self.size > self.since_close:
            oldest = (self.head - self.size) % self.cap
            if self.buf[oldest * RF + R_AT] >= horizon:
                break
            self.size -= 1
            dropped += 1
        if self.since_close > self.size:
            self.since_close = self.size
        return dropped

    def attach_score(self, message: int, toxicity: float) -> bool:
        """Set the toxicity of a message in the window; keep it aside briefly if the message is not here yet."""
        for age in range(self.size):
            slot = self._slot(age)
            if self.ids[2 * slot + 1] == message:
                self.buf[slot * RF + R_TOX] = toxicity
                return True
        if self.pending_scores is None:
            self.pending_scores = {}
        if len(self.pending_scores) >= PENDING_SCORES:
            self.pending_scores.pop(next(iter(self.pending_scores)))
        self.pending_scores[message] = toxicity
        return False

    def _rebase(self, now: float) -> None:
        delta, buf = now - self.base, self.buf
        for slot in range(self.slots):
            buf[slot * RF + R_AT] -= delta
        h = self._hist_at
        for i in range(self.history_capacity):
            buf[h + i * HF] -= delta
            buf[h + i * HF + 1] -= delta
        self.base = now

    # --- reading -------------------------------------------------------------------------------------------------

    def samples(self, newest: int | None = None) -> list[Sample]:
        """The window's samples, oldest first (only the ``newest`` ones when given)."""
        count = self.size if newest is None else min(newest, self.size)
        out = []
        buf, ids, base = self.buf, self.ids, self.base
        for age in range(count - 1, -1, -1):
            slot = self._slot(age)
            o = slot * RF
            out.append(
                Sample(
                    at=base + buf[o],
                    author=ids[2 * slot],
                    kind=int(buf[o + 1]),
                    compound=buf[o + 2],
                    anger=buf[o + 3],
                    frustration=buf[o + 4],
                    joy=buf[o + 5],
                    confusion=buf[o + 6],
                    toxicity=_opt(buf[o + 7]),
                    words=int(buf[o + 8]),
                    gap=_opt(buf[o + 9]),
                )
            )
        return out

    def current(self, now: float) -> WindowSummary:
        """The sliding window as it stands at ``now``: the last N messages of the last T seconds."""
        horizon = now - self.span
        samples = [s for s in self.samples() if s.at >= horizon]
        if len(samples) >= self.cap:
            start = samples[0].at
        else:
            start = now - self.span
        return summarise(samples, start=start, end=max(now, start))

    def average(self) -> dict[str, float | None]:
        e = self._ema_at
        return {name: _opt(self.buf[e + i]) for i, name in enumerate(TREND_METRICS)}

    def history(self) -> list[WindowSummary]:
        """The last closed windows, oldest first."""
        out = []
        cap = self.history_capacity
        for k in range(self.hist_size - 1, -1, -1):
            index = (self.hist_head - 1 - k) % cap
            o = self._hist_at + index * HF
            values: dict[str, object] = {}
            for name, i in _H_INDEX.items():
                value = self.buf[o + i]
                if name in ("start", "end"):
                    values[name] = self.base + value
                elif name in _OPTIONAL:
                    values[name] = _opt(value)
                elif name in _INTS:
                    values[name] = int(value)
                else:
                    values[name] = float(value)
            out.append(WindowSummary(**values))  # type: ignore[arg-type]
        return out

    # --- closing -------------------------------------------------------------------------------------------------

    def close(self, end: float) -> ClosedWindow:
        """Close the current tumbling window: summarise it, remember it, move the average, look for shifts."""
        samples = self.samples(self.since_close)
        start = self.opened_at if self.opened_at is not None else end
        summary = summarise(samples, start=start, end=max(end, start))
        before = self.average() if self.closed else None
        shifts: tuple[Shift, ...] = ()
        if before is not None and self.closed >= self.cfg.min_windows_for_shift:
            shifts = tuple(detect_shifts(before, summary, shift_thresholds_of(self.cfg)))
        after = ema_update(before, summary, self.cfg.ema_alpha)
        e = self._ema_at
        for i, name in enumerate(TREND_METRICS):
            value = after[name]
            self.buf[e + i] = NAN if value is None else value
        cap = self.history_capacity
        if cap < self.hist_max and self.hist_size == cap:  # not wrapped yet: room for one more summary, at the end
            self.buf.extend(_EMPTY_SUMMARY)
            self.hist_head = cap
            cap += 1
            if cap == self.hist_max:
                self.buf = array("f", self.buf)  # grown to its last size: no slack kept
        if cap:
            o = self._hist_at + self.hist_head * HF
            for name, i in _H_INDEX.items():
                value = getattr(summary, name)
                if name in ("start", "end"):
                    value -= self.base
                self.buf[o + i] = NAN if value is None else value
            self.hist_head = (self.hist_head + 1) % cap
            self.hist_size = min(self.hist_size + 1, cap)
        self.closed += 1
        self.since_close = 0
        self.opened_at = None
        return ClosedWindow(self.room, summary, before, shifts)

    def due(self, now: float) -> bool:
        """The current tumbling window has run for its span and should close."""
        return self.opened_at is not None and now - self.opened_at >= self.span


class RoomWindows:
    """Every active room's window, least recently active first. Rooms idle past ``idle_seconds`` and the least
    recently active beyond ``max_rooms`` are evicted; the caller gets the evicted windows to finish them."""

    def __init__(
        self,
        config_for: Callable[[Room], SentimentSettings],
        *,
        max_rooms: int,
        idle_seconds: float,
        history: int = 5,
    ) -> None:
        self.config_for = config_for
        self.max_rooms = max_rooms
        self.idle_seconds = idle_seconds
        self.history = history
        self._rooms: OrderedDict[Room, RoomWindow] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterator[RoomWindow]:
        return iter(list(self._rooms.values()))

    def peek(self, room: Room) -> RoomWindow | None:
        return self._rooms.get(room)

    def get(self, room: Room, now: float) -> tuple[RoomWindow, list[RoomWindow]]:
        """The room's window (made if new), and the windows evicted to make it: an idle window of this same room
        (its state is stale) or the least recently active room when memory is full."""
        evicted: list[RoomWindow] = []
        window = self._rooms.get(room)
        if window is not None and now - window.last_at > self.idle_seconds:
            evicted.append(self._rooms.pop(room))
            window = None
        if window is None:
            while len(self._rooms) >= self.max_rooms:
                evicted.append(self._rooms.popitem(last=False)[1])
            window = self._rooms[room] = RoomWindow(room, self.config_for(room), now, history=self.history)
        else:
            self._rooms.move_to_end(room)
        window.next_look = 0.0
        return window, evicted

    def touch(self, window: RoomWindow) -> None:
        if self._rooms.get(window.room) is window:
            self._rooms.move_to_end(window.room)

    def idle(self, now: float) -> list[RoomWindow]:
        """Pop every room that has been idle past the limit."""
        out = []
        while self._rooms:
            window = next(iter(self._rooms.values()))
            if now - window.last_at <= self.idle_seconds:
                break
            out.append(self._rooms.popitem(last=False)[1])
        return out

    def pop(self, room: Room) -> RoomWindow | None:
        return self._rooms.pop(room, None)
