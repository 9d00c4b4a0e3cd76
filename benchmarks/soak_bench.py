"""Soak benchmark: does the whole bot's memory level off under a sustained flood?

    python -m benchmarks.soak_bench [--minutes 20] [--rate 10000] [--rooms 1000] [--rotate 250] [--out DIR]
    python -m benchmarks.soak_bench --minutes 1          # a quick check

The parent process starts a second process (this module with ``--child``) that runs a real ``StewardApp`` with
every cog but the toxicity model (whose weights would dwarf the state being measured), a SQLite file in a temporary
directory, the system clock and APScheduler (so eviction runs as the periodic jobs it is), and a platform adapter
that performs every action at once and keeps nothing. The child feeds it ``--rate`` messages a minute: people's
messages published on the bus as an adapter does, agents' messages through the agent publisher (the gates, the
decision log, the echo), a few plain bots. ``--rooms`` rooms are active at any moment, and the active set slides
on by ``--rotate`` rooms a minute, so rooms keep going quiet and must be evicted (the soak config uses short idle
settings). Messages are paced on the wall clock without assuming the bot keeps up: a late message is sent at once,
and the rate achieved is reported.

The parent samples the child's resident memory (``VmRSS`` in ``/proc/<pid>/status``) every 10 s with the child's
progress (messages sent, rooms each cog holds), writes ``soak.csv`` and prints the curve, the slope over the last
10 minutes (or the last half of a shorter run) and whether it levels off. ``docs/memory.md`` holds the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
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

SAMPLE_SECONDS = 10.0
FLAT_MIB_PER_MINUTE = 0.1  # a slope at most this over the last window counts as levelled off
FEED_REMEMBERS = 2_000  # agents' last messages the feed keeps to repeat (the last ~50 s of agents' messages)
WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker "
    "server client latency error timeout retry metric alert dashboard config flag rollout rollback schema index "
    "query table migration backup restore token secret key cert login session user team plan sprint standup "
    "design draft spec proposal budget cost estimate deadline launch customer feedback survey report chart graph "
    "today tomorrow yesterday morning later soon maybe thanks great nice sure okay agreed wait hold please sorry "
    "think know need want like looks works fails broke ships runs passes blocks helps"
).split()


def _soak_config(directory: Path) -> dict[str, Any]:
    """Short idle settings so that rooms which rotate out are evicted within the run."""
    window = {"window_seconds": 60.0}
    return {
        "database": {"path": str(directory / "soak.db")},
        "http": {"enabled": False},
        "logging": {"level": "ERROR", "format": "json"},
        "bus": {"queue_size": 2000},
        "cogs": {"enabled": ["moderator", "sentiment", "presence", "conversation"]},
        "moderator": {
            "duplicate": window,
            "loop": window,
            "escalation": window,
            "state": {"idle_room_seconds": 120.0, "sweep_seconds": 10.0},
        },
        "sentiment": {"idle_evict_seconds": 120.0, "window_seconds": 30.0},
        "conversation": {
            "idle_seconds": 120.0,
            "evict_after_seconds": 120.0,
            "sweep_seconds": 10.0,
            "question_timeout_seconds": 60.0,
            "conflict_window_seconds": 60.0,
            "addressed_window_seconds": 60.0,
            "cooldown_seconds": 60.0,
            "invite_cooldown_seconds": 60.0,
        },
    }


# --- the child: the bot under a flood --------------------------------------------------------------------------


class _Feed:
    """The messages of the soak: who writes where, and what."""

    def __init__(self, rooms: int, rotate_per_minute: float, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rooms = rooms
        self.rotate = rotate_per_minute / 60.0
        self.agents = [f"agent{n}" for n in range(40)]
        self.last_agent_text: dict[tuple[str, int], str] = {}

    def room_index(self, elapsed: float) -> int:
        return int(elapsed * self.rotate) + self.rng.randrange(self.rooms)

    def text(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(4, 16))
        roll = self.rng.random()
        if roll < 0.05:
            return " ".join(words) + "?"
        if roll < 0.06:
            return "TODO: " + " ".join(words)
        return " ".join(words)

    def agent_text(self, agent: str, room: int) -> str:
        """Agents repeat themselves now and then (the duplicate rule's work), else say something new."""
        previous = self.last_agent_text.pop((agent, room), None)
        text = previous if previous is not None and self.rng.random() < 0.1 else self.text()
        self.last_agent_text[(agent, room)] = text
        if len(self.last_agent_text) > FEED_REMEMBERS:  # the feed's own memory stays small and flat
            del self.last_agent_text[next(iter(self.last_agent_text))]
        return text


async def _child(args: argparse.Namespace, config: dict[str, Any]) -> None:
    from bot.actions import Action, ActionResult
    from bot.adapter import Adapter
    from bot.app import StewardApp
    from bot.config import load_settings
    from bot.logging import configure_logging
    from storage.core import AgentRecord

    class SinkAdapter(Adapter):
        """Performs every action at once and keeps nothing (a posted message gets a fresh id)."""

        platform = "soak"

        def __init__(self) -> None:
            super().__init__()
            self.ids = itertools.count(1)
            self.performed = 0

        def supports(self, action: Action) -> bool:
            return True

        async def perform(self, action: Action) -> ActionResult:
            self.performed += 1
            return ActionResult(ok=True, message_id=f"p{next(self.ids)}")

        def health(self) -> dict[str, Any]:
            return {"up": True, "actions": self.performed}

    settings = load_settings(data=config)
    configure_logging("ERROR", "json")
    adapter = SinkAdapter()
    app = StewardApp(settings, adapters=[adapter], http=False)
    await app.start()
    feed = _Feed(args.rooms, args.rotate)
    for name in feed.agents:
        if await app.agents.get(name) is None:
            await app.agents.register(AgentRecord(name=name, platform="soak", owner_id="soak"))
    try:
        await _flood(app, adapter, feed, args)
    finally:
        await app.stop()


async def _flood(app: Any, adapter: Any, feed: _Feed, args: argparse.Namespace) -> None:
    from bot.events import MessageCreated
    from domain import Actor, ActorKind, Room

    per_second = args.rate / 60.0
    started = time.time()
    end = started + args.minutes * 60.0
    counts = {"human": 0, "agent": 0, "bot": 0, "dropped": 0}
    next_report = started
    for n in itertools.count():
        now = time.time()
        if now >= end:
            break
        due = started + n / per_second
        if due > now:
            await asyncio.sleep(due - now)
        if now >= next_report:
            _report(args.status, app, adapter, counts, n, now - started)
            next_report += SAMPLE_SECONDS
        elapsed = time.time() - started
        index = feed.room_index(elapsed)
        room = Room("soak", f"s{index % 20}", f"c{index}")
        roll = feed.rng.random()
        if roll < 0.25:
            agent = feed.rng.choice(feed.agents)
            await app.publisher.submit(agent, room, feed.agent_text(agent, index), at=time.time())
            counts["agent"] += 1
            continue
        kind, name = (ActorKind.BOT, "bot0") if roll < 0.28 else (ActorKind.HUMAN, f"u{feed.rng.randrange(20_000)}")
        author = Actor("soak", name, kind, name)
        event = MessageCreated(at=time.time(), room=room, message_id=f"m{n}", author=author, text=feed.text())
        if not await app.bus.publish(event):
            counts["dropped"] += 1
        counts["bot" if kind is ActorKind.BOT else "human"] += 1
    await app.bus.join()
    _report(args.status, app, adapter, counts, sum(counts[k] for k in ("human", "agent", "bot")), time.time() - started)


def _report(path: str, app: Any, adapter: Any, counts: dict[str, int], sent: int, elapsed: float) -> None:
    health = app.health()["components"]
    conversation = _cog(app, "conversation").rooms
    settings = app.settings
    status = {
        "elapsed": round(elapsed, 1),
        "sent": sent,
        **counts,
        "actions": adapter.performed,
        "pending": app.bus.pending,
        "moderator_rooms": health.get("moderator", {}).get("rooms"),
        "sentiment_rooms": health.get("sentiment", {}).get("rooms"),
        "conversation_rooms": len(conversation.states),
        "conversation_modes": len(conversation.modes),
        "conversation_styles": len(conversation.styles),
        "suspensions": len(app.suspensions),
        "jobs": len(app.scheduler.aps.get_jobs()),
        "agent_messages": len(_cog(app, "sentiment").recorder.agent_messages),
        "shared_sections": len(settings._shared_sections),
        "overridden_sections": len(settings._overridden_sections),
    }
    Path(path + ".tmp").write_text(json.dumps(status))
    os.replace(path + ".tmp", path)


def _cog(app: Any, name: str) -> Any:
    return app.cogs.cogs[name]


# --- the parent: the measurement -------------------------------------------------------------------------------


def _memory_mib(pid: int) -> dict[str, float] | None:
    """The process's resident memory from ``/proc/<pid>/status``: all of it, and its anonymous (heap) and
    file-backed parts, in MiB."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    fields = {"VmRSS:": "rss_mib", "RssAnon:": "anon_mib", "RssFile:": "file_mib"}
    found = {}
    for line in lines:
        name = fields.get(line.split(maxsplit=1)[0] if line else "")
        if name is not None:
            found[name] = round(int(line.split()[1]) / 1024.0, 2)
    return found if "rss_mib" in found else None


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return 60.0 * cov / var if var else 0.0


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(bars[min(7, int((v - low) / span * 8))] for v in values)


def _sample(pid: int, status_path: Path, started: float) -> dict[str, Any] | None:
    memory = _memory_mib(pid)
    if memory is None:
        return None
    row: dict[str, Any] = {"t": round(time.time() - started, 1), **memory}
    try:
        row.update(json.loads(status_path.read_text()))
    except (OSError, ValueError):
        pass
    return row


def _measure(args: argparse.Namespace, out: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="steward-soak-") as tmp:
        directory = Path(tmp)
        config = directory / "soak.json"
        config.write_text(json.dumps(_soak_config(directory)))
        status = directory / "status.json"
        command = [sys.executable, "-m", "benchmarks.soak_bench", "--child", "--config", str(config)]
        command += ["--status", str(status), "--minutes", str(args.minutes), "--rate", str(args.rate)]
        command += ["--rooms", str(args.rooms), "--rotate", str(args.rotate)]
        with (out / "child.log").open("w") as log:
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            started, rows = time.time(), []
            while child.poll() is None:
                row = _sample(child.pid, status, started)
                if row is not None:
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                time.sleep(SAMPLE_SECONDS)
        if child.returncode != 0:
            raise SystemExit(f"the soak process exited with {child.returncode}; see {out / 'child.log'}")
        final = json.loads(status.read_text())
    rows.append({"t": None, **final})  # the child's last words: what it sent in all
    return rows


def _summary(rows: list[dict[str, Any]], minutes: float) -> dict[str, Any]:
    # Only samples taken once the bot runs (the child reports its status from then on).
    samples = [r for r in rows if r.get("t") is not None and r.get("rss_mib") is not None and "sent" in r]
    final = rows[-1]
    tail_from = max(0.0, samples[-1]["t"] - min(600.0, minutes * 30.0))
    tail = [(r["t"], r["rss_mib"]) for r in samples if r["t"] >= tail_from]
    head = [(r["t"], r["rss_mib"]) for r in samples if r["t"] < tail_from]
    slope = _slope(tail)
    per_minute = final["sent"] / final["elapsed"] * 60.0 if final.get("elapsed") else 0.0
    return {
        "minutes": minutes,
        "samples": len(samples),
        "sent": final.get("sent"),
        "achieved_per_minute": round(per_minute),
        "mix": {k: final.get(k) for k in ("human", "agent", "bot", "dropped")},
        "rss_first_mib": samples[0]["rss_mib"],
        "rss_peak_mib": max(r["rss_mib"] for r in samples),
        "rss_last_mib": samples[-1]["rss_mib"],
        "slope_tail_mib_per_min": round(slope, 3),
        "slope_head_mib_per_min": round(_slope(head), 3),
        "tail_seconds": round(samples[-1]["t"] - tail_from),
        # What the tail's growth comes to per message handled (a leak of something per message shows here).
        "tail_bytes_per_message": round(slope * 2**20 / per_minute, 1) if per_minute else None,
        "levels_off": abs(slope) <= FLAT_MIB_PER_MINUTE,
        "rooms_last": {k: samples[-1].get(k) for k in ("moderator_rooms", "sentiment_rooms", "conversation_rooms")},
        "sparkline": sparkline([r["rss_mib"] for r in samples]),
    }


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    samples = [r for r in rows if r.get("t") is not None]
    first = ("t", "rss_mib", "anon_mib", "file_mib")
    fields = sorted({k for r in samples for k in r}, key=lambda k: (k not in first, k))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=10_000.0, help="messages a minute")
    parser.add_argument("--rooms", type=int, default=1000, help="rooms active at any moment")
    parser.add_argument("--rotate", type=float, default=250.0, help="rooms a minute the active set moves on by")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/soak"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--status", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args, json.loads(Path(args.config).read_text())))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    rows = _measure(args, args.out)
    _write_csv(rows, args.out / "soak.csv")
    summary = _summary(rows, args.minutes)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
