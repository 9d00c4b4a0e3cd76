"""Agent and room settings: who may invite an agent, whether its owner approves, its limits and topics; and each
room's own switch for letting agents in."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite
from cachetools import LRUCache

from domain import Room
from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval
from storage.db import Database


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


def _settings(row: aiosqlite.Row) -> AgentSettings:
    return AgentSettings(
        agent=row["agent"],
        invitation_policy=InvitationPolicy(row["invitation_policy"]),
        approval_mode=ApprovalMode(row["approval_mode"]),
        message_approval=MessageApproval(row["message_approval"]),
        max_rooms=int(row["max_rooms"]),
        join_cooldown_seconds=float(row["join_cooldown_seconds"]),
        topics=tuple(json.loads(row["topics"])),
        updated_at=float(row["updated_at"]),
    )


# Agents whose settings are kept in memory (read on every agent message by the drafts holder).
SETTINGS_CACHED = 16_384


class SettingsRepository:
    """Agents' settings and rooms' switches. An agent's settings are read through a cache that this repository's own
    writes keep true (Steward is the database's one writer: ``storage/lock.py``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: LRUCache[str, AgentSettings | None] = LRUCache(maxsize=SETTINGS_CACHED)
        self._writes = 0  # a read that a write overtook does not fill the cache

    async def put(self, settings: AgentSettings) -> AgentSettings:
        self._writes += 1
        self._cache.pop(settings.agent, None)
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
        self._cache[settings.agent] = settings
        return settings

    async def get(self, agent: str) -> AgentSettings | None:
        if agent in self._cache:
            return self._cache[agent]
        writes = self._writes
        row = await self.db.fetchone("SELECT * FROM agent_settings WHERE agent = ?", (agent,))
        found = _settings(row) if row else None
        if writes == self._writes:
            self._cache[agent] = found
        return found

    async def all(self) -> list[AgentSettings]:
        return [_settings(r) for r in await self.db.fetchall("SELECT * FROM agent_settings ORDER BY agent")]

    async def delete(self, agent: str) -> None:
        self._writes += 1
        self._cache.pop(agent, None)
        await self.db.execute("DELETE FROM agent_settings WHERE agent = ?", (agent,))
        self._cache[agent] = None

    async def set_room(self, room: Room, accept_agents: bool, *, by: str, at: float) -> None:
        await self.db.execute(
            "INSERT INTO room_settings (room, accept_agents, updated_by, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(room) DO UPDATE SET accept_agents = excluded.accept_agents, "
            "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            (room.key, int(accept_agents), by, at),
        )
