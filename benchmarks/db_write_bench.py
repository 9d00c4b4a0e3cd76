"""Durable writes per second: the decision log on a real SQLite file, one writer and many at once.

Each workload runs in a child process whose ``PYTHONPATH`` is a checkout of Steward, so two checkouts (``--before``,
e.g. the main branch's worktree, and this one) are measured side by side in the same run, alternating, ``--rounds``
times. Workloads:

- ``serial``: one writer records decisions one after another (a replay, a quiet bot);
- ``rooms``: 32 writers (busy rooms) record at once, each one after another;
- ``agent``: 32 rooms, and each message costs what an agent's does: its decision, then its posted message id.

Reported: rows per second of wall time and CPU milliseconds per row of the child (its whole process: the event
loop and the database thread), and, where the checkout has group commit, the rows per transaction.

    python -m benchmarks.db_write_bench --before /work/main --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("serial", "rooms", "agent")
ROOMS = 32


async def _workload(name: str, rows: int, path: Path) -> dict[str, Any]:
    from domain import Room
    from storage.core import CORE_MIGRATIONS, DecisionLog
    from storage.db import Database

    db = Database(path)
    await db.open()
    await db.migrate("core", CORE_MIGRATIONS)
    log = DecisionLog(db)
    writers = 1 if name == "serial" else ROOMS
    each = rows // writers

    async def writer(w: int) -> None:
        room = Room("bench", "s", f"c{w}")
        for n in range(each):
            decision_id = await log.record(
                at=float(n), room=room, agent=f"a{w}", verdict="approve", rule="pass", reason="no rule objected",
                text=f"message {w} {n}", scores={"toxicity": 0.01},
            )  # fmt: skip
            if name == "agent":
                await log.set_message_id(decision_id, f"m{w}-{n}")

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    group = getattr(db, "group_commit", None)
    commits = group.commits if group is not None else None
    await db.close()
    written = each * writers * (2 if name == "agent" else 1)
    return {
        "rows_per_s": written / wall,
        "cpu_ms_per_row": 1000 * cpu / written,
        "rows_per_commit": (written / commits) if commits else 1.0,
    }


def _child(name: str, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(_workload(name, rows, Path(tmp) / "bench.db"))
    print(json.dumps(result))


def _run(tree: Path, name: str, rows: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", name, "--rows", str(rows)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tree,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="a checkout to compare with (e.g. the main branch's worktree)")
    parser.add_argument("--rows", type=int, default=3200, help="decisions a workload records")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.rows)
        return 0
    trees = {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for name in WORKLOADS:
            for label, tree in trees.items():  # alternating, so load on the machine falls on both alike
                results.setdefault((name, label), []).append(_run(tree, name, args.rows))
    print(f"{args.rows} decisions a workload, {args.rounds} rounds, median (min-max) of rows/s")
    print(f"{'workload':<8} {'tree':<7} {'rows/s':>22} {'CPU ms/row':>11} {'rows/commit':>12}")
    for name in WORKLOADS:
        for label in trees:
            runs = results[(name, label)]
            rates = sorted(r["rows_per_s"] for r in runs)
            cpu = sorted(r["cpu_ms_per_row"] for r in runs)[len(runs) // 2]
            per_commit = sorted(r["rows_per_commit"] for r in runs)[len(runs) // 2]
            span = f"{rates[len(rates) // 2]:,.0f} ({rates[0]:,.0f}-{rates[-1]:,.0f})"
            print(f"{name:<8} {label:<7} {span:>22} {cpu:>11.3f} {per_commit:>12.1f}")
        if len(trees) == 2:
            before = sorted(r["rows_per_s"] for r in results[(name, "before")])[args.rounds // 2]
            after = sorted(r["rows_per_s"] for r in results[(name, "after")])[args.rounds // 2]
            print(f"{name:<8} {'ratio':<7} {after / before:>21.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
