"""The feedback store: every reward any component gave an agent, and the sentiment cog's invitation suggestions.

Feedback rows hold ids, scores and a JSON context, never message text. Rows are append-only; summaries are
computed from them (counts, mean reward, by source, by UTC day); ``export`` streams them for training pipelines.

Rewards lie in [``REWARD_MIN``, ``REWARD_MAX``] = [-2, 1]: the room's and the owners' rewards use [-1, 1], and the
presence penalties go below it (a suspension is -2, the strongest signal there is); consumers that need [-1, 1]
clip.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from sqlite3 import Row
from typing import Any

from storage.db import Database, Migration

FEEDBACK_COMPONENT = "feedback"

# The range every stored reward lies in; below -1 only the presence penalties (a suspension's -2).
REWARD_MIN = -2.0
REWARD_MAX = 1.0

FEEDBACK_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "feedback events and sentiment suggestions",
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            agent TEXT NOT NULL,
            reward REAL NOT NULL CHECK (reward >= -1.0 AND reward <= 1.0),
            source TEXT NOT NULL,
            room TEXT,
            users TEXT NOT NULL DEFAULT '[]',
            context TEXT NOT NULL DEFAULT '{}',
            recorded_at REAL NOT NULL
        );
        CREATE INDEX feedback_agent_at ON feedback (agent, at);
        CREATE INDEX feedback_at ON feedback (at);
        CREATE TABLE sentiment_suggestions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            room TEXT NOT NULL,
            agent TEXT NOT NULL,
            keywords TEXT NOT NULL DEFAULT '[]',
            clicked_at REAL,
            clicked_by TEXT
        );
        CREATE INDEX sentiment_suggestions_room_at ON sentiment_suggestions (room, at);
        """,
    ),
    Migration(
        2,
        "webhook delivery state",
        """
        ALTER TABLE feedback ADD COLUMN forward_pending INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX feedback_forward_pending ON feedback (forward_pending) WHERE forward_pending = 1;
        """,
    ),
    Migration(
        3,
        "rewards down to -2, the suspension penalty",
        # SQLite cannot alter a CHECK: the table is rebuilt under the wider one, rows and ids kept.
        """
        CREATE TABLE feedback_widened (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            agent TEXT NOT NULL,
            reward REAL NOT NULL CHECK (reward >= -2.0 AND reward <= 1.0),
            source TEXT NOT NULL,
            room TEXT,
            users TEXT NOT NULL DEFAULT '[]',
            context TEXT NOT NULL DEFAULT '{}',
            recorded_at REAL NOT NULL,
            forward_pending INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO feedback_widened (id, at, agent, reward, source, room, users, context, recorded_at, forward_pending)
            SELECT id, at, agent, reward, source, room, users, context, recorded_at, forward_pending FROM feedback;
        DROP TABLE feedback;
        ALTER TABLE feedback_widened RENAME TO feedback;
        CREATE INDEX feedback_agent_at ON feedback (agent, at);
        CREATE INDEX feedback_at ON feedback (at);
        CREATE INDEX feedback_forward_pending ON feedback (forward_pending) WHERE forward_pending = 1;
        """,
    ),
]


class InvalidFeedback(ValueError):
    """A feedback event that cannot be stored; ``reason`` is a short label for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    id: int
    at: float
    agent: str
    reward: float
    source: str
    room: str | None
    users: tuple[str, ...]
    context: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The export's and the webhook's shape of a row."""
        return {
            "id": self.id,
            "at": self.at,
            "time": datetime.fromtimestamp(self.at, UTC).isoformat(),
            "agent": self.agent,
            "reward": self.reward,
            "source": self.source,
            "room": self.room,
            "users": list(self.users),
            "context": dict(self.context),
        }


