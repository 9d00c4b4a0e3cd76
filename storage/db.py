"""The SQLite database: one file, WAL mode, versioned forward migrations per component.

Each component (``core``, ``moderation``, ``presence`` ...) owns an ordered list of migrations; the
``schema_version`` table records how far each has been applied. Migrations only move forward; each runs in a
transaction together with its version bump, so a crash leaves the database at the previous version, never in
between.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

# structlog's lazy proxy: it picks up the configuration in force at the first call, not at import.
log = structlog.get_logger("steward.storage")

MigrationStep = str | Callable[[aiosqlite.Connection], Awaitable[None]]
# What the read helpers return: columns by name (``row["id"]``) and ``row.keys()``.
Row = sqlite3.Row


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    step: MigrationStep  # SQL script, or an async function for data migrations


class MigrationError(Exception):
    pass


_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_version (
    component TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS schema_history (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL,
    PRIMARY KEY (component, version)
);
"""


class Database:
    """An aiosqlite connection with a write lock: SQLite allows one writer, and the lock keeps our own
    transactions from interleaving on the shared connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] | None = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("the database is not open")
        return self._conn

    async def open(self) -> None:
        if self.path != Path(":memory:"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.executescript(_BOOTSTRAP)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- transactions and queries ------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back if the block raises. What the block
        registered with ``after_commit`` runs once the COMMIT returned (never after a rollback)."""
        async with self._write_lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            callbacks: list[Callable[[], None]] = []
            self._after_commit = callbacks
            try:
                yield conn
            except BaseException:
                self._after_commit = None
                await conn.execute("ROLLBACK")
                raise
            self._after_commit = None
            await conn.execute("COMMIT")
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the write transaction in progress commits (to arm a timer written in it)."""
        if self._after_commit is None:
            raise RuntimeError("after_commit needs a write transaction in progress")
        self._after_commit.append(callback)

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement in its own transaction; return lastrowid (or rowcount for updates)."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            if sql.lstrip().upper().startswith("INSERT"):
                return cursor.lastrowid or 0
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def ping(self) -> float:
        """Ask ``SELECT 1``; the seconds the answer took (the health check bounds the wait). Raises RuntimeError
        when the database is not open, sqlite3.Error when it fails."""
        started = time.perf_counter()
        await self.fetchone("SELECT 1")
        return time.perf_counter() - started

    # --- migrations ----------------------------------------------------------------------------------------------

    async def schema_version(self, component: str) -> int:
        row = await self.fetchone("SELECT version FROM schema_version WHERE component = ?", (component,))
        return int(row["version"]) if row else 0

    async def migrate(self, component: str, migrations: Sequence[Migration]) -> int:
        """Apply the migrations of ``component`` newer than its recorded version; return the new version."""
        versions = [m.version for m in migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise MigrationError(f"{component}: migrations must be numbered 1..n in order, got {versions}")
        current = await self.schema_version(component)
        if current > len(migrations):
            raise MigrationError(
                f"{component}: the database is at schema version {current}, newer than this code knows "
                f"({len(migrations)}); refusing to run an older Steward on it"
            )
        for migration in migrations[current:]:
            async with self.transaction() as conn:
                if isinstance(migration.step, str):
                    await execute_script(conn, migration.step)
                else:
                    await migration.step(conn)
                now = time.time()
                await conn.execute(
                    "INSERT INTO schema_version (component, version, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
                    (component, migration.version, now),
                )
                await conn.execute(
                    "INSERT INTO schema_history (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
                    (component, migration.version, migration.name, now),
                )
            log.info("migration_applied", component=component, version=migration.version, name=migration.name)
        return max(current, len(migrations))


async def execute_script(conn: aiosqlite.Connection, script: str) -> None:
    """Run the statements of ``script`` inside the caller's transaction (for migrations written as functions)."""
    for statement in _statements(script):
        await conn.execute(statement)


async def table_exists(conn: aiosqlite.Connection, name: str) -> bool:
    async with conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) as cursor:
        return await cursor.fetchone() is not None


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would COMMIT our transaction)."""
    statements, buffer = [], ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n\t;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n\t;"):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]!r}")
    return statements
