"""The moderator's storage: hot rule state in memory, and cases, suspensions and warning points in SQLite.

*Hot state* (``RoomStateStore``) is what the rules read on every agent message: each room's last few messages
(payload keys and sketches, authors, reply depths, and for near-duplicate matching the word codes of an agent
message's first ``WORDS_KEPT`` words; never text), each agent's cross-room token bucket and recent rejections.
``InMemoryRoomState`` keeps each remembered message as one packed ``bytes`` record (and its word codes beside it)
so that a room stays small, and forgets rooms that fell idle (by event time, so replays behave the same) or the
idlest room when there are too many. A shared backend (Redis) can implement the same interface.

*Durable state* is humans' warning points. Cases and suspensions belong to the core (``storage/cases.py``,
``storage/suspensions.py``).
"""

from __future__ import annotations

import struct
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from policy.moderation import WORDS_KEPT, AuthorKind, History, Recent
from policy.moderation_text import SKETCH_SIZE
from policy.ratelimit import TokenBucket
from storage.db import Database, Migration

# --- hot state ----------------------------------------------------------------------------------------------------

# One fixed-size record a message: a header (at, message-id hash, payload key, author index, depth, kind, sketch
# length, the canonical text's number of words: 36 bytes), then SKETCH_SIZE uint32 sketch slots (48 bytes; zeros
# without a sketch). A room's records sit back to back in one bytearray, which costs no per-record object and
# decodes in one C-level pass (``iter_unpack``). The rules' pass decodes the headers only (the sketch slots as
# padding) and a sketch when one is compared. The word codes are a tuple beside the records, one str a message (the
# same empty str for humans' messages and without near matching). Both are immutable and exactly sized (``bytes``
# and ``tuple``, rebuilt when a message comes: at most ``history_size`` records, about 1 KiB), which a growing
# ``bytearray`` and ``list`` are not (they over-allocate), and the rules read them without a copy.
_RECORD = struct.Struct(f"<dqqIHBBI{SKETCH_SIZE}I")
_HEADER = struct.Struct(f"<dqqIHBBI{SKETCH_SIZE * 4}x")
_HEADER_SIZE = struct.calcsize("<dqqIHBBI")
_SKETCH = struct.Struct(f"<{SKETCH_SIZE}I")
_NO_SKETCH = (0,) * SKETCH_SIZE
_KINDS = tuple(AuthorKind)
_new_recent = tuple.__new__


def message_hash(message_id: str) -> int:
    """The in-memory key of a message id (ids are never kept as strings: they would cost more than the rest); the
    same in every process, like the payload keys: CRC-32 and Adler-32 of the id side by side (two C calls, a third
    of BLAKE2b's cost; ids are unique, so a weaker hash than the payloads' will do)."""
    data = message_id.encode("utf-8", "surrogatepass")
    return ((zlib.crc32(data) << 31) ^ zlib.adler32(data)) or 1


class RoomStateStore(Protocol):
    def history(self, room_key: str) -> list[Recent]: ...

    def recent(self, room_key: str) -> History:
        """The same messages as ``history``, as columns (what the rules read on every message)."""
        ...

    def remember(self, room_key: str, recent: Recent) -> None: ...

    def global_bucket(self, agent: str) -> TokenBucket | None: ...

    def set_global_bucket(self, agent: str, bucket: TokenBucket) -> None: ...

    def rejections(self, agent: str, scope: str) -> list[float]: ...

    def set_rejections(self, agent: str, scope: str, times: list[float]) -> None: ...

    def evict_idle(self) -> int: ...


class _PackedSketches:
    """A room's sketch slots, decoded one message at a time when a rule asks (most messages are never compared)."""

    __slots__ = ("_records", "_sizes")

    def __init__(self, records: bytes, sizes: Sequence[int]) -> None:
        self._records = records
        self._sizes = sizes

    def __len__(self) -> int:
        return len(self._sizes)

    def __getitem__(self, index: int) -> tuple[int, ...]:
        size = self._sizes[index]
        if not size:
            return ()
        values = _SKETCH.unpack_from(self._records, (index % len(self._sizes)) * _RECORD.size + _HEADER_SIZE)
        return values if size == SKETCH_SIZE else values[:size]


_EMPTY = History((), (), (), (), (), (), (), (), ())


class _Room:
    __slots__ = ("last_at", "records", "words")

    def __init__(self) -> None:
        self.records = b""
        self.words: tuple[str, ...] = ()  # word codes, one a record, in the same order
        self.last_at = 0.0


