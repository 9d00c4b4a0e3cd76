"""The conversation moderator's tables: each room's mode, per-agent reply style and rate, and the audit log.

The audit log is append-only. Every action the moderator takes is one row with the actor ``moderator`` and the
signal that caused it; every mode change a human makes with a command is a row with that human as the actor and
the source ``command``, so the two are told apart by a query, not by reading prose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from sqlite3 import Row
from typing import Any

from storage.db import Database, Migration

CONVERSATION_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "room modes, agent styles, audit log",
        """
        CREATE TABLE conversation_rooms (
            room TEXT PRIMARY KEY,
            mode TEXT NOT NULL,
            set_by TEXT NOT NULL,
            signal TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            set_at REAL NOT NULL
        );
        CREATE TABLE conversation_agent_styles (
            room TEXT NOT NULL,
            agent TEXT NOT NULL,
            style TEXT,
            max_per_minute INTEGER,
            set_by TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            set_at REAL NOT NULL,
            PRIMARY KEY (room, agent)
        );
        CREATE TABLE conversation_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            room TEXT NOT NULL,
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            action TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            signal TEXT NOT NULL DEFAULT '',
            evidence TEXT NOT NULL DEFAULT '{}',
            reason TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL DEFAULT 'done',
            notice_message_id TEXT
        );
        CREATE INDEX conversation_audit_room ON conversation_audit (room, id);
        """,
    ),
]

MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class RoomModeRecord:
    room: str
    mode: str
    set_by: str
    signal: str
    reason: str
    set_at: float


@dataclass(frozen=True, slots=True)
class AgentStyleRecord:
    room: str
    agent: str
    style: str | None
    max_per_minute: int | None
    set_by: str
    reason: str
    set_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: float
    room: str
    actor: str
    source: str  # "moderator" (automatic: rules or the LLM policy) or "command" (a human's command)
    action: str
    params: Mapping[str, Any]
    signal: str
    evidence: Mapping[str, Any]
    reason: str
    outcome: str
    notice_message_id: str | None


class ConversationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> int:
        return await self.db.migrate("conversation", CONVERSATION_MIGRATIONS)

    # --- modes -------------------------------------------------------------------------------------------------

    async def set_mode(self, room: str, mode: str, *, set_by: str, signal: str, reason: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO conversation_rooms (room, mode, set_by, signal, reason, set_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(room) DO UPDATE SET mode = excluded.mode, set_by = excluded.set_by, "
            "signal = excluded.signal, reason = excluded.reason, set_at = excluded.set_at",
            (room, mode, set_by, signal, reason, at),
        )

    async def modes(self) -> list[RoomModeRecord]:
        rows = await self.db.fetchall("SELECT * FROM conversation_rooms ORDER BY room")
        return [RoomModeRecord(r["room"], r["mode"], r["set_by"], r["signal"], r["reason"], r["set_at"]) for r in rows]

    # --- agent styles --------------------------------------------------------------------------------------------

    async def set_agent_style(
        self,
        room: str,
        agent: str,
        *,
        style: str | None,
        max_per_minute: int | None,
        set_by: str,
        reason: str,
        at: float,
    ) -> AgentStyleRecord:
        """Set what is given (None keeps the stored value); ``max_per_minute`` 0 lifts the limit."""
        current = await self.agent_style(room, agent)
        new_style = style if style is not None else (current.style if current else None)
        new_rate = max_per_minute if max_per_minute is not None else (current.max_per_minute if current else None)
        if new_rate == 0:
            new_rate = None
        await self.db.execute(
            "INSERT INTO conversation_agent_styles (room, agent, style, max_per_minute, set_by, reason, set_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room, agent) DO UPDATE SET style = excluded.style, "
            "max_per_minute = excluded.max_per_minute, set_by = excluded.set_by, reason = excluded.reason, "
            "set_at = excluded.set_at",
            (room, agent, new_style, new_rate, set_by, reason, at),
        )
        return AgentStyleRecord(room, agent, new_style, new_rate, set_by, reason, at)

    async def agent_style(self, room: str, agent: str) -> AgentStyleRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM conversation_agent_styles WHERE room = ? AND agent = ?", (room, agent)
        )
        return _style(row) if row else None

    async def agent_styles(self) -> list[AgentStyleRecord]:
        rows = await self.db.fetchall("SELECT * FROM conversation_agent_styles ORDER BY room, agent")
        return [_style(r) for r in rows]

    # --- audit ---------------------------------------------------------------------------------------------------

    async def audit(
        self,
        *,
        at: float,
        room: str,
        actor: str,
        source: str,
        action: str,
        params: Mapping[str, Any],
        signal: str = "",
        evidence: Mapping[str, Any] | None = None,
        reason: str = "",
        outcome: str = "done",
    ) -> int:
        return await self.db.execute(
            "INSERT INTO conversation_audit (at, room, actor, source, action, params, signal, evidence, reason, "
            "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                room,
                actor,
                source,
                action,
                json.dumps(dict(params), sort_keys=True, default=str),
                signal,
                json.dumps(dict(evidence or {}), sort_keys=True, default=str),
                reason,
                outcome,
            ),
        )

    async def finish_audit(self, entry_id: int, *, outcome: str, notice_message_id: str | None) -> None:
        await self.db.execute(
            "UPDATE conversation_audit SET outcome = ?, notice_message_id = ? WHERE id = ?",
            (outcome, notice_message_id, entry_id),
        )

    async def audit_entries(
        self, room: str | None = None, *, source: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        where, params = [], []
        if room is not None:
            where.append("room = ?")
            params.append(room)
        if source is not None:
            where.append("source = ?")
            params.append(source)
        sql = "SELECT * FROM conversation_audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = await self.db.fetchall(sql, (*params, limit))
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                room=r["room"],
                actor=r["actor"],
                source=r["source"],
                action=r["action"],
                params=json.loads(r["params"]),
                signal=r["signal"],
                evidence=json.loads(r["evidence"]),
                reason=r["reason"],
                outcome=r["outcome"],
                notice_message_id=r["notice_message_id"],
            )
            for r in rows
        ]


def _style(row: Row) -> AgentStyleRecord:
    return AgentStyleRecord(
        row["room"],
        row["agent"],
        row["style"],
        row["max_per_minute"],
        row["set_by"],
        row["reason"],
        row["set_at"],
    )
