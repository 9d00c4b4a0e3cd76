"""Memory per active room, for every default cog together, and who holds it.

    python -m benchmarks.room_memory_bench                    # 2,000 rooms, toxicity's default fast model on
    python -m benchmarks.room_memory_bench --rooms 5000 --toxicity off --top 40
    python -m benchmarks.room_memory_bench --json             # the figures as one JSON object

A real ``StewardApp`` (every default cog, SQLite in a temporary directory, a manual clock, an adapter that performs
every action at once and keeps nothing) is fed a few messages in each of ``--rooms`` rooms: people (replies among
them), an agent through the agent publisher (the gates, the decision log, the echo), a reply to the agent, the
same agent again. ``tracemalloc`` counts what stays allocated: a snapshot after a warm-up (rooms that fill every
structure and lazily built table once), another after the measured rooms; the difference divided by the rooms is
the memory an active room costs. Each surviving allocation is charged to the innermost frame of this project that
made it (``cogs/sentiment/windows.py``, ``storage/moderation.py`` ...), so the table says who holds what.

Then the clock moves past every idle setting and each cog's sweep runs: what the rooms held must be given back
(``after eviction``), and each cog must hold no room.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.util
import itertools
import json
import sys
import tempfile
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

# The checkout whose code runs (``PYTHONPATH``), which need not be this file's: the bench can measure another tree.
_BOT = importlib.util.find_spec("bot")
ROOT = Path(_BOT.origin).resolve().parent.parent if _BOT is not None and _BOT.origin else Path.cwd()
T0 = 1_700_000_000.0
BUDGET = 4096  # bytes per active room, every cog together
AGENTS = 20
WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker "
    "server client latency error timeout retry metric alert config flag rollout thanks great nice sure okay "
    "wait please sorry think know need want like looks works fails broke ships runs passes"
).split()
# Project directories whose frames an allocation is charged to (the innermost one of these in its traceback).
OWNERS = ("bot", "cogs", "storage", "policy", "domain", "adapters")


def _config(directory: Path, toxicity: bool) -> dict[str, Any]:
    return {
        "database": {"path": str(directory / "memory.db")},
        "http": {"enabled": False},
        "logging": {"level": "ERROR", "format": "json"},
        "toxicity": {"enabled": toxicity},
    }


class _Feed:
    """What each room is told: people, an agent, a person answering it, the agent again (deterministic)."""

    def __init__(self, seed: int = 11) -> None:
        self.n = itertools.count()
        self.seed = seed

    def text(self, room: int, k: int) -> str:
        words = [WORDS[(room * 7 + k * 13 + i * 5 + self.seed) % len(WORDS)] for i in range(4 + (room + k) % 9)]
        return " ".join(words)


async def _feed_room(app: Any, clock: Any, feed: _Feed, index: int, at: float, messages: int = 6) -> None:
    from bot.events import MessageCreated
    from domain import Actor, ActorKind, Room

    room = Room("mem", f"s{index % 50}", f"c{index}")
    people = [Actor("mem", f"u{index}-{p}", ActorKind.HUMAN, f"user {p}") for p in range(2)]
    agent = f"agent{index % AGENTS}"
    last_human = ""
    for k in range(messages):
        clock.set(at + k)
        if k % 3 == 2:
            await app.publisher.submit(agent, room, feed.text(index, k), at=at + k)
            continue
        message_id = f"m{next(feed.n)}"
        await app.bus.dispatch(
            MessageCreated(
                at=at + k,
                room=room,
                message_id=message_id,
                author=people[k % 2],
                text=feed.text(index, k),
                reply_to=last_human or None,
            )
        )
        last_human = message_id


@functools.cache
def _project_path(filename: str) -> str | None:
    """``filename`` relative to this checkout if it is one of the project's modules, else None."""
    try:
        relative = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return relative.as_posix() if relative.parts and relative.parts[0] in OWNERS else None


def _owner(trace: tracemalloc.Traceback) -> str:
    """The innermost frame of this project in ``trace`` (``cogs/sentiment/windows.py:109``); for an allocation no
    project code made (a callback of the event loop, a worker thread), its innermost frame in brackets."""
    for frame in reversed(trace):  # most recent call last
        found = _project_path(frame.filename)
        if found is not None:
            return f"{found}:{frame.lineno}"
    innermost = trace[-1] if len(trace) else None
    if innermost is None:
        return "(unknown)"
    return f"({Path(innermost.filename).name}):{innermost.lineno}"


def _held(app: Any) -> dict[str, int]:
    """Rooms each cog holds in memory."""
    cogs = app.cogs.cogs
    held = {
        "moderator": cogs["moderator"].state.room_count if "moderator" in cogs else 0,
        "sentiment": len(cogs["sentiment"].windows) if "sentiment" in cogs else 0,
        "conversation": len(cogs["conversation"].rooms.states) if "conversation" in cogs else 0,
    }
    held["overridden_sections"] = len(app.settings._overridden_sections)
    return held


