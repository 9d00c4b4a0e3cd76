"""The core schema and its repositories: registered agents, the decision log, durable timers."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiosqlite

from domain import AgentIdentity, Room
from storage.db import Database, Migration, Row

CORE_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "agents and timers",
        """
        CREATE TABLE agents (
            name TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT 'managed',
            platform_user_id TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX agents_platform_user ON agents (platform, platform_user_id);
        CREATE TABLE timers (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            due_at REAL NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (kind, key)
        );
        """,
    ),
    Migration(
        2,
        "decision log",
        """
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            room TEXT NOT NULL,
            agent TEXT NOT NULL,
            verdict TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            text TEXT,
            scores TEXT NOT NULL DEFAULT '{}'
        );
        """,
    ),
    Migration(
        3,
        "agent avatars; decisions by room and time; posted message ids",
        """
        ALTER TABLE agents ADD COLUMN avatar_url TEXT;
        ALTER TABLE decisions ADD COLUMN message_id TEXT;
        CREATE INDEX decisions_room_at ON decisions (room, at);
        """,
    ),
    Migration(
        4,
        "timers by due time; the decision log without its room index",
        # The scheduler reads only what is due (and the next due time), never the whole table. Nothing reads the
        # decisions by room and time: the index cost about a quarter of the log's bytes a message and a B-tree
        # insert each (``recent(room=...)`` walks the log from its newest row instead).
        """
        CREATE INDEX timers_due ON timers (due_at);
        DROP INDEX IF EXISTS decisions_room_at;
        """,
    ),
]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class AgentRecord:
    name: str
    platform: str
    owner_id: str
    display_name: str = ""
    kind: str = "managed"  # "managed": speaks only through Steward; "bot_user": has its own platform bot user
    platform_user_id: str | None = None
    avatar_url: str | None = None
    created_at: float = 0.0

    @property
    def identity(self) -> AgentIdentity:
        return AgentIdentity(
            name=self.name,
            display_name=self.display_name,
            avatar_url=self.avatar_url,
            platform_user_id=self.platform_user_id,
        )


class AgentExists(Exception):
    pass


class AgentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _record(row: Row) -> AgentRecord:
        return AgentRecord(
            name=row["name"],
            platform=row["platform"],
            owner_id=row["owner_id"],
            display_name=row["display_name"],
            kind=row["kind"],
            platform_user_id=row["platform_user_id"],
            avatar_url=row["avatar_url"],
            created_at=row["created_at"],
        )

    async def register(self, agent: AgentRecord) -> AgentRecord:
        if not agent.name or any(c.isspace() or c == ":" for c in agent.name):
            raise ValueError(f"an agent name must be non-empty, without spaces or ':', got {agent.name!r}")
        if await self.get(agent.name) is not None:
            raise AgentExists(f"an agent named {agent.name!r} is already registered")
        created = agent.created_at or time.time()
        await self.db.execute(
            "INSERT INTO agents (name, platform, owner_id, display_name, kind, platform_user_id, avatar_url, "
            "created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent.name,
                agent.platform,
                agent.owner_id,
                agent.display_name,
                agent.kind,
                agent.platform_user_id,
                agent.avatar_url,
                created,
            ),
        )
        return await self.get(agent.name)  # type: ignore[return-value]

    async def get(self, name: str) -> AgentRecord | None:
        row = await self.db.fetchone("SELECT * FROM agents WHERE name = ?", (name,))
        return self._record(row) if row else None

    async def by_platform_user(self, platform: str, user_id: str) -> AgentRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM agents WHERE platform = ? AND platform_user_id = ?", (platform, user_id)
        )
        return self._record(row) if row else None

    async def list(self, owner_id: str | None = None) -> list[AgentRecord]:
        if owner_id is None:
            rows = await self.db.fetchall("SELECT * FROM agents ORDER BY name")
        else:
            rows = await self.db.fetchall("SELECT * FROM agents WHERE owner_id = ? ORDER BY name", (owner_id,))
        return [self._record(r) for r in rows]

    async def update(self, name: str, **fields: Any) -> AgentRecord | None:
        allowed = {"display_name", "avatar_url", "platform_user_id", "kind", "owner_id"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"cannot update agent field(s) {sorted(bad)}")
        if fields:
            assignments = ", ".join(f"{k} = ?" for k in fields)
            await self.db.execute(f"UPDATE agents SET {assignments} WHERE name = ?", (*fields.values(), name))
        return await self.get(name)

    async def delete(self, name: str) -> bool:
        return await self.db.execute("DELETE FROM agents WHERE name = ?", (name,)) > 0


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    id: int
    at: float
    room: str
    agent: str
    verdict: str
    rule: str
    reason: str
    text_hash: str
    text: str | None
    scores: Mapping[str, float]
    message_id: str | None


class DecisionLog:
    """Every decision the agent publisher made, committed before it is reported to anyone."""

    def __init__(self, db: Database, *, store_text: bool = False) -> None:
        self.db = db
        self.store_text = store_text

    async def record(
        self,
        *,
        at: float,
        room: Room,
        agent: str,
        verdict: str,
        rule: str,
        reason: str,
        text: str,
        scores: Mapping[str, float],
    ) -> int:
        return await self.db.execute(
            "INSERT INTO decisions (at, room, agent, verdict, rule, reason, text_hash, text, scores) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                room.key,
                agent,
                verdict,
                rule,
                reason,
                text_hash(text),
                text if self.store_text else None,
                json.dumps(dict(scores), sort_keys=True),
            ),
        )

    async def set_message_id(self, decision_id: int, message_id: str) -> None:
        await self.db.execute("UPDATE decisions SET message_id = ? WHERE id = ?", (message_id, decision_id))

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n FROM decisions")
        return int(row["n"]) if row else 0

    async def recent(self, limit: int = 50, room: Room | None = None) -> list[DecisionRecord]:
        if room is None:
            rows = await self.db.fetchall("SELECT * FROM decisions ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM decisions WHERE room = ? ORDER BY id DESC LIMIT ?", (room.key, limit)
            )
        return [
            DecisionRecord(
                id=r["id"],
                at=r["at"],
                room=r["room"],
                agent=r["agent"],
                verdict=r["verdict"],
                rule=r["rule"],
                reason=r["reason"],
                text_hash=r["text_hash"],
                text=r["text"],
                scores=json.loads(r["scores"]),
                message_id=r["message_id"],
            )
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class TimerRecord:
    kind: str
    key: str
    due_at: float
    payload: Mapping[str, Any]


class TimerRepository:
    """Durable timers. The ``*_in`` methods write inside the caller's transaction, so that a timer and the row it
    is for are committed together or not at all.

    The repository keeps a lower bound of the next due time (every timer it writes lowers it; ``refresh_next_due``
    reads the true one from the index), so a scheduler polling on a manual clock asks the table only when
    something may be due. ``rows_read`` counts the timer rows its reads returned.
    """

    _UPSERT = (
        "INSERT INTO timers (kind, key, due_at, payload) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(kind, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload"
    )

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows_read = 0
        self._next_due: float | None = None  # None: not known yet
        self._lowered = math.inf  # the earliest due time written since the last refresh began

    def _lower(self, due_at: float) -> None:
        if self._next_due is not None:
            self._next_due = min(self._next_due, due_at)
        self._lowered = min(self._lowered, due_at)

    async def upsert(self, kind: str, key: str, due_at: float, payload: Mapping[str, Any]) -> None:
        self._lower(due_at)
        await self.db.execute(self._UPSERT, (kind, key, due_at, json.dumps(dict(payload), sort_keys=True)))

    async def upsert_in(
        self, conn: aiosqlite.Connection, kind: str, key: str, due_at: float, payload: Mapping[str, Any]
    ) -> None:
        self._lower(due_at)
        await conn.execute(self._UPSERT, (kind, key, due_at, json.dumps(dict(payload), sort_keys=True)))

    async def delete(self, kind: str, key: str, *, due_at: float | None = None) -> bool:
        """Delete a timer; with ``due_at``, only if it is still due then (its handler may have moved it)."""
        if due_at is None:
            return await self.db.execute("DELETE FROM timers WHERE kind = ? AND key = ?", (kind, key)) > 0
        sql = "DELETE FROM timers WHERE kind = ? AND key = ? AND due_at = ?"
        return await self.db.execute(sql, (kind, key, due_at)) > 0

    async def delete_in(self, conn: aiosqlite.Connection, kind: str, key: str) -> bool:
        cursor = await conn.execute("DELETE FROM timers WHERE kind = ? AND key = ?", (kind, key))
        return cursor.rowcount > 0

    async def all(self) -> list[TimerRecord]:
        return self._timers(await self.db.fetchall("SELECT * FROM timers ORDER BY due_at"))

    async def due(self, now: float) -> list[TimerRecord]:
        """The timers due by ``now``, earliest first (read through the due-time index)."""
        return self._timers(await self.db.fetchall("SELECT * FROM timers WHERE due_at <= ? ORDER BY due_at", (now,)))

    def may_be_due(self, now: float) -> bool:
        """False only when no stored timer can be due by ``now`` (the lower bound is later)."""
        return self._next_due is None or self._next_due <= now

    async def refresh_next_due(self) -> float | None:
        """Read the earliest due time from the index (None: no timer); timers written meanwhile keep it lower."""
        self._lowered = math.inf
        row = await self.db.fetchone("SELECT MIN(due_at) AS due FROM timers")
        stored = math.inf if row is None or row["due"] is None else float(row["due"])
        self._next_due = min(stored, self._lowered)
        return None if math.isinf(self._next_due) else self._next_due

    async def of_kind(self, kind: str) -> list[TimerRecord]:
        return self._timers(await self.db.fetchall("SELECT * FROM timers WHERE kind = ? ORDER BY due_at", (kind,)))

    async def get(self, kind: str, key: str) -> TimerRecord | None:
        row = await self.db.fetchone("SELECT * FROM timers WHERE kind = ? AND key = ?", (kind, key))
        if row is None:
            return None
        self.rows_read += 1
        return _timer(row)

    def _timers(self, rows: list[Row]) -> list[TimerRecord]:
        self.rows_read += len(rows)
        return [_timer(r) for r in rows]


def _timer(row: Row) -> TimerRecord:
    return TimerRecord(row["kind"], row["key"], row["due_at"], json.loads(row["payload"]))
