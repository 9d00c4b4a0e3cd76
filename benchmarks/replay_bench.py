"""``steward replay`` over a long transcript: CPU per line, from the first lines to the last, with timers waiting.

A deployment's database holds timers that are not due for a while (open invitations, held drafts, suspensions,
scheduled room commands). The replay's clock moves at every line, and each move asks the scheduler what is due.
This bench seeds ``--timers`` such timers (due a year later), generates a transcript (people and agents in 50
rooms, a quarter of the people rude, replies), replays it in a child process whose ``PYTHONPATH`` is a checkout of
Steward, and prints the CPU milliseconds per line for each tenth of the transcript and the timer rows read.
Two checkouts (``--before``, e.g. the main branch's worktree, and this one) run side by side, alternating.

    python -m benchmarks.replay_bench --before /work/main --lines 20000 --timers 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START = 1_767_225_600.0
CALM = "hello plan ship test review deploy great thanks question answer later maybe".split()
RUDE = ("you are an idiot", "shut up you moron", "this is stupid and you are useless", "what a terrible dumb idea")


def write_transcript(path: Path, lines: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    ts = START
    with path.open("w") as fh:
        for i in range(lines):
            ts += rng.uniform(1, 20)
            kind = "agent" if rng.random() < 0.4 else "human"
            author = f"agent{rng.randrange(30)}" if kind == "agent" else f"user{rng.randrange(200)}"
            rude = kind == "human" and rng.random() < 0.25
            text = rng.choice(RUDE) if rude else " ".join(rng.choice(CALM) for _ in range(rng.randint(2, 12)))
            entry: dict[str, Any] = {"ts": ts, "room": f"room{rng.randrange(50)}", "author": author, "kind": kind}
            entry["text"] = text
            if i and rng.random() < 0.5:
                entry["reply_to"] = f"L{rng.randrange(max(1, i - 20), i + 1)}"
            fh.write(json.dumps(entry) + "\n")


async def _child(transcript: Path, timers: int, tenths: int) -> dict[str, Any]:
    from adapters.replay import ReplayRunner
    from bot.config import load_settings
    from bot.logging import configure_logging
    from storage.core import CORE_MIGRATIONS
    from storage.db import Database

    configure_logging("ERROR", "json")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replay.db"
        async with Database(path) as db:
            await db.migrate("core", CORE_MIGRATIONS)
            rows = [("conversation.command", f"seed#{n}", START + 365 * 86_400.0, "{}") for n in range(timers)]
            await db.executemany("INSERT INTO timers (kind, key, due_at, payload) VALUES (?, ?, ?, ?)", rows)
        settings = load_settings(data={"database": {"path": str(path)}, "http": {"enabled": False}})
        runner = ReplayRunner(settings, out=io.StringIO(), as_json=True, progress=False)
        total = sum(1 for _ in transcript.open())
        marks: list[float] = []
        handle = runner._handle

        async def timed(item: Any) -> None:
            if not marks:
                marks.append(time.process_time())  # the app has started: measure from the first line
            await handle(item)
            if item.number % max(1, total // tenths) == 0:
                marks.append(time.process_time())

        runner._handle = timed  # type: ignore[method-assign]
        await runner.run(transcript)
        reads = getattr(runner.app.scheduler.timers, "rows_read", None)
    step = total // tenths
    per_line = [1000 * (b - a) / step for a, b in itertools.pairwise(marks[: tenths + 1])]
    return {"ms_per_line": per_line, "timer_rows_read": reads, "lines": total}


def _run(tree: Path, transcript: Path, timers: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(transcript), "--timers", str(timers)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=tree).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout to compare with (e.g. the main branch's worktree)")
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--timers", type=int, default=2_000, help="timers waiting in the database (due a year on)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.timers, 10))))
        return 0
    trees = {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        transcript = Path(tmp) / "transcript.jsonl"
        write_transcript(transcript, args.lines)
        print(f"{args.lines} lines, {args.timers} timers waiting; CPU ms per line in each tenth of the transcript")
        for round_ in range(1, args.rounds + 1):
            for label, tree in trees.items():
                result = _run(tree, transcript, args.timers)
                tenths = " ".join(f"{ms:5.2f}" for ms in result["ms_per_line"])
                reads = result["timer_rows_read"]
                print(f"round {round_} {label:<6} {tenths}   timer rows read: {reads if reads is not None else '?'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