class InMemoryRoomState:
    """``RoomStateStore`` in this process. Not shared between processes; lost at restart by design (it is a
    window over the last minutes, rebuilt as messages arrive)."""

    def __init__(self, *, history_size: int = 12, max_rooms: int = 100_000, idle_seconds: float = 3600.0) -> None:
        if history_size < 1 or max_rooms < 1:
            raise ValueError("history_size and max_rooms must be positive")
        self.history_size = history_size
        self._limit = history_size * _RECORD.size
        self.max_rooms = max_rooms
        self.idle_seconds = idle_seconds
        # Ordered by last *write* (``remember``), the idlest first, which ``evict_idle`` relies on. Not a cachetools
        # LRUCache: its lookups reorder on every read (``recent`` runs on every decision and must not) and cost about
        # 195 ns against 43 ns for ``OrderedDict.get`` here (a hot-path read, measured with timeit on 10,000 rooms).
        self._rooms: OrderedDict[str, _Room] = OrderedDict()
        self._author_ids: dict[str, int] = {"": 0}
        self._authors: list[str] = [""]
        self._buckets: dict[str, TokenBucket] = {}
        self._rejections: dict[tuple[str, str], list[float]] = {}
        self.watermark = 0.0  # the latest event time seen: "now" for eviction
        self.evicted = 0

    @property
    def room_count(self) -> int:
        return len(self._rooms)

    def __contains__(self, room_key: object) -> bool:
        return room_key in self._rooms

    @property
    def agent_count(self) -> int:
        """Agents with a cross-room bucket or rejections counted (both forgotten with the idle rooms)."""
        return len(self._buckets) + len(self._rejections)

    def _author_id(self, name: str) -> int:
        found = self._author_ids.get(name)
        if found is None:
            found = self._author_ids[name] = len(self._authors)
            self._authors.append(name)
        return found

    def history(self, room_key: str) -> list[Recent]:
        room = self._rooms.get(room_key)
        if room is None:
            return []
        authors, kinds, new = self._authors, _KINDS, _new_recent
        return [
            new(Recent, (f[0], authors[f[3]], kinds[f[5]], f[1], f[4], f[2], f[8 : 8 + f[6]], text, f[7]))
            for f, text in zip(_RECORD.iter_unpack(room.records), room.words, strict=True)
        ]

    def recent(self, room_key: str) -> History:
        room = self._rooms.get(room_key)
        if room is None or not room.records:
            return _EMPTY
        # One C-level pass decodes the headers and one transposes them into columns.
        records = room.records  # immutable: a message that comes later makes new bytes
        at, message, key, author_ids, depth, kind, sizes, lengths = zip(*_HEADER.iter_unpack(records), strict=True)
        authors = tuple(map(self._authors.__getitem__, author_ids))
        sketches = _PackedSketches(records, sizes)
        return History(at, authors, kind, message, depth, key, sketches, room.words, lengths)

    def remember(self, room_key: str, recent: Recent) -> None:
        room = self._rooms.get(room_key)
        if room is None:
            room = self._rooms[room_key] = _Room()
            if len(self._rooms) > self.max_rooms:
                self._rooms.popitem(last=False)
                self.evicted += 1
        else:
            self._rooms.move_to_end(room_key)
        at, author, sketch = recent.at, recent.author, recent.sketch
        author_id = self._author_ids.get(author)
        if author_id is None:
            author_id = self._author_id(author)
        size = len(sketch)
        if size >= SKETCH_SIZE:
            size, sketch = SKETCH_SIZE, sketch[:SKETCH_SIZE]
        else:
            sketch = (*sketch, *_NO_SKETCH[size:])
        depth, words, length = recent.depth, recent.words, recent.length
        record = _RECORD.pack(
            at,
            recent.message,
            recent.key,
            author_id,
            depth if depth < 0xFFFF else 0xFFFF,
            recent.kind,
            size,
            length if length < 0xFFFFFFFF else 0xFFFFFFFF,
            *sketch,
        )
        code = words[:WORDS_KEPT] if len(words) > WORDS_KEPT else words
        records, kept = room.records, room.words
        if len(records) >= self._limit:  # full: the oldest message goes
            room.records = records[_RECORD.size :] + record
            room.words = (*kept[1:], code)
        else:
            room.records = records + record
            room.words = (*kept, code)
        if at > room.last_at:
            room.last_at = at
        if at > self.watermark:
            self.watermark = at

    def global_bucket(self, agent: str) -> TokenBucket | None:
        return self._buckets.get(agent)

    def set_global_bucket(self, agent: str, bucket: TokenBucket) -> None:
        self._buckets[agent] = bucket

    def rejections(self, agent: str, scope: str) -> list[float]:
        return list(self._rejections.get((agent, scope), ()))

    def set_rejections(self, agent: str, scope: str, times: list[float]) -> None:
        if times:
            self._rejections[(agent, scope)] = times
        else:
            self._rejections.pop((agent, scope), None)

    def evict_idle(self) -> int:
        """Forget rooms with no message for ``idle_seconds`` before the latest event seen; return how many."""
        cutoff = self.watermark - self.idle_seconds
        gone = 0
        # Rooms are ordered by last activity: the idle ones are at the front.
        while self._rooms:
            key, room = next(iter(self._rooms.items()))
            if room.last_at >= cutoff:
                break
            del self._rooms[key]
            gone += 1
        for agent, bucket in list(self._buckets.items()):
            if bucket.at < cutoff:
                del self._buckets[agent]
        for scope, times in list(self._rejections.items()):
            if not times or times[-1] < cutoff:
                del self._rejections[scope]
        self.evicted += gone
        return gone


