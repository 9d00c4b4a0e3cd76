"""Group commit: many small writes share one SQLite transaction, and each writer still waits for its COMMIT.

A writer hands its block of statements to ``GroupCommit.write`` and awaits it. One writer task takes every block
queued so far (up to ``max_blocks``) and runs them on the connection's thread in a single call: ``BEGIN
IMMEDIATE``, each block inside its own ``SAVEPOINT``, ``COMMIT``. Only once the COMMIT returned is each waiter
answered, so a write that returned is durable exactly as one committed alone would be (WAL, ``synchronous=NORMAL``:
it survives a crash of the process). A block whose statement fails is rolled back to its savepoint and fails alone;
the others commit. If the transaction itself cannot begin or commit, every block of the batch fails with that
error and nothing of it is stored.

The gain: a single-statement write costs one hop to the database thread instead of three (BEGIN, the statement,
COMMIT), and concurrent writers (one per busy room) share the commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

Params = Sequence[Any] | dict[str, Any]
Statement = tuple[str, Params]

# The most blocks one transaction holds: a burst is committed in slices, so no waiter waits behind thousands.
MAX_BLOCKS = 256


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one statement of a block did: the row it inserted (``lastrowid``) and the rows it changed."""

    lastrowid: int
    rowcount: int


@dataclass(slots=True)
class _Block:
    statements: list[Statement]
    future: asyncio.Future[list[WriteResult]]


# Runs ``fn(*args)`` on the connection's own thread and returns its result (aiosqlite's ``Connection._execute``).
ThreadCall = Callable[..., Awaitable[Any]]


class GroupCommit:
    """The queue of write blocks and the task that commits them in batches (see the module's docstring)."""

    def __init__(self, lock: asyncio.Lock, max_blocks: int = MAX_BLOCKS) -> None:
        self._lock = lock  # the database's write lock: a batch never interleaves with a ``transaction()`` block
        self.max_blocks = max_blocks
        self._queue: list[_Block] = []
        self._writer: asyncio.Task[None] | None = None
        self._call: ThreadCall | None = None
        self._raw: Callable[[], sqlite3.Connection] | None = None
        self.commits = 0  # transactions committed
        self.blocks = 0  # blocks committed in them
        self.failed_blocks = 0  # blocks rolled back to their savepoint, or lost with a failed batch

    def bind(self, call: ThreadCall | None, raw: Callable[[], sqlite3.Connection] | None) -> None:
        """Use this connection: ``call`` runs a function on its thread, ``raw`` gives its sqlite3 connection (None:
        closed, writes are refused)."""
        self._call, self._raw = call, raw

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def write(self, statements: Sequence[Statement]) -> list[WriteResult]:
        """Run ``statements`` in one block of the next batch; return once the batch committed (raise what the block
        or the batch raised). A writer cancelled before its batch began writes nothing."""
        if self._call is None:
            raise RuntimeError("the database is not open")
        if not statements:
            return []
        loop = asyncio.get_running_loop()
        block = _Block(list(statements), loop.create_future())
        self._queue.append(block)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain(), name="steward-group-commit")
        return await block.future

    async def flush(self) -> None:
        """Wait until every block queued so far is committed or failed (before closing the connection)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer})

    async def _drain(self) -> None:
        while self._queue:
            batch = [block for block in self._queue[: self.max_blocks] if not block.future.done()]
            del self._queue[: self.max_blocks]
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Block]) -> None:
        call, raw = self._call, self._raw
        try:
            if call is None or raw is None:
                raise RuntimeError("the database is not open")
            async with self._lock:
                outcomes = await call(_run_batch, raw(), [block.statements for block in batch])
        except BaseException as exc:
            self.failed_blocks += len(batch)
            for block in batch:
                if not block.future.done():
                    block.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        self.commits += 1
        for block, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self.failed_blocks += 1
                if not block.future.done():
                    block.future.set_exception(outcome)
                continue
            self.blocks += 1
            if not block.future.done():
                block.future.set_result(outcome)


def _run_block(conn: sqlite3.Connection, statements: list[Statement]) -> list[WriteResult]:
    results = []
    for sql, params in statements:
        cursor = conn.execute(sql, params)
        results.append(WriteResult(cursor.lastrowid or 0, cursor.rowcount))
    return results


def _run_batch(conn: sqlite3.Connection, blocks: list[list[Statement]]) -> list[list[WriteResult] | Exception]:
    """On the database thread: the blocks in one transaction, each in a savepoint. Raises (after a ROLLBACK) only
    when the transaction as a whole failed; a block's own error is returned in its place."""
    outcomes: list[list[WriteResult] | Exception] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statements in blocks:
            conn.execute("SAVEPOINT steward_block")
            try:
                outcomes.append(_run_block(conn, statements))
            except Exception as exc:
                if not conn.in_transaction:
                    raise  # SQLite rolled the whole transaction back (disk full, I/O): the batch is lost
                conn.execute("ROLLBACK TO steward_block")
                outcomes.append(exc)
            conn.execute("RELEASE steward_block")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes
