"""Presence storage: agent settings, room settings, who is where, invitations, drafts, the suspensions mirror and
agent API tokens.

The rules that must hold under concurrency live here, in the database, not in the callers:

- one open (pending or deferred) invitation per agent and room: a unique partial index;
- an invitation or a draft is decided once: ``UPDATE ... WHERE status IN (open states)`` and a rowcount check;
- an agent is in a room once and in at most ``max_rooms`` rooms: the join checks and inserts in one transaction.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import Room
from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval
from storage.core import text_hash
from storage.db import Database, Migration

PRESENCE_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "agent and room settings, presence, invitations, drafts, suspensions, api tokens",
        """
        CREATE TABLE agent_settings (
            agent TEXT PRIMARY KEY,
            invitation_policy TEXT NOT NULL,
            approval_mode TEXT NOT NULL,
            message_approval TEXT NOT NULL,
            max_rooms INTEGER NOT NULL,
            join_cooldown_seconds REAL NOT NULL,
            topics TEXT NOT NULL DEFAULT '[]',
            updated_at REAL NOT NULL
        );
        CREATE TABLE room_settings (
            room TEXT PRIMARY KEY,
            accept_agents INTEGER NOT NULL,
            updated_by TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE presence (
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            since REAL NOT NULL,
            invitation_id INTEGER,
            PRIMARY KEY (agent, room)
        );
        CREATE TABLE presence_history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            joined_at REAL NOT NULL,
            left_at REAL NOT NULL,
            reason TEXT NOT NULL,
            forced INTEGER NOT NULL
        );
        CREATE INDEX presence_history_agent ON presence_history (agent, left_at);
        CREATE TABLE invitations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            inviter_platform TEXT NOT NULL,
            inviter_id TEXT NOT NULL,
            inviter_kind TEXT NOT NULL,
            inviter_name TEXT NOT NULL DEFAULT '',
            origin_room TEXT,
            request_reason TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL,
            rule TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            retry_at REAL,
            decided_at REAL,
            decided_by TEXT,
            prompt_platform TEXT,
            prompt_channel TEXT,
            prompt_message TEXT,
            prompt_note TEXT
        );
        CREATE UNIQUE INDEX invitations_one_open ON invitations (agent, room) WHERE status IN ('pending', 'deferred');
        CREATE INDEX invitations_inviter ON invitations (inviter_platform, inviter_id, created_at);
        CREATE INDEX invitations_status ON invitations (status);
        CREATE TABLE drafts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            room TEXT NOT NULL,
            decision_id INTEGER NOT NULL,
            text TEXT,
            text_hash TEXT NOT NULL,
            reply_to TEXT,
            thread_id TEXT,
            submitted_at REAL NOT NULL,
            verdict TEXT NOT NULL,
            rule TEXT NOT NULL,
            reason TEXT NOT NULL,
            scores TEXT NOT NULL DEFAULT '{}',
            source TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            outcome TEXT NOT NULL DEFAULT '',
            decided_at REAL,
            decided_by TEXT,
            message_id TEXT,
            prompt_platform TEXT,
            prompt_channel TEXT,
            prompt_message TEXT,
            prompt_note TEXT
        );
        CREATE INDEX drafts_status ON drafts (status, agent);
        CREATE TABLE suspensions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent TEXT NOT NULL,
            platform TEXT NOT NULL,
            server TEXT NOT NULL,
            room TEXT,
            until REAL NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL,
            lifted_at REAL
        );
        CREATE INDEX suspensions_agent ON suspensions (agent, until);
        CREATE TABLE api_tokens (
            token_id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            created_by TEXT NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX api_tokens_agent ON api_tokens (agent);
        CREATE TABLE api_webhooks (
            agent TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    ),
]


# --- agent and room settings ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentSettings:
    agent: str
    invitation_policy: InvitationPolicy
    approval_mode: ApprovalMode
    message_approval: MessageApproval
    max_rooms: int
    join_cooldown_seconds: float
    topics: tuple[str, ...] = ()
    updated_at: float = 0.0


