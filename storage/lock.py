"""One writer per database file: an exclusive ``flock`` on ``<database>.lock`` held for as long as it is open.

Two Steward processes on one SQLite file would each enforce half of the rules (each keeps its own cooldowns,
windows and timers in memory), so the second one is refused. The lock file holds the pid of its owner, for the
message the second one prints. Within one process the lock is shared (several apps in one test or program may
use one file); it is other processes that are refused. The kernel drops the lock when the process ends, however
it ends: a stale file left behind after a crash never blocks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path


class DatabaseLocked(Exception):
    """Another process holds the lock on ``path``; ``pid`` is its process id when it could be read."""

    def __init__(self, path: Path, pid: int | None) -> None:
        owner = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"another Steward ({owner}) is using {path}")
        self.path = path
        self.pid = pid


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


# The locks this process holds, by the lock file's (device, inode): the descriptor and how many holders share it.
# Several apps in one process (tests, a program embedding Steward) may share a database; other processes may not.
_HELD: dict[tuple[int, int], list[int]] = {}
_GUARD = threading.Lock()


class FileLock:
    """An exclusive, non-blocking lock on one file, shared within this process and refused to any other:
    ``acquire`` raises ``DatabaseLocked`` when another process holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: tuple[int, int] | None = None

    @property
    def held(self) -> bool:
        return self._key is not None

    def acquire(self) -> None:
        if self._key is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        kept = False
        try:
            info = os.fstat(fd)
            key = (info.st_dev, info.st_ino)
            with _GUARD:
                held = _HELD.get(key)
                if held is not None:
                    held[1] += 1  # this process holds it already, through its first descriptor
                else:
                    _lock(fd, self.path)
                    _HELD[key] = [fd, 1]
                    kept = True
        finally:
            if not kept:
                os.close(fd)
        self._key = key

    def release(self) -> None:
        if self._key is None:
            return
        key, self._key = self._key, None
        with _GUARD:
            held = _HELD.get(key)
            if held is None:
                return
            held[1] -= 1
            if held[1] > 0:
                return
            del _HELD[key]
            fd = held[0]
            # Empty the pid while still holding the lock, then let the kernel drop it with the descriptor. The
            # file stays: removing it could let a third process lock a new file while a second holds the old one.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)


def _lock(fd: int, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise DatabaseLocked(path, _read_pid(fd)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
