"""Moderation cases: the append-only record of what was done to whom and why, numbered per server.

Any component may open a case (the moderator for its decisions, presence for forced leaves, the conversation
moderator for its actions); the core's ``CaseService`` (``bot/cases.py``) is the one writer. A pardon is recorded
on the case; nothing is ever deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import aiosqlite

from storage.db import Database, Migration, Row, execute_script, table_exists

CASES_COMPONENT = "cases"


async def _create_cases(conn: aiosqlite.Connection) -> None:
    await execute_script(
        conn,
        """
        CREATE TABLE cases (
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
        CREATE INDEX cases_target ON cases (server, target_id, number);
        """,
    )
    # Cases written before the core owned them lived in the moderator's table: carry them over, ids and numbers
    # unchanged (suspensions and commands refer to both).
    if await table_exists(conn, "moderation_cases"):
        await conn.execute("INSERT INTO cases SELECT * FROM moderation_cases")


CASES_MIGRATIONS: list[Migration] = [Migration(1, "cases owned by the core (from moderation_cases)", _create_cases)]


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    server: str  # "platform:server": numbering is per server
    number: int
    room: str
    at: float
    target_kind: str
    target_id: str
    target_name: str
    verdict: str
    rule: str
    reason: str
    action: str
    scores: Mapping[str, float]
    text_hash: str
    text: str | None
    message_id: str | None
    log_only: bool
    points: float
    suspension_id: int | None
    pardoned: bool
    pardoned_at: float | None
    pardoned_by: str | None
    pardon_reason: str | None


@dataclass(frozen=True, slots=True)
class NewCase:
    server: str
    room: str
    at: float
    target_kind: str
    target_id: str
    target_name: str
    verdict: str
    rule: str
    reason: str
    text_hash: str
    action: str = ""
    scores: Mapping[str, float] | None = None
    text: str | None = None
    message_id: str | None = None
    log_only: bool = False
    points: float = 0.0


def _case(row: Row) -> CaseRecord:
    return CaseRecord(
        id=row["id"],
        server=row["server"],
        number=row["number"],
        room=row["room"],
        at=row["at"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        target_name=row["target_name"],
        verdict=row["verdict"],
        rule=row["rule"],
        reason=row["reason"],
        action=row["action"],
        scores=json.loads(row["scores"]),
        text_hash=row["text_hash"],
        text=row["text"],
        message_id=row["message_id"],
        log_only=bool(row["log_only"]),
        points=row["points"],
        suspension_id=row["suspension_id"],
        pardoned=bool(row["pardoned"]),
        pardoned_at=row["pardoned_at"],
        pardoned_by=row["pardoned_by"],
        pardon_reason=row["pardon_reason"],
    )


class CaseRepository:
    """Append-only cases. A pardon is recorded on the case; nothing is ever deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, case: NewCase) -> CaseRecord:
        async with self.db.transaction() as conn:
            return await self.open_in(conn, case)

    async def open_in(self, conn: aiosqlite.Connection, case: NewCase) -> CaseRecord:
        """Write a case inside the caller's transaction (with the suspension it causes, say) and return it."""
        # The number is allocated inside the write transaction, so two writers can never take the same one.
        async with conn.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM cases WHERE server = ?", (case.server,)
        ) as cursor:
            row = await cursor.fetchone()
        number = int(row["n"]) if row is not None else 1
        cursor = await conn.execute(
            "INSERT INTO cases (server, number, room, at, target_kind, target_id, target_name, "
            "verdict, rule, reason, action, scores, text_hash, text, message_id, log_only, points) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.server,
                number,
                case.room,
                case.at,
                case.target_kind,
                case.target_id,
                case.target_name,
                case.verdict,
                case.rule,
                case.reason,
                case.action,
                json.dumps(dict(case.scores or {}), sort_keys=True),
                case.text_hash,
                case.text,
                case.message_id,
                int(case.log_only),
                case.points,
            ),
        )
        async with conn.execute("SELECT * FROM cases WHERE id = ?", (cursor.lastrowid,)) as cursor:
            found = await cursor.fetchone()
        if found is None:
            raise LookupError("a case was just written but cannot be read")
        return _case(found)

    async def get_by_id(self, case_id: int) -> CaseRecord | None:
        row = await self.db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
        return _case(row) if row else None

    async def get(self, server: str, number: int) -> CaseRecord | None:
        row = await self.db.fetchone("SELECT * FROM cases WHERE server = ? AND number = ?", (server, number))
        return _case(row) if row else None

    async def list(self, server: str, *, target: str | None = None, limit: int = 10) -> list[CaseRecord]:
        if target is None:
            rows = await self.db.fetchall(
                "SELECT * FROM cases WHERE server = ? ORDER BY number DESC LIMIT ?", (server, limit)
            )
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM cases WHERE server = ? AND (target_id = ? OR target_name = ?) "
                "ORDER BY number DESC LIMIT ?",
                (server, target, target, limit),
            )
        return [_case(r) for r in rows]

    async def link_suspension(self, case_id: int, suspension_id: int) -> None:
        async with self.db.transaction() as conn:
            await self.link_suspension_in(conn, case_id, suspension_id)

    async def link_suspension_in(self, conn: aiosqlite.Connection, case_id: int, suspension_id: int) -> None:
        await conn.execute("UPDATE cases SET suspension_id = ? WHERE id = ?", (suspension_id, case_id))

    async def pardon(self, case_id: int, *, at: float, by: str, reason: str) -> bool:
        """Record a pardon; False when the case was already pardoned."""
        changed = await self.db.execute(
            "UPDATE cases SET pardoned = 1, pardoned_at = ?, pardoned_by = ?, pardon_reason = ? "
            "WHERE id = ? AND pardoned = 0",
            (at, by, reason, case_id),
        )
        return changed > 0
