"""The presence store: the facade over presence's repositories, and the one query that reads an invitation's
facts (room switch, presence, capacity, last join, the inviter's recent invitations) at once."""

from __future__ import annotations

from dataclasses import dataclass

from domain import Room
from storage.db import Database
from storage.presence.drafts import DraftRepository
from storage.presence.invitations import InvitationRepository
from storage.presence.migrations import PRESENCE_COMPONENT, PRESENCE_MIGRATIONS
from storage.presence.settings import SettingsRepository
from storage.presence.stays import PresenceRepository
from storage.presence.tokens import TokenRepository


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
    tokens: TokenRepository

    @classmethod
    def open(cls, db: Database, *, store_text: bool = False) -> PresenceStore:
        return cls(
            SettingsRepository(db),
            PresenceRepository(db),
            InvitationRepository(db),
            DraftRepository(db, store_text=store_text),
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
        return await db.migrate(PRESENCE_COMPONENT, PRESENCE_MIGRATIONS)
