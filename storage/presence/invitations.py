"""Invitations: each request of an agent into a room, stored with its decision, and decided exactly once.

A unique partial index keeps one open (pending or deferred) invitation per agent and room; deciding is a
conditional ``UPDATE ... WHERE status IN (open states)`` whose rowcount says who won; an accepted invitation and
its stay are written in one transaction with the capacity check (``stays.join_in``).
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from domain import Room
from storage.db import Database
from storage.presence.stays import JOIN_REASONS, JoinResult, join_in


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the owner
    DEFERRED = "deferred"  # waiting for the agent's cooldown to end
    ACCEPTED = "accepted"  # the agent joined
    DECLINED = "declined"
    EXPIRED = "expired"
    FAILED = "failed"  # approved, but the platform refused the join

    @property
    def open(self) -> bool:
        return self in (InvitationStatus.PENDING, InvitationStatus.DEFERRED)


OPEN_STATUSES = (InvitationStatus.PENDING.value, InvitationStatus.DEFERRED.value)


@dataclass(frozen=True, slots=True)
class InvitationRecord:
    id: int
    agent: str
    room: str
    inviter_platform: str
    inviter_id: str
    inviter_kind: str
    inviter_name: str
    origin_room: str | None
    request_reason: str
    created_at: float
    expires_at: float
    status: InvitationStatus
    rule: str
    reason: str
    retry_at: float | None
    decided_at: float | None
    decided_by: str | None
    prompt_platform: str | None
    prompt_channel: str | None
    prompt_message: str | None
    prompt_note: str | None

    @property
    def room_obj(self) -> Room:
        return Room.parse(self.room)

    @property
    def origin_room_obj(self) -> Room | None:
        return Room.parse(self.origin_room) if self.origin_room else None


def _invitation(row: aiosqlite.Row) -> InvitationRecord:
    values = {k: row[k] for k in row.keys()}
    values["status"] = InvitationStatus(values["status"])
    return InvitationRecord(**values)


def _row_id(lastrowid: int | None) -> int:
    if lastrowid is None:
        raise LookupError("the insert returned no row id")
    return lastrowid


class DuplicateInvitation(Exception):
    def __init__(self, existing: InvitationRecord | None) -> None:
        self.existing = existing
        super().__init__("an invitation of this agent to this room is already open")


@dataclass(frozen=True, slots=True)
class NewInvitation:
    agent: str
    room: Room
    inviter_platform: str
    inviter_id: str
    inviter_kind: str
    inviter_name: str
    origin_room: Room | None
    request_reason: str
    created_at: float
    expires_at: float
    status: InvitationStatus
    rule: str
    reason: str
    retry_at: float | None = None


class InvitationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    _INSERT = (
        "INSERT INTO invitations (agent, room, inviter_platform, inviter_id, inviter_kind, inviter_name, origin_room, "
        "request_reason, created_at, expires_at, status, rule, reason, retry_at, decided_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    @classmethod
    def _params(cls, inv: NewInvitation) -> tuple[Any, ...]:
        return (
            inv.agent,
            inv.room.key,
            inv.inviter_platform,
            inv.inviter_id,
            inv.inviter_kind,
            inv.inviter_name,
            inv.origin_room.key if inv.origin_room else None,
            inv.request_reason,
            inv.created_at,
            inv.expires_at,
            inv.status.value,
            inv.rule,
            inv.reason,
            inv.retry_at,
            None if inv.status.open else inv.created_at,
        )

    async def create(self, inv: NewInvitation) -> InvitationRecord:
        """Store an invitation with its first decision. An open one raises ``DuplicateInvitation`` when another
        open invitation of the same agent to the same room exists."""
        try:
            async with self.db.transaction() as conn:
                new_id = await self.insert_in(conn, inv)
        except DuplicateInvitation:
            raise DuplicateInvitation(await self.open_for(inv.agent, inv.room)) from None
        return await self._stored(new_id)

    async def insert_in(self, conn: aiosqlite.Connection, inv: NewInvitation) -> int:
        """Insert an invitation inside the caller's transaction (to store its timers with it); return its id.
        Raises ``DuplicateInvitation`` (without the existing one: read it after the rollback) when another open
        invitation of the agent to the room exists."""
        try:
            cursor = await conn.execute(self._INSERT, self._params(inv))
        except sqlite3.IntegrityError:
            raise DuplicateInvitation(None) from None
        return _row_id(cursor.lastrowid)

    async def create_joined(self, inv: NewInvitation, *, max_rooms: int) -> tuple[JoinResult, InvitationRecord]:
        """Store an auto-accepted invitation and the join together, atomically with the capacity check. When the
        join cannot happen the invitation is stored as declined with the reason."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(self._INSERT, self._params(inv))
            new_id = _row_id(cursor.lastrowid)
            result = await join_in(conn, inv.agent, inv.room, inv.created_at, max_rooms, new_id)
            if result is not JoinResult.JOINED:
                await conn.execute(
                    "UPDATE invitations SET status = ?, rule = ?, reason = ? WHERE id = ?",
                    (InvitationStatus.DECLINED.value, result.value, JOIN_REASONS[result], new_id),
                )
        return result, await self._stored(new_id)

    async def approve_and_join(
        self, invitation_id: int, *, by: str, at: float, max_rooms: int, rule: str, reason: str
    ) -> tuple[JoinResult, InvitationRecord | None]:
        """The owner approved: claim the open invitation (only one claim can win) and join, in one transaction."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE invitations SET status = ?, rule = ?, reason = ?, decided_at = ?, decided_by = ? "
                "WHERE id = ? AND status IN (?, ?)",
                (InvitationStatus.ACCEPTED.value, rule, reason, at, by, invitation_id, *OPEN_STATUSES),
            )
            row = None
            if cursor.rowcount == 1:
                async with conn.execute("SELECT agent, room FROM invitations WHERE id = ?", (invitation_id,)) as cur:
                    row = await cur.fetchone()
            if row is None:
                result = JoinResult.NOT_OPEN
            else:
                room = Room.parse(row["room"])
                result = await join_in(conn, row["agent"], room, at, max_rooms, invitation_id)
                if result is not JoinResult.JOINED:
                    await conn.execute(
                        "UPDATE invitations SET status = ?, rule = ?, reason = ? WHERE id = ?",
                        (InvitationStatus.DECLINED.value, result.value, JOIN_REASONS[result], invitation_id),
                    )
        return result, await self.get(invitation_id)

    async def close(
        self,
        invitation_id: int,
        status: InvitationStatus,
        *,
        rule: str,
        reason: str,
        at: float,
        by: str | None = None,
        only_status: Sequence[InvitationStatus] | None = None,
    ) -> InvitationRecord | None:
        """Decide an open invitation. Returns the updated record, or None when it was no longer open (someone else
        decided it first)."""
        allowed = [s.value for s in only_status] if only_status else list(OPEN_STATUSES)
        marks = ", ".join("?" for _ in allowed)
        changed = await self.db.execute(
            f"UPDATE invitations SET status = ?, rule = ?, reason = ?, decided_at = ?, decided_by = ?, retry_at = NULL "
            f"WHERE id = ? AND status IN ({marks})",
            (status.value, rule, reason, at, by, invitation_id, *allowed),
        )
        return await self.get(invitation_id) if changed == 1 else None

    async def mark_failed(self, invitation_id: int, *, reason: str, at: float) -> None:
        await self.db.execute(
            "UPDATE invitations SET status = ?, rule = 'join_failed', reason = ?, decided_at = ? WHERE id = ?",
            (InvitationStatus.FAILED.value, reason, at, invitation_id),
        )

    async def to_pending(self, invitation_id: int, *, rule: str, reason: str) -> InvitationRecord | None:
        """A deferred invitation's cooldown ended and the owner must now be asked."""
        changed = await self.db.execute(
            "UPDATE invitations SET status = ?, rule = ?, reason = ?, retry_at = NULL WHERE id = ? AND status = ?",
            (InvitationStatus.PENDING.value, rule, reason, invitation_id, InvitationStatus.DEFERRED.value),
        )
        return await self.get(invitation_id) if changed == 1 else None

    async def defer_again(self, invitation_id: int, *, retry_at: float, reason: str) -> None:
        async with self.db.transaction() as conn:
            await self.defer_again_in(conn, invitation_id, retry_at=retry_at, reason=reason)

    async def defer_again_in(
        self, conn: aiosqlite.Connection, invitation_id: int, *, retry_at: float, reason: str
    ) -> bool:
        """Move a deferred invitation's retry inside the caller's transaction (with its retry timer)."""
        cursor = await conn.execute(
            "UPDATE invitations SET retry_at = ?, reason = ? WHERE id = ? AND status = ?",
            (retry_at, reason, invitation_id, InvitationStatus.DEFERRED.value),
        )
        return cursor.rowcount == 1

    async def set_prompt(
        self, invitation_id: int, *, platform: str, channel_id: str | None, message_id: str | None, note: str | None
    ) -> None:
        await self.db.execute(
            "UPDATE invitations SET prompt_platform = ?, prompt_channel = ?, prompt_message = ?, prompt_note = ? "
            "WHERE id = ?",
            (platform, channel_id, message_id, note, invitation_id),
        )

    async def _stored(self, invitation_id: int) -> InvitationRecord:
        found = await self.get(invitation_id)
        if found is None:
            raise LookupError(f"invitation #{invitation_id} was just written but cannot be read")
        return found

    async def get(self, invitation_id: int) -> InvitationRecord | None:
        row = await self.db.fetchone("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return _invitation(row) if row else None

    async def open_for(self, agent: str, room: Room) -> InvitationRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM invitations WHERE agent = ? AND room = ? AND status IN (?, ?)",
            (agent, room.key, *OPEN_STATUSES),
        )
        return _invitation(row) if row else None

    async def open_all(self) -> list[InvitationRecord]:
        rows = await self.db.fetchall("SELECT * FROM invitations WHERE status IN (?, ?) ORDER BY id", OPEN_STATUSES)
        return [_invitation(r) for r in rows]

    async def open_of_agent(self, agent: str) -> list[InvitationRecord]:
        rows = await self.db.fetchall(
            "SELECT * FROM invitations WHERE agent = ? AND status IN (?, ?) ORDER BY id", (agent, *OPEN_STATUSES)
        )
        return [_invitation(r) for r in rows]

    async def list(
        self, *, agents: Sequence[str] | None = None, open_only: bool = False, limit: int = 20
    ) -> list[InvitationRecord]:
        where, params = [], []
        if agents is not None:
            if not agents:
                return []
            where.append(f"agent IN ({', '.join('?' for _ in agents)})")
            params += list(agents)
        if open_only:
            where.append("status IN (?, ?)")
            params += list(OPEN_STATUSES)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self.db.fetchall(f"SELECT * FROM invitations {clause} ORDER BY id DESC LIMIT ?", (*params, limit))
        return [_invitation(r) for r in rows]