async def _sweep_all(app: Any, clock: Any, feed: _Feed, at: float) -> None:
    """Move the clock past every idle setting, let one message arrive (the moderator's idea of now is the latest
    event it saw) and run each cog's own sweep (what its periodic job does)."""
    await _feed_room(app, clock, feed, 9_999_999, at)
    await app.bus.join()
    cogs = app.cogs.cogs
    if "moderator" in cogs:
        await cogs["moderator"].evict()
    if "sentiment" in cogs:
        await cogs["sentiment"].sweep(at)
    if "conversation" in cogs:
        await cogs["conversation"].sweep()
    await app.bus.join()


def _charge(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> dict[str, int]:
    owners: dict[str, int] = defaultdict(int)
    for stat in after.compare_to(before, "traceback"):
        if stat.size_diff:
            owners[_owner(stat.traceback)] += stat.size_diff
    return dict(owners)


def _by_file(owners: dict[str, int]) -> dict[str, int]:
    files: dict[str, int] = defaultdict(int)
    for where, size in owners.items():
        files[where.rsplit(":", 1)[0]] += size
    return dict(files)


async def measure(
    rooms: int, *, toxicity: bool, messages: int = 6, warmup: int = 200, frames: int = 10
) -> dict[str, Any]:
    from bot.app import StewardApp
    from bot.clock import ManualClock
    from bot.config import load_settings
    from storage.core import AgentRecord
    from tests.support import RecordingAdapter

    class SinkAdapter(RecordingAdapter):
        async def _record(self, action: Any) -> Any:  # performs, keeps nothing
            from bot.actions import ActionResult

            return ActionResult(ok=True, message_id=f"p{next(self._ids)}")

    with tempfile.TemporaryDirectory(prefix="steward-memory-") as tmp:
        settings = load_settings(data=_config(Path(tmp), toxicity))
        clock = ManualClock(T0)
        app = StewardApp(settings, adapters=[SinkAdapter("mem")], clock=clock)
        await app.start()
        try:
            for n in range(AGENTS):
                await app.agents.register(AgentRecord(name=f"agent{n}", platform="mem", owner_id="owner"))
            feed = _Feed()
            at = T0
            for index in range(warmup):
                await _feed_room(app, clock, feed, 1_000_000 + index, at, messages)
                at += 0.01
            await app.bus.join()
            gc.collect()
            tracemalloc.start(frames)
            before = tracemalloc.take_snapshot()
            for index in range(rooms):
                await _feed_room(app, clock, feed, index, at, messages)
                at += 0.01
            await app.bus.join()
            gc.collect()
            after = tracemalloc.take_snapshot()
            held = _held(app)
            await _sweep_all(app, clock, feed, at + 10 * 86_400)
            gc.collect()
            evicted = tracemalloc.take_snapshot()
            tracemalloc.stop()
            held_after = _held(app)
        finally:
            await app.stop()
    owners = _charge(before, after)
    total = sum(owners.values())
    left = _charge(before, evicted)
    remaining = sum(left.values())
    return {
        "rooms": rooms,
        "messages_a_room": messages,
        "toxicity": toxicity,
        "bytes_per_room": total / rooms,
        "budget": BUDGET,
        "after_eviction_bytes_per_room": remaining / rooms,
        "held": held,
        "held_after_eviction": held_after,
        "by_file": {k: v / rooms for k, v in sorted(_by_file(owners).items(), key=lambda kv: -kv[1])},
        "by_line": {k: v / rooms for k, v in sorted(owners.items(), key=lambda kv: -kv[1])},
        "after_eviction_by_line": {k: v / rooms for k, v in sorted(left.items(), key=lambda kv: -kv[1])},
    }


def render(result: dict[str, Any], top: int) -> str:
    lines = [
        f"rooms: {result['rooms']:,}, {result['messages_a_room']} messages each (a third by an agent), "
        f"toxicity {'on' if result['toxicity'] else 'off'}",
        f"memory per active room: {result['bytes_per_room']:,.0f} bytes (budget {result['budget']:,}: "
        + ("met" if result["bytes_per_room"] <= result["budget"] else "MISSED")
        + ")",
        f"after eviction: {result['after_eviction_bytes_per_room']:,.0f} bytes a room still held",
        f"rooms held: {result['held']} -> after eviction {result['held_after_eviction']}",
        "",
        "| file | bytes a room |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:,.0f} |" for k, v in list(result["by_file"].items())[:top] if abs(v) >= 1]
    lines += ["", "| line | bytes a room |", "|---|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in list(result["by_line"].items())[:top] if abs(v) >= 1]
    lines += ["", "| still held after eviction, line | bytes a room |", "|---|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in list(result["after_eviction_by_line"].items())[:top] if abs(v) >= 1]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=6, help="messages a room (60: every window and trend full)")
    parser.add_argument("--toxicity", choices=("on", "off"), default="on")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from bot.logging import configure_logging

    configure_logging("ERROR", "json", stream=sys.stderr)  # the run's own, not a caller's (the tests')
    result = asyncio.run(measure(args.rooms, toxicity=args.toxicity == "on", messages=args.messages))
    print(json.dumps(result, indent=2) if args.json else render(result, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
