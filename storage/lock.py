"""One writer per database file: an exclusive ``flock`` on ``<database>.lock`` held for as long as it is open.

Two Steward processes on one SQLite file would each enforce half of the rules (each keeps its own cooldowns,
windows and timers in memory), so the second one is refused. The lock file holds the pid of its owner, for the
message the second one prints. The kernel drops the lock when the process ends, however it ends: a stale file
left behind after a crash never blocks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
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


class FileLock:
    """An exclusive, non-blocking lock on one file; ``acquire`` raises ``DatabaseLocked`` when it is taken."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DatabaseLocked(self.path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Empty the pid while still holding the lock, then let the kernel drop it with the descriptor. The file
        # stays: removing it could let a third process lock a new file while a second still holds the old one.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
