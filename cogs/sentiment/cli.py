"""``steward feedback ...``: the feedback store from the command line.

* ``steward feedback export [--agent A] [--since WHEN] [--until WHEN] [--out FILE]`` writes one JSON object per
  line (id, at, time, agent, reward, source, room, users, context), oldest first: the format training pipelines
  read. ``--out`` is written to a temporary file and renamed, so a reader never sees half an export.
* ``steward feedback summary AGENT [--since WHEN] [--json]`` prints the agent's counts and mean rewards, by source
  and by day.

WHEN is an ISO date or time (UTC unless it names a zone), epoch seconds, or an age such as ``7d``, ``12h``,
``30m``. The database is the one named in the config (``--config``, else ``STEWARD_CONFIG``, ``steward.toml`` or
``config.toml``), or ``--db``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import ConfigError, load_settings
from storage.db import Database
from storage.feedback import FeedbackStore

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


class UsageError(Exception):
    pass


def parse_when(text: str, *, now: float | None = None) -> float:
    """Epoch seconds for ``7d`` (ago), ``2026-11-01``, ``2026-11-01T12:00:00+01:00`` or ``1700000000``."""
    value = text.strip()
    age = _AGE.match(value)
    if age:
        return (time.time() if now is None else now) - float(age.group(1)) * _UNIT[age.group(2).lower()]
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"cannot read {text!r} as a time: use 2026-11-01, 2026-11-01T12:00, 1700000000 or 7d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feedback = subparsers.add_parser("feedback", help="agents' feedback: export it for training, summarise it")
    sub = feedback.add_subparsers(dest="feedback_command", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--config", type=Path, default=None, help="TOML config file naming the database")
        parser.add_argument("--db", type=Path, default=None, help="the database file (instead of the config's)")
        parser.add_argument("--since", default=None, help="only events at or after WHEN (date, time, epoch, 7d)")
        parser.add_argument("--until", default=None, help="only events before WHEN")

    export = sub.add_parser("export", help="write feedback events as JSON lines")
    common(export)
    export.add_argument("--agent", default=None, help="only this agent's events")
    export.add_argument("--out", default="-", help="output file ('-': standard output)")
    export.set_defaults(func=cmd_export)

    summary = sub.add_parser("summary", help="an agent's feedback in numbers")
    common(summary)
    summary.add_argument("agent")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(func=cmd_summary)


def _database_path(args: argparse.Namespace) -> Path:
    if args.db is not None:
        path = args.db
    else:
        config = args.config
        if config is None:
            from bot.cli import default_config_path

            config = default_config_path()
        path = load_settings(config).database.path
    if not Path(path).exists():
        raise UsageError(f"no database at {path}")
    return Path(path)


def _window(args: argparse.Namespace) -> tuple[float | None, float | None]:
    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until) if args.until else None
    return since, until


def _run(args: argparse.Namespace, job: Any) -> int:
    try:
        path = _database_path(args)
        window = _window(args)
        code: int = asyncio.run(job(path, *window))
        return code
    except (UsageError, ConfigError) as exc:
        print(f"steward feedback: {exc}", file=sys.stderr)
        return 2


def cmd_export(args: argparse.Namespace) -> int:
    async def job(path: Path, since: float | None, until: float | None) -> int:
        async with Database(path) as db:
            store = FeedbackStore(db)
            await store.migrate()
            if args.out == "-":
                count = await _write(store, sys.stdout, args.agent, since, until)
                where = "standard output"
            else:
                out = Path(args.out)
                tmp = out.with_name(f".{out.name}.tmp")
                with tmp.open("w", encoding="utf-8") as fh:
                    count = await _write(store, fh, args.agent, since, until)
                os.replace(tmp, out)
                where = str(out)
        print(f"exported {count} feedback events to {where}", file=sys.stderr)
        return 0

    return _run(args, job)


async def _write(store: FeedbackStore, fh: Any, agent: str | None, since: float | None, until: float | None) -> int:
    count = 0
    async for row in store.export(agent=agent, since=since, until=until):
        fh.write(json.dumps(row.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    fh.flush()
    return count


def cmd_summary(args: argparse.Namespace) -> int:
    from cogs.sentiment.commands import format_summary

    async def job(path: Path, since: float | None, until: float | None) -> int:
        async with Database(path) as db:
            store = FeedbackStore(db)
            await store.migrate()
            summary = await store.summary(args.agent, since=since, until=until)
        if args.json:

            def tally(t: Any) -> dict[str, Any]:
                return {"count": t.count, "mean": t.mean, "positive": t.positive, "negative": t.negative}

            print(
                json.dumps(
                    {
                        "agent": summary.agent,
                        "total": tally(summary.total),
                        "first_at": summary.first_at,
                        "last_at": summary.last_at,
                        "by_source": {k: tally(v) for k, v in summary.by_source.items()},
                        "by_day": {day: tally(t) for day, t in summary.by_day},
                    },
                    sort_keys=True,
                )
            )
        else:
            print(format_summary(summary))
        return 0 if summary.total.count else 1

    return _run(args, job)
