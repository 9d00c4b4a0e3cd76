"""Held drafts: agents' messages waiting for their owner's approval, decided exactly once.

The text is kept only while the draft is pending (it must survive a restart to be posted) and erased when the
draft is decided, unless message text storage is on; its sha256 stays.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiosqlite

from domain import Room
from storage.core import text_hash
from storage.db import Database


class DraftStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # posted
    EDITED = "edited"  # replaced by the owner's text (which took the gate again)
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"  # approved, but posting failed


@dataclass(frozen=True, slots=True)
class DraftRecord:
    id: int
    agent: str
    room: str
    decision_id: int
    text: str | None
    text_hash: str
    reply_to: str | None
    thread_id: str | None
    submitted_at: float
    verdict: str
    rule: str
    reason: str
    scores: Mapping[str, float]
    source: str
    created_at: float
    expires_at: float
    status: DraftStatus
    outcome: str
    decided_at: float | None
    decided_by: str | None
    message_id: str | None
    prompt_platform: str | None
    prompt_channel: str | None
    prompt_message: str | None
    prompt_note: str | None

    @property
    def room_obj(self) -> Room:
        return Room.parse(self.room)


def _draft(row: aiosqlite.Row) -> DraftRecord:
    values = {k: row[k] for k in row.keys()}
    values["status"] = DraftStatus(values["status"])
    values["scores"] = json.loads(values["scores"])
    return DraftRecord(**values)


class DraftRepository:
    """Held drafts. The text is kept only while the draft is pending (it must survive a restart to be posted) and
    erased when the draft is decided, unless message text storage is on; the hash stays."""

    def __init__(self, db: Database, *, store_text: bool = False) -> None:
        self.db = db
        self.store_text = store_text

    async def insert_in(
        self,
        conn: aiosqlite.Connection,
        *,
        agent: str,
        room: Room,
        decision_id: int,
        text: str,
        reply_to: str | None,
        thread_id: str | None,
        submitted_at: float,
        verdict: str,
        rule: str,
        reason: str,
        scores: Mapping[str, float],
        source: str,
        created_at: float,
        expires_at: float,
    ) -> int:
        """Insert a pending draft inside the caller's transaction (to store its expiry timer with it)."""
        cursor = await conn.execute(
            "INSERT INTO drafts (agent, room, decision_id, text, text_hash, reply_to, thread_id, submitted_at, "
            "verdict, rule, reason, scores, source, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agent,
                room.key,
                decision_id,
                text,
                text_hash(text),
                reply_to,
                thread_id,
                submitted_at,
                verdict,
                rule,
                reason,
                json.dumps(dict(scores), sort_keys=True),
                source,
                created_at,
                expires_at,
            ),
        )
        if cursor.lastrowid is None:
            raise LookupError("the draft insert returned no row id")
        return cursor.lastrowid

    async def close(
        self,
        draft_id: int,
        status: DraftStatus,
        *,
        outcome: str,
        at: float,
        by: str | None,
        from_status: DraftStatus = DraftStatus.PENDING,
    ) -> DraftRecord | None:
        """Decide a draft once; None when it was no longer in ``from_status``. Returns the record as it was
        claimed (with its text, which is then erased from the table unless text storage is on)."""
        async with self.db.transaction() as conn:
            return await self.close_in(conn, draft_id, status, outcome=outcome, at=at, by=by, from_status=from_status)

    async def close_in(
        self,
        conn: aiosqlite.Connection,
        draft_id: int,
        status: DraftStatus,
        *,
        outcome: str,
        at: float,
        by: str | None,
        from_status: DraftStatus = DraftStatus.PENDING,
    ) -> DraftRecord | None:
        """``close`` inside the caller's transaction."""
        cursor = await conn.execute(
            "UPDATE drafts SET status = ?, outcome = ?, decided_at = ?, decided_by = ? WHERE id = ? AND status = ?",
            (status.value, outcome, at, by, draft_id, from_status.value),
        )
        if cursor.rowcount != 1:
            return None
        async with conn.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        claimed = _draft(row)
        if not self.store_text:
            await conn.execute("UPDATE drafts SET text = NULL WHERE id = ?", (draft_id,))
        return claimed

    async def set_outcome(
        self, draft_id: int, *, status: DraftStatus | None = None, outcome: str, message_id: str | None = None
    ) -> None:
        if status is None:
            await self.db.execute(
                "UPDATE drafts SET outcome = ?, message_id = COALESCE(?, message_id) WHERE id = ?",
                (outcome, message_id, draft_id),
            )
        else:
            await self.db.execute(
                "UPDATE drafts SET status = ?, outcome = ?, message_id = COALESCE(?, message_id) WHERE id = ?",
                (status.value, outcome, message_id, draft_id),
            )

    async def set_prompt(
        self, draft_id: int, *, platform: str, channel_id: str | None, message_id: str | None, note: str | None
    ) -> None:
        await self.db.execute(
            "UPDATE drafts SET prompt_platform = ?, prompt_channel = ?, prompt_message = ?, prompt_note = ? "
            "WHERE id = ?",
            (platform, channel_id, message_id, note, draft_id),
        )

    async def get(self, draft_id: int) -> DraftRecord | None:
        row = await self.db.fetchone("SELECT * FROM drafts WHERE id = ?", (draft_id,))
        return _draft(row) if row else None

    async def pending(self, *, agents: Sequence[str] | None = None) -> list[DraftRecord]:
        if agents is None:
            rows = await self.db.fetchall("SELECT * FROM drafts WHERE status = 'pending' ORDER BY id")
        else:
            if not agents:
                return []
            marks = ", ".join("?" for _ in agents)
            rows = await self.db.fetchall(
                f"SELECT * FROM drafts WHERE status = 'pending' AND agent IN ({marks}) ORDER BY id", tuple(agents)
            )
        return [_draft(r) for r in rows]
