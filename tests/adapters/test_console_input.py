"""The console's input: lines from a pipe are read without a thread, so a stop never waits for the next line."""

from __future__ import annotations

import asyncio
import io
import os

from adapters.console.stdin import LineReader


async def test_lines_from_a_pipe_arrive_whole_and_the_last_one_without_its_newline() -> None:
    read_fd, write_fd = os.pipe()
    with open(read_fd, encoding="utf-8") as stream:
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


async def test_a_read_waiting_on_an_open_pipe_is_cancelled_at_once() -> None:
    read_fd, write_fd = os.pipe()
    try:
        with open(read_fd, encoding="utf-8") as stream:
            read = asyncio.create_task(LineReader(stream).readline())
            await asyncio.sleep(0)
            read.cancel()
            done, _ = await asyncio.wait([read], timeout=5)
            assert read in done and read.cancelled()
    finally:
        os.close(write_fd)


async def test_a_file_and_an_in_memory_stream_are_read_directly(tmp_path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("one\ntwo\n")
    with script.open(encoding="utf-8") as stream:
        reader = LineReader(stream)
        assert [await reader.readline() for _ in range(3)] == ["one\n", "two\n", ""]
    memory = LineReader(io.StringIO("a\n"))
    assert await memory.readline() == "a\n" and await memory.readline() == ""
