"""``steward replay <file>``: run a recorded conversation (JSONL) through the pipeline and report what it decided.

Registered into the ``steward`` command with ``register(subparsers)``; the replay machinery is imported only when
the command runs. A progress bar (lines done of the transcript's, rate, time left) is drawn on stderr while it
runs, only when stderr is a terminal and ``--quiet`` is not given; stdout carries the summary or the JSON lines.
Ctrl-C stops it cleanly with exit status 130 and a line saying how far it got; a database that another Steward
holds is refused (exit 6), like one that cannot be opened (exit 5): ``docs/operations.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

EXIT_OK = 0
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli import default_config_path

    replay = subparsers.add_parser("replay", help="run a recorded conversation (JSONL) through the pipeline")
    replay.add_argument("file", type=Path)
    replay.add_argument("--config", type=Path, default=default_config_path())
    replay.add_argument("--json", action="store_true", help="one JSON line per decision on stdout")
    replay.add_argument("--db", type=Path, help="database file (default: a new file under data/)")
    replay.add_argument(
        "--quiet", action="store_true", help="no progress bar on stderr (there is none when stderr is not a terminal)"
    )
    replay.add_argument("--log-level", default=None)
    replay.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    from adapters.replay.runner import ReplayRunner
    from adapters.replay.summary import render_summary
    from bot.config import ConfigError, load_settings
    from bot.errors import ExitCode
    from bot.logging import configure_logging

    path: Path = args.file
    if not path.is_file():
        print(f"steward replay: {path} is not a file", file=sys.stderr)
        return EXIT_USAGE
    db_path = args.db or Path("data") / f"replay-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.db"
    try:
        settings = load_settings(args.config, data={"database": {"path": str(db_path)}})
    except ConfigError as exc:
        print(f"steward replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Malformed lines are reported on stderr by the runner itself; the log carries only errors unless asked.
    configure_logging(args.log_level or "ERROR", "json")
    runner = ReplayRunner(settings, as_json=args.json, progress=False if args.quiet else None)
    try:
        summary = asyncio.run(runner.run(path))
    except KeyboardInterrupt:
        # Ctrl-C: the runner has stopped the app (every reported decision is committed); say how far it got.
        of = f" of {runner.total}" if runner.total is not None else ""
        print(
            f"steward replay: interrupted at line {runner.position}{of} ({runner.summary.lines} messages replayed); "
            f"the decisions so far are in {db_path}",
            file=sys.stderr,
        )
        return int(ExitCode.INTERRUPTED)
    if args.json:
        print(
            f"{summary.lines} messages replayed, {len(summary.bad_lines)} malformed; decisions in {db_path}",
            file=sys.stderr,
        )
    else:
        render_summary(summary)
    return EXIT_OK
