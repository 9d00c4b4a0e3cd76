"""Replay stays linear in its length: the timer table is read for what is due, not in full after every line."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.replay import ReplayRunner
from bot.events import MessageCreated

DAY = 86_400.0
START = 1_767_225_600.0


def _transcript(path: Path, lines: int) -> Path:
    with path.open("w") as fh:
        for n in range(lines):
            entry = {"ts": START + 10.0 * n, "room": f"r{n % 7}", "author": f"u{n % 13}", "text": f"note {n}"}
            fh.write(json.dumps(entry) + "\n")
    return path


async def _replay(make_settings, path: Path) -> tuple[int, list[str], int]:
    """Replay ``path`` with a listener that gives every message a durable timer (every fifth due in a minute, the
    others in ten days, so they pile up); the timer rows read, the timers that fired, the lines replayed."""
    runner = ReplayRunner(make_settings(cogs={"enabled": []}), out=io.StringIO(), as_json=True, progress=False)
    scheduler = runner.app.scheduler
    fired: list[str] = []

    async def expire(key: str, payload: Mapping[str, Any]) -> None:
        fired.append(key)

    async def give_timer(event: MessageCreated) -> None:
        later = 60.0 if int(event.message_id.removeprefix("L")) % 5 == 0 else 10 * DAY
        await scheduler.schedule_at("expiry", event.message_id, event.at + later)

    scheduler.register_handler("expiry", expire)
    runner.app.bus.subscribe(MessageCreated, give_timer, owner="test", name="test.timer")
    summary = await runner.run(path)
    return scheduler.timers.rows_read, fired, summary.lines


async def test_timer_reads_grow_linearly_with_the_transcript(make_settings, tmp_path) -> None:
    short_reads, short_fired, short_lines = await _replay(make_settings, _transcript(tmp_path / "a.jsonl", 600))
    (tmp_path / "steward.db").unlink()
    long_reads, long_fired, long_lines = await _replay(make_settings, _transcript(tmp_path / "b.jsonl", 1800))
    assert (short_lines, long_lines) == (600, 1800)
    # Every timer due within the transcript fired, in order, once (the last minute's are still waiting).
    assert long_fired == [f"L{n}" for n in range(5, 1800 - 6, 5)]
    assert short_fired == [f"L{n}" for n in range(5, 600 - 6, 5)]
    # Three times the lines, about three times the rows read (reading the whole table per line: about nine times,
    # over a million rows); each read returns only what is due.
    assert long_reads <= 3 * short_reads + 10
    assert long_reads <= 2 * long_lines


def _replay_on_a_terminal(tmp_path: Path, transcript: Path, *flags: str) -> tuple[list[dict[str, Any]], str]:
    """Run ``steward replay --json`` with stderr on a pseudo-terminal; the JSON lines and what the terminal got."""
    import os
    import pty
    import subprocess
    import sys

    from tests.support import steward_env

    leader, follower = pty.openpty()
    db = tmp_path / f"replay{len(flags)}.db"
    args = [sys.executable, "-m", "bot.cli", "replay", str(transcript), "--json", "--db", str(db), *flags]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower, env=steward_env(), text=True) as proc:
        os.close(follower)
        terminal = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            terminal += chunk
        stdout, _ = proc.communicate(timeout=120)
    os.close(leader)
    assert proc.returncode == 0
    return [json.loads(line) for line in stdout.splitlines()], terminal.decode("utf-8", "replace")


def test_a_terminal_sees_a_progress_bar_unless_quiet_and_stdout_keeps_its_json(tmp_path) -> None:
    transcript = _transcript(tmp_path / "t.jsonl", 40)
    shown, terminal = _replay_on_a_terminal(tmp_path, transcript)
    quiet, quiet_terminal = _replay_on_a_terminal(tmp_path, transcript, "--quiet")
    assert "replaying t.jsonl" in terminal and "lines" in terminal
    assert "replaying" not in quiet_terminal
    # The bar is drawn on stderr only: stdout has one decision per line either way, nothing else.
    assert [r["line"] for r in shown] == [r["line"] for r in quiet] == list(range(1, 41))
    assert "40 messages replayed" in terminal and "40 messages replayed" in quiet_terminal
