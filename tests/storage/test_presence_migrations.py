"""Presence's schema moves forward without losing what it keeps; its old suspensions mirror is dropped (the core's
``agent_suspensions`` is the one record)."""

from __future__ import annotations

from storage.db import Database, table_exists
from storage.presence import PRESENCE_COMPONENT, PRESENCE_MIGRATIONS, PresenceStore


async def test_a_presence_database_of_the_first_release_loses_only_its_suspensions_mirror(tmp_path) -> None:
    path = tmp_path / "old.db"
    async with Database(path) as db:
        assert await db.migrate(PRESENCE_COMPONENT, PRESENCE_MIGRATIONS[:1]) == 1
        await db.execute(
            "INSERT INTO suspensions (agent, platform, server, room, until, reason, created_at) "
            "VALUES ('helper', 'test', 'g1', NULL, 99.0, 'mirrored', 1.0)"
        )
        await db.execute("INSERT INTO presence (agent, room, since, invitation_id) VALUES ('helper', 't:g1:c', 1.0, 7)")

    async with Database(path) as db:
        assert await PresenceStore.migrate(db) == len(PRESENCE_MIGRATIONS)
        async with db.transaction() as conn:
            assert not await table_exists(conn, "suspensions")
        stays = await PresenceStore.open(db).presence.all()
        assert [(s.agent, s.room, s.invitation_id) for s in stays] == [("helper", "t:g1:c", 7)]
        assert await PresenceStore.migrate(db) == len(PRESENCE_MIGRATIONS)  # nothing left to apply