def _settings(row: Mapping[str, Any]) -> AgentSettings:
    return AgentSettings(
        agent=row["agent"],
        invitation_policy=InvitationPolicy(row["invitation_policy"]),
        approval_mode=ApprovalMode(row["approval_mode"]),
        message_approval=MessageApproval(row["message_approval"]),
        max_rooms=int(row["max_rooms"]),
        join_cooldown_seconds=float(row["join_cooldown_seconds"]),
        topics=tuple(json.loads(row["topics"])),
        updated_at=row["updated_at"],
    )


class SettingsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, settings: AgentSettings) -> AgentSettings:
        await self.db.execute(
            "INSERT INTO agent_settings (agent, invitation_policy, approval_mode, message_approval, max_rooms, "
            "join_cooldown_seconds, topics, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(agent) DO UPDATE SET invitation_policy = excluded.invitation_policy, "
            "approval_mode = excluded.approval_mode, message_approval = excluded.message_approval, "
            "max_rooms = excluded.max_rooms, join_cooldown_seconds = excluded.join_cooldown_seconds, "
            "topics = excluded.topics, updated_at = excluded.updated_at",
            (
                settings.agent,
                settings.invitation_policy.value,
                settings.approval_mode.value,
                settings.message_approval.value,
                settings.max_rooms,
                settings.join_cooldown_seconds,
                json.dumps(list(settings.topics)),
                settings.updated_at,
            ),
        )
        return settings

    async def get(self, agent: str) -> AgentSettings | None:
        row = await self.db.fetchone("SELECT * FROM agent_settings WHERE agent = ?", (agent,))
        return _settings(row) if row else None

    async def all(self) -> list[AgentSettings]:
        return [_settings(r) for r in await self.db.fetchall("SELECT * FROM agent_settings ORDER BY agent")]

    async def delete(self, agent: str) -> None:
        await self.db.execute("DELETE FROM agent_settings WHERE agent = ?", (agent,))

    async def set_room(self, room: Room, accept_agents: bool, *, by: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO room_settings (room, accept_agents, updated_by, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(room) DO UPDATE SET accept_agents = excluded.accept_agents, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (room.key, int(accept_agents), by, at),
        )


# --- presence --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresenceRecord:
    agent: str
    room: str
    since: float
    invitation_id: int | None

    @property
    def room_obj(self) -> Room:
        return Room.parse(self.room)


class JoinResult(enum.StrEnum):
    JOINED = "joined"
    ALREADY_PRESENT = "already_present"
    AT_CAPACITY = "capacity"
    NOT_OPEN = "not_open"  # the invitation was decided by someone else first


class PresenceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    async def _join(
        conn: Any, agent: str, room: Room, at: float, max_rooms: int, invitation_id: int | None
    ) -> JoinResult:
        async with conn.execute("SELECT 1 FROM presence WHERE agent = ? AND room = ?", (agent, room.key)) as cur:
            if await cur.fetchone():
                return JoinResult.ALREADY_PRESENT
        async with conn.execute("SELECT COUNT(*) FROM presence WHERE agent = ?", (agent,)) as cur:
            row = await cur.fetchone()
            if row[0] >= max_rooms:
                return JoinResult.AT_CAPACITY
        await conn.execute(
            "INSERT INTO presence (agent, room, since, invitation_id) VALUES (?, ?, ?, ?)",
            (agent, room.key, at, invitation_id),
        )
        return JoinResult.JOINED

    async def join(self, agent: str, room: Room, *, at: float, max_rooms: int, invitation_id: int | None) -> JoinResult:
        async with self.db.transaction() as conn:
            return await self._join(conn, agent, room, at, max_rooms, invitation_id)

    async def leave(self, agent: str, room: Room, *, at: float, reason: str, forced: bool) -> PresenceRecord | None:
        """Remove the agent from the room and keep the stay in the history; None if it was not there."""
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT * FROM presence WHERE agent = ? AND room = ?", (agent, room.key)) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("DELETE FROM presence WHERE agent = ? AND room = ?", (agent, room.key))
            await conn.execute(
                "INSERT INTO presence_history (agent, room, joined_at, left_at, reason, forced) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (agent, room.key, row["since"], at, reason, int(forced)),
            )
        return PresenceRecord(row["agent"], row["room"], row["since"], row["invitation_id"])

    async def undo_join(self, agent: str, room: Room) -> None:
        """The platform refused the join: the stay never happened."""
        await self.db.execute("DELETE FROM presence WHERE agent = ? AND room = ?", (agent, room.key))

    @staticmethod
    def _record(row: Mapping[str, Any]) -> PresenceRecord:
        return PresenceRecord(row["agent"], row["room"], row["since"], row["invitation_id"])

    async def of_agent(self, agent: str) -> list[PresenceRecord]:
        rows = await self.db.fetchall("SELECT * FROM presence WHERE agent = ? ORDER BY since", (agent,))
        return [self._record(r) for r in rows]

    async def in_room(self, room: Room) -> list[PresenceRecord]:
        rows = await self.db.fetchall("SELECT * FROM presence WHERE room = ? ORDER BY since", (room.key,))
        return [self._record(r) for r in rows]

    async def all(self) -> list[PresenceRecord]:
        return [self._record(r) for r in await self.db.fetchall("SELECT * FROM presence ORDER BY room, since")]

    async def is_present(self, agent: str, room: Room) -> bool:
        row = await self.db.fetchone("SELECT 1 FROM presence WHERE agent = ? AND room = ?", (agent, room.key))
        return row is not None


# --- invitations ------------------------------------------------------------------------------------------------------


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


def _invitation(row: Mapping[str, Any]) -> InvitationRecord:
    values = {k: row[k] for k in row.keys()}
    values["status"] = InvitationStatus(values["status"])
    return InvitationRecord(**values)


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
            new_id = await self.db.execute(self._INSERT, self._params(inv))
        except sqlite3.IntegrityError:
            raise DuplicateInvitation(await self.open_for(inv.agent, inv.room)) from None
        return await self.get(new_id)  # type: ignore[return-value]

    async def create_joined(self, inv: NewInvitation, *, max_rooms: int) -> tuple[JoinResult, InvitationRecord]:
        """Store an auto-accepted invitation and the join together, atomically with the capacity check. When the
        join cannot happen the invitation is stored as declined with the reason."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(self._INSERT, self._params(inv))
            new_id = cursor.lastrowid
            result = await PresenceRepository._join(conn, inv.agent, inv.room, inv.created_at, max_rooms, new_id)
            if result is not JoinResult.JOINED:
                await conn.execute(
                    "UPDATE invitations SET status = ?, rule = ?, reason = ? WHERE id = ?",
                    (InvitationStatus.DECLINED.value, result.value, _JOIN_REASONS[result], new_id),
                )
        return result, await self.get(new_id)  # type: ignore[arg-type,return-value]

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
            if cursor.rowcount != 1:
                result = JoinResult.NOT_OPEN
            else:
                async with conn.execute("SELECT agent, room FROM invitations WHERE id = ?", (invitation_id,)) as cur:
                    row = await cur.fetchone()
                room = Room.parse(row["room"])
                result = await PresenceRepository._join(conn, row["agent"], room, at, max_rooms, invitation_id)
                if result is not JoinResult.JOINED:
                    await conn.execute(
                        "UPDATE invitations SET status = ?, rule = ?, reason = ? WHERE id = ?",
                        (InvitationStatus.DECLINED.value, result.value, _JOIN_REASONS[result], invitation_id),
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
        await self.db.execute(
            "UPDATE invitations SET retry_at = ?, reason = ? WHERE id = ? AND status = ?",
            (retry_at, reason, invitation_id, InvitationStatus.DEFERRED.value),
        )

    async def set_prompt(
        self, invitation_id: int, *, platform: str, channel_id: str | None, message_id: str | None, note: str | None
    ) -> None:
        await self.db.execute(
            "UPDATE invitations SET prompt_platform = ?, prompt_channel = ?, prompt_message = ?, prompt_note = ? "
            "WHERE id = ?",
            (platform, channel_id, message_id, note, invitation_id),
        )

    async def get(self, invitation_id: int) -> InvitationRecord | None:
        row = await self.db.fetchone("SELECT * FROM invitations WHERE id = ?", (invitation_id,))
        return _invitation(row) if row else None

    async def open_for(self, agent: str, room: Room) -> InvitationRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM invitations WHERE agent = ? AND room = ? AND status IN (?, ?)",
            (agent, room.key, *OPEN_STATUSES),
        )
        return _invitation(row) if row else None

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


_JOIN_REASONS = {
    JoinResult.ALREADY_PRESENT: "the agent is already in this room",
    JoinResult.AT_CAPACITY: "the agent reached its maximum number of rooms",
    JoinResult.NOT_OPEN: "the invitation was already decided",
    JoinResult.JOINED: "joined",
}


# --- drafts -----------------------------------------------------------------------------------------------------------


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


def _draft(row: Mapping[str, Any]) -> DraftRecord:
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

    async def create(
        self,
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
    ) -> DraftRecord:
        new_id = await self.db.execute(
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
        return await self.get(new_id)  # type: ignore[return-value]

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
            cursor = await conn.execute(
                "UPDATE drafts SET status = ?, outcome = ?, decided_at = ?, decided_by = ? WHERE id = ? AND status = ?",
                (status.value, outcome, at, by, draft_id, from_status.value),
            )
            if cursor.rowcount != 1:
                return None
            async with conn.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)) as cur:
                claimed = _draft(await cur.fetchone())
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


# --- suspensions mirror ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuspensionRecord:
    id: int
    agent: str
    platform: str
    server: str
    room: str | None
    until: float
    reason: str
    created_at: float
    lifted_at: float | None


class SuspensionRepository:
    """A mirror of the moderator's suspensions, kept from ``AgentSuspended`` / ``AgentUnsuspended`` events so that
    presence can block invitations without asking the moderator."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, *, agent: str, platform: str, server: str, room: Room | None, until: float, reason: str, at: float
    ) -> int:
        return await self.db.execute(
            "INSERT INTO suspensions (agent, platform, server, room, until, reason, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (agent, platform, server, room.key if room else None, until, reason, at),
        )

    async def lift(self, *, agent: str, platform: str, server: str, room: Room | None, at: float) -> int:
        if room is None:
            return await self.db.execute(
                "UPDATE suspensions SET lifted_at = ? WHERE agent = ? AND platform = ? AND server = ? "
                "AND lifted_at IS NULL",
                (at, agent, platform, server),
            )
        return await self.db.execute(
            "UPDATE suspensions SET lifted_at = ? WHERE agent = ? AND room = ? AND lifted_at IS NULL",
            (at, agent, room.key),
        )

    async def active(self, agent: str, now: float) -> list[SuspensionRecord]:
        rows = await self.db.fetchall(
            "SELECT * FROM suspensions WHERE agent = ? AND lifted_at IS NULL AND until > ? ORDER BY until DESC",
            (agent, now),
        )
        return [SuspensionRecord(**{k: r[k] for k in r.keys()}) for r in rows]


