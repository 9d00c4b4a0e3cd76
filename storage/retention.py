"""Retention: the per-message tables lose their rows older than a number of days, a small batch at a time.

Rows are written in time order, so the oldest are at the front of each table (lowest rowid). A prune step looks at
the first row left from where it stands: if it is older than the cut-off, it deletes the old rows of the next
``batch`` rowids (one short write, committed through group commit like any other, so writers go in between) and
moves on; once the first row it finds is recent, the table is done. The cost is bounded by the rows deleted,
never a scan of the table. A row whose time is out of order (a late event) waits until the rows before it age out.

What is kept forever whatever the setting: cases, suspensions, agents, invitations, drafts, timers, presence: the
records moderators and owners act on, not one row per message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from storage.db import Database

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RetainedTable:
    """A per-message table: its name, the column with each row's time (epoch seconds), and the condition a row must
    also meet to be deleted (rows still waiting for something stay)."""

    name: str
    time_column: str
    deletable: str = ""


PER_MESSAGE_TABLES: tuple[RetainedTable, ...] = (
    RetainedTable("decisions", "at"),  # the agent publisher's decision log
    RetainedTable("feedback", "at", deletable="forward_pending = 0"),  # rewards, once forwarded to the agent
    RetainedTable("sentiment_suggestions", "at"),
)
TABLE_NAMES = tuple(table.name for table in PER_MESSAGE_TABLES)


class Retention:
    """Prunes the per-message tables: ``days`` by table name (0 or missing: kept forever)."""

    def __init__(self, db: Database, days: Mapping[str, float], *, batch: int = 500, max_batches: int = 1000) -> None:
        unknown = set(days) - set(TABLE_NAMES)
        if unknown:
            raise ValueError(f"no per-message table named {sorted(unknown)}; known: {list(TABLE_NAMES)}")
        self.db = db
        self.days = dict(days)
        self.batch = batch
        self.max_batches = max_batches
        self.deleted: dict[str, int] = dict.fromkeys(TABLE_NAMES, 0)  # rows deleted since start, by table

    @property
    def enabled(self) -> bool:
        return any(days > 0 for days in self.days.values())

    async def prune(self, now: float) -> dict[str, int]:
        """Delete what is older than each table's days at ``now``; the rows deleted by table (tables that are
        not in this database, their cog never having run, are skipped)."""
        deleted: dict[str, int] = {}
        for table in PER_MESSAGE_TABLES:
            days = self.days.get(table.name, 0.0)
            if days <= 0 or not await self._exists(table.name):
                continue
            count = await self._prune_table(table, now - days * DAY)
            self.deleted[table.name] += count
            deleted[table.name] = count
        return deleted

    async def _exists(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return await self.db.fetchone(sql, (name,)) is not None

    async def _prune_table(self, table: RetainedTable, cutoff: float) -> int:
        column, extra = table.time_column, f" AND ({table.deletable})" if table.deletable else ""
        first = f"SELECT rowid AS id, {column} AS t FROM {table.name} WHERE rowid >= ? ORDER BY rowid LIMIT 1"
        delete = f"DELETE FROM {table.name} WHERE rowid >= ? AND rowid < ? AND {column} < ?{extra}"
        deleted, start = 0, -(2**63)
        for _ in range(self.max_batches):
            row = await self.db.fetchone(first, (start,))
            if row is None or row["t"] >= cutoff:
                break
            start = int(row["id"]) + self.batch
            deleted += await self.db.execute(delete, (int(row["id"]), start, cutoff))
            await asyncio.sleep(0)  # let the loop's other work in between batches
        return deleted
