"""Slack's tables: OAuth installations (multi-workspace), OAuth state values, which agent each message Steward
posted belongs to (so that replies and reactions to it are credited to the agent), and which workspace each DM
channel Steward opened is in (so a prompt can be updated after a restart).

Installations hold tokens: they are what lets Steward act in a workspace, kept in Steward's database like any
OAuth client keeps them. Message text is never stored here; agent posts are ids only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage.db import Database, Migration, Row

SLACK_MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "installations, oauth states, agent posts",
        """
        CREATE TABLE slack_installations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            client_id TEXT NOT NULL,
            enterprise_id TEXT NOT NULL DEFAULT '',
            team_id TEXT NOT NULL DEFAULT '',
            user_id TEXT NOT NULL DEFAULT '',
            is_enterprise_install INTEGER NOT NULL DEFAULT 0,
            installed_at REAL NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX slack_installations_lookup
            ON slack_installations (client_id, enterprise_id, team_id, user_id, installed_at);
        CREATE TABLE slack_bots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            client_id TEXT NOT NULL,
            enterprise_id TEXT NOT NULL DEFAULT '',
            team_id TEXT NOT NULL DEFAULT '',
            is_enterprise_install INTEGER NOT NULL DEFAULT 0,
            installed_at REAL NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX slack_bots_lookup ON slack_bots (client_id, enterprise_id, team_id, installed_at);
        CREATE TABLE slack_oauth_states (
            state TEXT PRIMARY KEY,
            expires_at REAL NOT NULL
        );
        CREATE TABLE slack_agent_posts (
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            ts TEXT NOT NULL,
            agent TEXT NOT NULL,
            posted_at REAL NOT NULL,
            PRIMARY KEY (team_id, channel_id, ts)
        );
        CREATE INDEX slack_agent_posts_at ON slack_agent_posts (posted_at);
        """,
    ),
    Migration(
        2,
        "workspace of the DM channels Steward opened",
        """
        CREATE TABLE slack_dm_channels (
            channel_id TEXT PRIMARY KEY,
            team_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            opened_at REAL NOT NULL
        );
        """,
    ),
]


@dataclass(frozen=True, slots=True)
class StoredInstallation:
    """One row of an installation or bot table: its key fields and the library's own data, as saved."""

    enterprise_id: str
    team_id: str
    user_id: str
    is_enterprise_install: bool
    installed_at: float
    data: Mapping[str, Any]


def _key(value: str | None) -> str:
    return value or ""


class SlackInstallationRepository:
    """Rows for the OAuth installation store, keyed by client id so two Slack apps can share one database."""

    def __init__(self, db: Database, client_id: str) -> None:
        self.db = db
        self.client_id = client_id

    async def save_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        is_enterprise_install: bool,
        installed_at: float,
        data: Mapping[str, Any],
    ) -> None:
        await self.db.execute(
            "INSERT INTO slack_installations (client_id, enterprise_id, team_id, user_id, is_enterprise_install, "
            "installed_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                self.client_id,
                _key(enterprise_id),
                "" if is_enterprise_install else _key(team_id),
                _key(user_id),
                int(is_enterprise_install),
                installed_at,
                json.dumps(dict(data), default=str),
            ),
        )

    async def save_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
        installed_at: float,
        data: Mapping[str, Any],
    ) -> None:
        await self.db.execute(
            "INSERT INTO slack_bots (client_id, enterprise_id, team_id, is_enterprise_install, installed_at, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.client_id,
                _key(enterprise_id),
                "" if is_enterprise_install else _key(team_id),
                int(is_enterprise_install),
                installed_at,
                json.dumps(dict(data), default=str),
            ),
        )

    async def latest_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None, is_enterprise_install: bool
    ) -> StoredInstallation | None:
        sql = (
            "SELECT * FROM slack_installations WHERE client_id = ? AND enterprise_id = ? AND team_id = ?"
            + (" AND user_id = ?" if user_id else "")
            + " ORDER BY installed_at DESC, id DESC LIMIT 1"
        )
        params: list[Any] = [self.client_id, _key(enterprise_id), "" if is_enterprise_install else _key(team_id)]
        if user_id:
            params.append(user_id)
        row = await self.db.fetchone(sql, params)
        return _stored(row) if row else None

    async def latest_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool
    ) -> StoredInstallation | None:
        row = await self.db.fetchone(
            "SELECT * FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ? "
            "ORDER BY installed_at DESC, id DESC LIMIT 1",
            (self.client_id, _key(enterprise_id), "" if is_enterprise_install else _key(team_id)),
        )
        return _stored(row) if row else None

    async def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> int:
        return await self.db.execute(
            "DELETE FROM slack_bots WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
            (self.client_id, _key(enterprise_id), _key(team_id)),
        )

    async def delete_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> int:
        if user_id:
            return await self.db.execute(
                "DELETE FROM slack_installations WHERE client_id = ? AND enterprise_id = ? AND team_id = ? "
                "AND user_id = ?",
                (self.client_id, _key(enterprise_id), _key(team_id), user_id),
            )
        return await self.db.execute(
            "DELETE FROM slack_installations WHERE client_id = ? AND enterprise_id = ? AND team_id = ?",
            (self.client_id, _key(enterprise_id), _key(team_id)),
        )

    async def teams(self) -> list[str]:
        """The workspaces with a bot installed, most recently installed first."""
        rows = await self.db.fetchall(
            "SELECT team_id, MAX(installed_at) AS at FROM slack_bots WHERE client_id = ? AND team_id != '' "
            "GROUP BY team_id ORDER BY at DESC",
            (self.client_id,),
        )
        return [r["team_id"] for r in rows]


