"""The decision log: a room's recent decisions, newest first, without an index by room."""

from __future__ import annotations

from domain import Room
from storage.core import CORE_MIGRATIONS, DecisionLog
from storage.db import Database


async def test_a_rooms_recent_decisions_come_newest_first(tmp_path) -> None:
    rooms = [Room("test", "s1", f"c{n}") for n in range(3)]
    async with Database(tmp_path / "steward.db") as db:
        await db.migrate("core", CORE_MIGRATIONS)
        log = DecisionLog(db)
        for n in range(30):
            await log.record(
                at=float(n), room=rooms[n % 3], agent="a", verdict="approve", rule="pass", reason=f"r{n}", text=f"{n}",
                scores={"toxicity": n / 100},
            )  # fmt: skip
        recent = await log.recent(limit=4, room=rooms[1])
        assert [d.reason for d in recent] == ["r28", "r25", "r22", "r19"]
        assert {d.room for d in recent} == {rooms[1].key} and recent[0].scores == {"toxicity": 0.28}
        assert [d.reason for d in await log.recent(limit=2)] == ["r29", "r28"]
        indexes = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decisions'")
        assert [row["name"] for row in indexes] == []  # each decision costs its row only