@dataclass(frozen=True, slots=True)
class Tally:
    count: int
    mean: float
    positive: int
    negative: int


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    agent: str
    total: Tally
    first_at: float | None
    last_at: float | None
    by_source: Mapping[str, Tally] = field(default_factory=dict)
    by_day: Sequence[tuple[str, Tally]] = ()  # ("YYYY-MM-DD" in UTC, tally), oldest first


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    at: float
    room: str
    agent: str
    keywords: tuple[str, ...]
    clicked_at: float | None
    clicked_by: str | None


def _json_default(value: object) -> object:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def validate(agent: str, reward: float, source: str) -> None:
    if not isinstance(agent, str) or not agent.strip():
        raise InvalidFeedback("no_agent", "feedback needs an agent name")
    if not isinstance(source, str) or not source.strip():
        raise InvalidFeedback("no_source", "feedback needs a source")
    if isinstance(reward, bool) or not isinstance(reward, (int, float)) or not math.isfinite(reward):
        raise InvalidFeedback("bad_reward", f"the reward must be a finite number, got {reward!r}")
    if not REWARD_MIN <= reward <= REWARD_MAX:
        raise InvalidFeedback(
            "reward_out_of_range", f"the reward must lie in [{REWARD_MIN:g}, {REWARD_MAX:g}], got {reward}"
        )


class FeedbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def migrate(self) -> int:
        return await self.db.migrate(FEEDBACK_COMPONENT, FEEDBACK_MIGRATIONS)

    # --- feedback ------------------------------------------------------------------------------------------------

    async def record(
        self,
        *,
        at: float,
        agent: str,
        reward: float,
        source: str,
        room: str | None = None,
        users: Sequence[str] = (),
        context: Mapping[str, Any] | None = None,
        recorded_at: float | None = None,
        forward: bool = False,
    ) -> int:
        """Store one feedback event; raise ``InvalidFeedback`` for one that makes no sense. ``forward`` marks it as
        owed to the webhook until ``mark_forwarded``."""
        validate(agent, reward, source)
        if not math.isfinite(at):
            raise InvalidFeedback("bad_time", f"the time must be finite, got {at!r}")
        return await self.db.execute(
            "INSERT INTO feedback (at, agent, reward, source, room, users, context, recorded_at, forward_pending) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                agent.strip(),
                float(reward),
                source.strip(),
                room,
                json.dumps([str(u) for u in users]),
                json.dumps(dict(context or {}), sort_keys=True, default=_json_default),
                recorded_at if recorded_at is not None else at,
                1 if forward else 0,
            ),
        )

    async def mark_forwarded(self, row_id: int) -> None:
        await self.db.execute("UPDATE feedback SET forward_pending = 0 WHERE id = ?", (row_id,))

    async def pending_forward(self, limit: int = 1000) -> list[FeedbackRow]:
        """Rows owed to the webhook (stored while it was down, or when Steward stopped before sending), oldest
        first."""
        rows = await self.db.fetchall("SELECT * FROM feedback WHERE forward_pending = 1 ORDER BY id LIMIT ?", (limit,))
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(row: Row) -> FeedbackRow:
        return FeedbackRow(
            id=row["id"],
            at=row["at"],
            agent=row["agent"],
            reward=row["reward"],
            source=row["source"],
            room=row["room"],
            users=tuple(json.loads(row["users"])),
            context=json.loads(row["context"]),
        )

    async def count(self, agent: str | None = None) -> int:
        if agent is None:
            row = await self.db.fetchone("SELECT COUNT(*) AS n FROM feedback")
        else:
            row = await self.db.fetchone("SELECT COUNT(*) AS n FROM feedback WHERE agent = ?", (agent,))
        return int(row["n"]) if row else 0

    async def recent(self, agent: str, limit: int = 20) -> list[FeedbackRow]:
        rows = await self.db.fetchall(
            "SELECT * FROM feedback WHERE agent = ? ORDER BY at DESC, id DESC LIMIT ?", (agent, limit)
        )
        return [self._row(r) for r in rows]

    async def export(
        self, *, agent: str | None = None, since: float | None = None, until: float | None = None, batch: int = 500
    ) -> AsyncIterator[FeedbackRow]:
        """Every matching row, oldest first, fetched in batches (keyset pagination, so memory stays flat)."""
        last_id = 0
        while True:
            clauses: list[str] = ["id > ?"]
            params: list[object] = [last_id]
            if agent is not None:
                clauses.append("agent = ?")
                params.append(agent)
            if since is not None:
                clauses.append("at >= ?")
                params.append(since)
            if until is not None:
                clauses.append("at < ?")
                params.append(until)
            rows = await self.db.fetchall(
                f"SELECT * FROM feedback WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?", (*params, batch)
            )
            for row in rows:
                yield self._row(row)
            if len(rows) < batch:
                return
            last_id = rows[-1]["id"]

    async def summary(self, agent: str, *, since: float | None = None, until: float | None = None) -> FeedbackSummary:
        where = "agent = ?"
        params: list[object] = [agent]
        if since is not None:
            where += " AND at >= ?"
            params.append(since)
        if until is not None:
            where += " AND at < ?"
            params.append(until)
        tally = (
            "COUNT(*) AS n, COALESCE(AVG(reward), 0) AS mean, "
            "SUM(CASE WHEN reward > 0 THEN 1 ELSE 0 END) AS pos, SUM(CASE WHEN reward < 0 THEN 1 ELSE 0 END) AS neg"
        )
        total = await self.db.fetchone(
            f"SELECT {tally}, MIN(at) AS first, MAX(at) AS last FROM feedback WHERE {where}", params
        )
        sources = await self.db.fetchall(
            f"SELECT source, {tally} FROM feedback WHERE {where} GROUP BY source ORDER BY source", params
        )
        days = await self.db.fetchall(
            f"SELECT date(at, 'unixepoch') AS day, {tally} FROM feedback WHERE {where} GROUP BY day ORDER BY day",
            params,
        )

        def make(row: Row) -> Tally:
            return Tally(int(row["n"]), float(row["mean"]), int(row["pos"] or 0), int(row["neg"] or 0))

        return FeedbackSummary(
            agent=agent,
            total=make(total) if total else Tally(0, 0.0, 0, 0),
            first_at=total["first"] if total else None,
            last_at=total["last"] if total else None,
            by_source={r["source"]: make(r) for r in sources},
            by_day=[(r["day"], make(r)) for r in days],
        )

    # --- suggestions ---------------------------------------------------------------------------------------------

    async def add_suggestion(self, *, at: float, room: str, agent: str, keywords: Sequence[str]) -> int:
        return await self.db.execute(
            "INSERT INTO sentiment_suggestions (at, room, agent, keywords) VALUES (?, ?, ?, ?)",
            (at, room, agent, json.dumps(list(keywords))),
        )

    async def suggestion(self, suggestion_id: int) -> Suggestion | None:
        row = await self.db.fetchone("SELECT * FROM sentiment_suggestions WHERE id = ?", (suggestion_id,))
        if row is None:
            return None
        return Suggestion(
            id=row["id"],
            at=row["at"],
            room=row["room"],
            agent=row["agent"],
            keywords=tuple(json.loads(row["keywords"])),
            clicked_at=row["clicked_at"],
            clicked_by=row["clicked_by"],
        )

    async def last_suggestion_at(self, room: str, agent: str | None = None) -> float | None:
        if agent is None:
            row = await self.db.fetchone("SELECT MAX(at) AS last FROM sentiment_suggestions WHERE room = ?", (room,))
        else:
            row = await self.db.fetchone(
                "SELECT MAX(at) AS last FROM sentiment_suggestions WHERE room = ? AND agent = ?", (room, agent)
            )
        return row["last"] if row and row["last"] is not None else None

    async def mark_clicked(self, suggestion_id: int, *, at: float, by: str) -> bool:
        """Record the click; False when the suggestion was already taken up (a second click)."""
        changed = await self.db.execute(
            "UPDATE sentiment_suggestions SET clicked_at = ?, clicked_by = ? WHERE id = ? AND clicked_at IS NULL",
            (at, by, suggestion_id),
        )
        return changed > 0