def _stored(row: Row) -> StoredInstallation:
    return StoredInstallation(
        enterprise_id=row["enterprise_id"],
        team_id=row["team_id"],
        user_id=row["user_id"] if "user_id" in row.keys() else "",
        is_enterprise_install=bool(row["is_enterprise_install"]),
        installed_at=row["installed_at"],
        data=json.loads(row["data"]),
    )


class OAuthStateRepository:
    """One-time OAuth ``state`` values: issued when an install starts, consumed once by the redirect."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def issue(self, state: str, expires_at: float) -> None:
        await self.db.execute("INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", (state, expires_at))

    async def consume(self, state: str, now: float) -> bool:
        """True when ``state`` was issued and has not expired; it cannot be used again either way."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT expires_at FROM slack_oauth_states WHERE state = ?", (state,))
            row = await cursor.fetchone()
            await conn.execute("DELETE FROM slack_oauth_states WHERE state = ? OR expires_at < ?", (state, now))
        return row is not None and float(row[0]) >= now


class AgentPostRepository:
    """Which agent each message Steward posted for an agent belongs to: ids only, never text."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, *, team_id: str, channel_id: str, ts: str, agent: str, posted_at: float) -> None:
        await self.db.execute(
            "INSERT INTO slack_agent_posts (team_id, channel_id, ts, agent, posted_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(team_id, channel_id, ts) DO UPDATE SET agent = excluded.agent",
            (team_id, channel_id, ts, agent, posted_at),
        )

    async def agent_of(self, *, team_id: str, channel_id: str, ts: str) -> str | None:
        row = await self.db.fetchone(
            "SELECT agent FROM slack_agent_posts WHERE team_id = ? AND channel_id = ? AND ts = ?",
            (team_id, channel_id, ts),
        )
        return row["agent"] if row else None

    async def prune(self, older_than: float) -> int:
        return await self.db.execute("DELETE FROM slack_agent_posts WHERE posted_at < ?", (older_than,))


class DmChannelRepository:
    """The workspace of each DM channel Steward opened (multi-workspace installs): ids only."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, *, channel_id: str, team_id: str, user_id: str, opened_at: float) -> None:
        await self.db.execute(
            "INSERT INTO slack_dm_channels (channel_id, team_id, user_id, opened_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(channel_id) DO UPDATE SET team_id = excluded.team_id, opened_at = excluded.opened_at",
            (channel_id, team_id, user_id, opened_at),
        )

    async def team_of(self, channel_id: str) -> str | None:
        row = await self.db.fetchone("SELECT team_id FROM slack_dm_channels WHERE channel_id = ?", (channel_id,))
        return row["team_id"] if row else None