# --- durable state ------------------------------------------------------------------------------------------------


async def _hand_over(conn: aiosqlite.Connection) -> None:
    # The core's migrations ran first (the app migrates its own components before any cog's) and copied these
    # tables; copy anything they did not see, then drop the moderator's copies so one record has one owner.
    await conn.execute("INSERT OR IGNORE INTO cases SELECT * FROM moderation_cases")
    await conn.execute("INSERT OR IGNORE INTO agent_suspensions SELECT * FROM moderation_suspensions")
    await conn.execute("DROP TABLE moderation_cases")
    await conn.execute("DROP TABLE moderation_suspensions")


MODERATION_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "cases, suspensions, warning points",
        """
        CREATE TABLE moderation_cases (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            server TEXT NOT NULL,
            number INTEGER NOT NULL,
            room TEXT NOT NULL,
            at REAL NOT NULL,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            target_name TEXT NOT NULL DEFAULT '',
            verdict TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            action TEXT NOT NULL DEFAULT '',
            scores TEXT NOT NULL DEFAULT '{}',
            text_hash TEXT NOT NULL,
            text TEXT,
            message_id TEXT,
            log_only INTEGER NOT NULL DEFAULT 0,
            points REAL NOT NULL DEFAULT 0,
            suspension_id INTEGER,
            pardoned INTEGER NOT NULL DEFAULT 0,
            pardoned_at REAL,
            pardoned_by TEXT,
            pardon_reason TEXT,
            UNIQUE (server, number)
        );
        CREATE INDEX moderation_cases_target ON moderation_cases (server, target_id, number);
        CREATE TABLE moderation_suspensions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            server TEXT NOT NULL,
            room TEXT,
            started_at REAL NOT NULL,
            until REAL NOT NULL,
            reason TEXT NOT NULL,
            case_number INTEGER,
            ended_at REAL,
            ended_by TEXT
        );
        CREATE INDEX moderation_suspensions_open ON moderation_suspensions (agent) WHERE ended_at IS NULL;
        CREATE TABLE moderation_points (
            server TEXT NOT NULL,
            user_id TEXT NOT NULL,
            points REAL NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (server, user_id)
        );
        """,
    ),
    Migration(2, "cases and suspensions moved to the core (storage/cases.py, storage/suspensions.py)", _hand_over),
]


@dataclass(frozen=True, slots=True)
class Points:
    points: float
    updated_at: float


class PointsRepository:
    """Humans' warning points per server (stored as last value and time; decay is applied by the reader)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, server: str, user_id: str) -> Points | None:
        row = await self.db.fetchone(
            "SELECT points, updated_at FROM moderation_points WHERE server = ? AND user_id = ?", (server, user_id)
        )
        return Points(row["points"], row["updated_at"]) if row else None

    async def set(self, server: str, user_id: str, points: float, at: float) -> None:
        await self.db.execute(
            "INSERT INTO moderation_points (server, user_id, points, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(server, user_id) DO UPDATE SET points = excluded.points, updated_at = excluded.updated_at",
            (server, user_id, points, at),
        )
