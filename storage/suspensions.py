"""Agent suspensions: one record per suspension, owned by the core.

The moderator's escalation opens them, a durable timer or a pardon ends them, and every component (the moderator's
gate, presence's invitations) reads the same records through the core's ``SuspensionService``
(``bot/suspensions.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database, Migration, Row, execute_script, table_exists

SUSPENSIONS_COMPONENT = "suspensions"


async def _create_suspensions(conn: aiosqlite.Connection) -> None:
    await execute_script(
        conn,
        """
        CREATE TABLE agent_suspensions (
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
        CREATE INDEX agent_suspensions_open ON agent_suspensions (agent) WHERE ended_at IS NULL;
        """,
    )
    # Suspensions written before the core owned them lived in the moderator's table (ids kept: timers and cases
    # refer to them).
    if await table_exists(conn, "moderation_suspensions"):
        await conn.execute("INSERT INTO agent_suspensions SELECT * FROM moderation_suspensions")


SUSPENSIONS_MIGRATIONS: list[Migration] = [
    Migration(1, "agent suspensions owned by the core (from moderation_suspensions)", _create_suspensions)
]


@dataclass(frozen=True, slots=True)
class Suspension:
    id: int
    agent: str
    server: str  # "platform:server"
    room: str | None  # a room key, or None for the whole server
    started_at: float
    until: float
    reason: str
    case_number: int | None
    ended_at: float | None = None
    ended_by: str | None = None

    def covers(self, server: str, room_key: str, at: float) -> bool:
        return (
            self.ended_at is None
            and self.started_at <= at < self.until
            and self.server == server
            and (self.room is None or self.room == room_key)
        )


def _suspension(row: Row) -> Suspension:
    return Suspension(
        id=row["id"],
        agent=row["agent"],
        server=row["server"],
        room=row["room"],
        started_at=row["started_at"],
        until=row["until"],
        reason=row["reason"],
        case_number=row["case_number"],
        ended_at=row["ended_at"],
        ended_by=row["ended_by"],
    )


class SuspensionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        *,
        agent: str,
        server: str,
        room: str | None,
        started_at: float,
        until: float,
        reason: str,
        case_number: int | None,
    ) -> Suspension:
        async with self.db.transaction() as conn:
            return await self.add_in(
                conn,
                agent=agent,
                server=server,
                room=room,
                started_at=started_at,
                until=until,
                reason=reason,
                case_number=case_number,
            )

    async def add_in(
        self,
        conn: aiosqlite.Connection,
        *,
        agent: str,
        server: str,
        room: str | None,
        started_at: float,
        until: float,
        reason: str,
        case_number: int | None,
    ) -> Suspension:
        """Write a suspension inside the caller's transaction (with its case and end timer) and return it."""
        cursor = await conn.execute(
            "INSERT INTO agent_suspensions (agent, server, room, started_at, until, reason, case_number) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (agent, server, room, started_at, until, reason, case_number),
        )
        async with conn.execute("SELECT * FROM agent_suspensions WHERE id = ?", (cursor.lastrowid,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise LookupError("a suspension was just written but cannot be read")
        return _suspension(row)

    async def get(self, suspension_id: int) -> Suspension | None:
        row = await self.db.fetchone("SELECT * FROM agent_suspensions WHERE id = ?", (suspension_id,))
        return _suspension(row) if row else None

    async def open(self) -> list[Suspension]:
        rows = await self.db.fetchall("SELECT * FROM agent_suspensions WHERE ended_at IS NULL ORDER BY id")
        return [_suspension(r) for r in rows]

    async def end(self, suspension_id: int, *, at: float, by: str) -> bool:
        async with self.db.transaction() as conn:
            return await self.end_in(conn, suspension_id, at=at, by=by)

    async def end_in(self, conn: aiosqlite.Connection, suspension_id: int, *, at: float, by: str) -> bool:
        """End an open suspension inside the caller's transaction (with its timer's removal); False if it had
        ended."""
        cursor = await conn.execute(
            "UPDATE agent_suspensions SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL",
            (at, by, suspension_id),
        )
        return cursor.rowcount > 0