# --- agent API tokens and webhooks -----------------------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Webhook:
    agent: str
    url: str
    secret: str


class TokenRepository:
    """Bearer tokens look like ``<token_id>.<secret>``: the id finds the row, the secret's sha256 is compared in
    constant time. Only the hash is stored; the token is shown once, when it is issued."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def issue(self, agent: str, *, by: str, at: float) -> str:
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL", (at, agent)
            )
            await conn.execute(
                "INSERT INTO api_tokens (token_id, agent, secret_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                (token_id, agent, _hash_secret(secret), at, by),
            )
        return f"{token_id}.{secret}"

    async def revoke(self, agent: str, *, at: float) -> int:
        return await self.db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE agent = ? AND revoked_at IS NULL", (at, agent)
        )

    async def verify(self, token: str) -> str | None:
        """The agent the token belongs to, or None."""
        token_id, dot, secret = token.partition(".")
        if not dot or not token_id or not secret or len(token) > 200:
            return None
        row = await self.db.fetchone(
            "SELECT agent, secret_hash FROM api_tokens WHERE token_id = ? AND revoked_at IS NULL", (token_id,)
        )
        # Hash even when the id is unknown, so both failures cost the same.
        expected = row["secret_hash"] if row else "0" * 64
        matches = hmac.compare_digest(_hash_secret(secret), expected)
        return row["agent"] if row and matches else None

    async def agents_with_tokens(self) -> set[str]:
        rows = await self.db.fetchall("SELECT DISTINCT agent FROM api_tokens WHERE revoked_at IS NULL")
        return {r["agent"] for r in rows}

    async def set_webhook(self, agent: str, url: str, *, at: float) -> Webhook:
        secret = secrets.token_urlsafe(24)
        await self.db.execute(
            "INSERT INTO api_webhooks (agent, url, secret, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(agent) DO UPDATE SET url = excluded.url, secret = excluded.secret, "
            "created_at = excluded.created_at",
            (agent, url, secret, at),
        )
        return Webhook(agent, url, secret)

    async def delete_webhook(self, agent: str) -> bool:
        return await self.db.execute("DELETE FROM api_webhooks WHERE agent = ?", (agent,)) > 0

    async def webhooks(self) -> dict[str, Webhook]:
        rows = await self.db.fetchall("SELECT * FROM api_webhooks")
        return {r["agent"]: Webhook(r["agent"], r["url"], r["secret"]) for r in rows}


@dataclass(frozen=True, slots=True)
class RoomFacts:
    """What the invitation policy needs from the database about one agent and one room, read in one query."""

    room_accepts: bool | None  # the room's own switch, None when it has none
    present: bool
    rooms_in_use: int
    last_join_at: float | None
    inviter_recent: int


_FACTS_SQL = """
SELECT
    (SELECT accept_agents FROM room_settings WHERE room = :room) AS room_accepts,
    EXISTS (SELECT 1 FROM presence WHERE agent = :agent AND room = :room) AS present,
    (SELECT COUNT(*) FROM presence WHERE agent = :agent) AS rooms_in_use,
    (SELECT MAX(at) FROM (
        SELECT MAX(since) AS at FROM presence WHERE agent = :agent
        UNION ALL SELECT MAX(joined_at) AS at FROM presence_history WHERE agent = :agent
    )) AS last_join_at,
    (SELECT COUNT(*) FROM invitations
        WHERE inviter_platform = :inviter_platform AND inviter_id = :inviter_id AND created_at >= :since
    ) AS inviter_recent
