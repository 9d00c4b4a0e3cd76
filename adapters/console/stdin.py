"""Reading the console's input without a thread, so a stop (Ctrl-C, SIGTERM) is never stuck behind a read.

A pipe or a terminal is watched by the event loop (``add_reader``) and read when it has data: cancelling the
reader task ends the read at once. A regular file (``steward run < script``) and an in-memory stream never block,
so they are read directly.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import stat
from typing import IO

CHUNK = 64 * 1024


def _pollable_fd(stream: IO[str]) -> int | None:
    """The descriptor behind ``stream`` when the event loop can watch it (a pipe, a terminal, a socket)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both OSError and ValueError
        return None
    return None if stat.S_ISREG(mode) else fd


class LineReader:
    """``await readline()``: the next line with its newline, or ``""`` at the end of the input."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._fd = _pollable_fd(stream)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._eof = False

    async def readline(self) -> str:
        if self._fd is None:
            return self.stream.readline()
        while True:
            end = self._buffer.find("\n")
            if end >= 0:
                line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
                return line
            if self._eof:
                line, self._buffer = self._buffer, ""
                return line
            chunk = await self._read_chunk(self._fd)
            if chunk:
                self._buffer += self._decoder.decode(chunk)
            else:
                self._eof = True
                self._buffer += self._decoder.decode(b"", final=True)

    async def _read_chunk(self, fd: int) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            ready: asyncio.Future[None] = loop.create_future()
            try:
                loop.add_reader(fd, _set_once, ready)
            except (OSError, ValueError):
                # A device the loop cannot watch (/dev/null ...): such devices answer at once.
                return _read(fd)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            try:
                return os.read(fd, CHUNK)
            except BlockingIOError:
                continue  # another reader took the data first; wait again
            except OSError:
                return b""  # the terminal went away (EIO): the end of the input


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, CHUNK)
    except OSError:
        return b""
