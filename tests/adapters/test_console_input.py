"""The console's input: lines from a pipe are read without a thread, so a stop never waits for the next line."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import Iterator
from typing import IO

import pytest

from adapters.console.stdin import LineReader


@pytest.fixture
def pipe() -> Iterator[tuple[IO[str], int]]:
    """A pipe like the one ``steward run`` reads when a script is piped in: its reading end, its writing fd."""
    read_fd, write_fd = os.pipe()
    with open(read_fd, encoding="utf-8") as stream:
        yield stream, write_fd
    with contextlib.suppress(OSError):
        os.close(write_fd)


async def test_lines_from_a_pipe_arrive_whole_and_the_last_one_without_its_newline(pipe) -> None:
    stream, write_fd = pipe
    reader = LineReader(stream)
    os.write(write_fd, "héllo\nwor".encode())
    assert await reader.readline() == "héllo\n"
    pending = asyncio.create_task(reader.readline())
    await asyncio.sleep(0)
    assert not pending.done()  # half a line: it waits for the rest
    os.write(write_fd, b"ld\nlast")
    assert await pending == "world\n"
    os.close(write_fd)
    assert await reader.readline() == "last"
    assert await reader.readline() == ""


async def test_a_read_waiting_on_an_open_pipe_is_cancelled_at_once(pipe) -> None:
    stream, _write_fd = pipe
    read = asyncio.create_task(LineReader(stream).readline())
    await asyncio.sleep(0)
    read.cancel()
    done, _ = await asyncio.wait([read], timeout=5)
    assert read in done and read.cancelled()


@pytest.fixture
def script(tmp_path) -> Iterator[IO[str]]:
    path = tmp_path / "script.txt"
    path.write_text("one\ntwo\n")
    with path.open(encoding="utf-8") as stream:
        yield stream


async def test_a_file_and_an_in_memory_stream_are_read_directly(script) -> None:
    reader = LineReader(script)  # ``steward run < script.txt``: a regular file, which the loop cannot watch
    assert [await reader.readline() for _ in range(3)] == ["one\n", "two\n", ""]
    memory = LineReader(io.StringIO("a\n"))
    assert await memory.readline() == "a\n" and await memory.readline() == ""
