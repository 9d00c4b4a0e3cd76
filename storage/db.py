"""The SQLite database: one file, WAL mode, versioned forward migrations per component.

Each component (``core``, ``moderation``, ``presence`` ...) owns an ordered list of migrations; the
``schema_version`` table records how far each has been applied. Migrations only move forward; each runs in a
transaction together with its version bump, so a crash leaves the database at the previous version, never in
between.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from storage.lock import FileLock, lock_path_for
from storage.writes import GroupCommit, Statement, WriteResult

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


class DatabaseOpenError(Exception):
    """The database file cannot be used: ``problem`` says what is wrong with it, ``hint`` what to do."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


# What SQLite's message says -> what is wrong with the file, and what to do about it.
_SQLITE_PROBLEMS = (
    (("readonly", "read-only"), "is read-only", "make the file and its folder writable by the user Steward runs as"),
    (("disk is full", "disk i/o"), "cannot be written: {error}", "free space on its disk"),
    (
        ("not a database", "malformed", "file is encrypted"),
        "is not a SQLite database or is damaged",
        "point [database] path at Steward's database, or restore it from a backup",
    ),
    (("database is locked",), "is locked by another program", "close the program that holds it"),
    (
        ("unable to open",),
        "cannot be opened",
        "check that its folder exists and that the user Steward runs as may write there",
    ),
)


def describe_error(path: Path, exc: BaseException) -> DatabaseOpenError:
    """A SQLite or file-system error met while opening or migrating ``path``, as a problem and a remedy."""
    error = str(exc) or type(exc).__name__
    if isinstance(exc, sqlite3.Error):
        lowered = error.lower()
        for needles, problem, hint in _SQLITE_PROBLEMS:
            if any(needle in lowered for needle in needles):
                return DatabaseOpenError(f"the database {path} {problem.format(error=error)}", hint)
        return DatabaseOpenError(f"the database {path} cannot be used: {error}", "")
    if isinstance(exc, OSError):
        reason = exc.strerror or error
        return DatabaseOpenError(
            f"cannot create the database {path}: {reason}",
            "give [database] path a file in a folder the user Steward runs as may write",
        )
    return DatabaseOpenError(f"the database {path} cannot be used: {error}", "")


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
    transactions from interleaving on the shared connection.

    Single writes (``execute``, ``executemany``, ``write``) go through group commit (``storage/writes.py``): they
    share transactions with the writes queued alongside them, and each returns only after its COMMIT.
    ``transaction()`` blocks (reads and writes with logic between them) run alone, between batches."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._after_commit: list[Callable[[], None]] | None = None
        self._file_lock: FileLock | None = None
        self.group_commit = GroupCommit(self._write_lock)

    @property
    def is_file(self) -> bool:
        """A database kept in a file on this machine (the only kind an exclusive lock applies to)."""
        return str(self.path) != ":memory:" and not str(self.path).startswith("file:")

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("the database is not open")
        return self._conn

    async def open(self, *, exclusive: bool = False) -> None:
        """Open the connection; raise ``DatabaseOpenError`` naming what is wrong with the file.

        ``exclusive``: this process is the database's one writer (``steward run``, ``steward replay``); a second
        one gets ``DatabaseLocked``. Readers (exports, summaries) open it without the lock while the bot runs.
        Only a file database takes the lock: an in-memory one belongs to this process anyway.
        """
        if self._conn is not None:
            return
        try:
            if self.is_file:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive and self.is_file:
                lock = FileLock(lock_path_for(self.path))
                await asyncio.to_thread(lock.acquire)
                self._file_lock = lock
            self._conn = await self._connect()
        except (sqlite3.Error, OSError) as exc:
            self._release_lock()
            raise describe_error(self.path, exc) from exc
        except BaseException:
            self._release_lock()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.executescript(_BOOTSTRAP)
            # aiosqlite runs every call on the connection's own thread; a batch goes there as one call.
            self.group_commit.bind(conn._execute, lambda: conn._conn)
        except BaseException:
            # The connection's worker thread would keep the interpreter alive: close it before giving up.
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        return conn

    def _release_lock(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None

    async def close(self) -> None:
        try:
            if self._conn is not None:
                await self.group_commit.flush()
                self.group_commit.bind(None, None)
                conn, self._conn = self._conn, None
                await conn.close()
        finally:
            self._release_lock()

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

    async def write(self, statements: Sequence[Statement]) -> list[WriteResult]:
        """Run ``statements`` together (all or none), committed with whatever other writes are queued; return what
        each did once the COMMIT returned. A failing statement fails this block only."""
        return await self.group_commit.write(statements)

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """Run one write statement, committed before it returns; return lastrowid (or rowcount for updates)."""
        (result,) = await self.write([(sql, params)])
        if sql.lstrip().upper().startswith("INSERT"):
            return result.lastrowid
        return result.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.write([(sql, row) for row in rows])

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
