"""Who is where: an agent's open stays (``presence``) and the ended ones (``presence_history``).

A join checks presence and capacity and inserts the stay in one write transaction, so concurrent joins can
neither put an agent in a room twice nor beyond its ``max_rooms``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import aiosqlite

from domain import Room
from storage.db import Database


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


JOIN_REASONS = {
    JoinResult.ALREADY_PRESENT: "the agent is already in this room",
    JoinResult.AT_CAPACITY: "the agent reached its maximum number of rooms",
    JoinResult.NOT_OPEN: "the invitation was already decided",
    JoinResult.JOINED: "joined",
}


async def join_in(
    conn: aiosqlite.Connection, agent: str, room: Room, at: float, max_rooms: int, invitation_id: int | None
) -> JoinResult:
    """Check and insert a stay inside the caller's write transaction."""
    async with conn.execute("SELECT 1 FROM presence WHERE agent = ? AND room = ?", (agent, room.key)) as cur:
        if await cur.fetchone():
            return JoinResult.ALREADY_PRESENT
    async with conn.execute("SELECT COUNT(*) FROM presence WHERE agent = ?", (agent,)) as cur:
        row = await cur.fetchone()
        if row is not None and row[0] >= max_rooms:
            return JoinResult.AT_CAPACITY
    await conn.execute(
        "INSERT INTO presence (agent, room, since, invitation_id) VALUES (?, ?, ?, ?)",
        (agent, room.key, at, invitation_id),
    )
    return JoinResult.JOINED


def _record(row: aiosqlite.Row) -> PresenceRecord:
    return PresenceRecord(row["agent"], row["room"], row["since"], row["invitation_id"])


class PresenceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def join(self, agent: str, room: Room, *, at: float, max_rooms: int, invitation_id: int | None) -> JoinResult:
        async with self.db.transaction() as conn:
            return await join_in(conn, agent, room, at, max_rooms, invitation_id)

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
        return _record(row)

    async def undo_join(self, agent: str, room: Room) -> None:
        """The platform refused the join: the stay never happened."""
        await self.db.execute("DELETE FROM presence WHERE agent = ? AND room = ?", (agent, room.key))

    async def of_agent(self, agent: str) -> list[PresenceRecord]:
        rows = await self.db.fetchall("SELECT * FROM presence WHERE agent = ? ORDER BY since", (agent,))
        return [_record(r) for r in rows]

    async def in_room(self, room: Room) -> list[PresenceRecord]:
        rows = await self.db.fetchall("SELECT * FROM presence WHERE room = ? ORDER BY since", (room.key,))
        return [_record(r) for r in rows]

    async def all(self) -> list[PresenceRecord]:
        return [_record(r) for r in await self.db.fetchall("SELECT * FROM presence ORDER BY room, since")]

    async def is_present(self, agent: str, room: Room) -> bool:
        row = await self.db.fetchone("SELECT 1 FROM presence WHERE agent = ? AND room = ?", (agent, room.key))
        return row is not None