"""


@dataclass(frozen=True, slots=True)
class PresenceStore:
    """All presence repositories over one database."""

    settings: SettingsRepository
    presence: PresenceRepository
    invitations: InvitationRepository
    drafts: DraftRepository
    suspensions: SuspensionRepository
    tokens: TokenRepository

    @classmethod
    def open(cls, db: Database, *, store_text: bool = False) -> PresenceStore:
        return cls(
            SettingsRepository(db),
            PresenceRepository(db),
            InvitationRepository(db),
            DraftRepository(db, store_text=store_text),
            SuspensionRepository(db),
            TokenRepository(db),
        )

    async def room_facts(
        self, agent: str, room: Room, *, inviter_platform: str, inviter_id: str, inviter_since: float | None
    ) -> RoomFacts:
        """``inviter_since`` None: do not count the inviter's invitations."""
        row = await self.presence.db.fetchone(
            _FACTS_SQL,
            {
                "agent": agent,
                "room": room.key,
                "inviter_platform": inviter_platform,
                "inviter_id": inviter_id,
                "since": inviter_since if inviter_since is not None else float("inf"),
            },
        )
        assert row is not None
        return RoomFacts(
            room_accepts=None if row["room_accepts"] is None else bool(row["room_accepts"]),
            present=bool(row["present"]),
            rooms_in_use=int(row["rooms_in_use"]),
            last_join_at=None if row["last_join_at"] is None else float(row["last_join_at"]),
            inviter_recent=int(row["inviter_recent"]),
        )

    @staticmethod
    async def migrate(db: Database) -> int:
        return await db.migrate("presence", PRESENCE_MIGRATIONS)
