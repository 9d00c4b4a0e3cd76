"""Conversation and presence at scale: CPU a message, and memory a room, as registered agents and rooms grow.

    python benchmarks/conversation_scale_bench.py [--agents 100] [--rooms 200] [--messages 4000] [--seed 7]
        [--cogs presence,conversation] [--memory] [--profile out.txt]

Runs a real StewardApp (core plus the cogs named, SQLite in a temporary directory, an adapter that performs every
action at once and a manual clock) with ``--agents`` registered agents, each with a display name of two words, a
platform user id and two topic keywords (one a phrase) through the presence cog's agent settings. The feed is
generated from ``--seed``: people (70%) who name agents, mention them, reply, raise action items, ask questions and
talk about agents' topics; agents (30%) answering through ``AgentPublisher.submit`` (every gate and holder). It
prints messages per CPU-second of the feed (``time.process_time``), p50/p99 a message for people and agents, and a
SHA-256 over everything decided (each agent message's verdict, rule and reason; each action the adapter
performed; the conversation moderator's audit log), so two trees can be compared on the same feed. ``--memory``
measures the Python heap the rooms' state takes (tracemalloc, after the feed, divided by the rooms).

The script imports only the project, so it runs against any tree: ``PYTHONPATH=<tree> python <this file>``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bot.actions import Action, ActionResult
from bot.adapter import Adapter
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import load_settings
from bot.events import MessageCreated, MessageScored, TrendShifted
from bot.logging import configure_logging
from domain import Actor, ActorKind, Room

PEOPLE = [f"person{i}" for i in range(40)]
PLAIN = (
    "morning, what is on the plan today?",
    "I think the second option is simpler",
    "the deploy failed again, should we roll back",
    "ok, sounds good to me",
    "can someone take a look at the flaky test",
    "TODO: write the migration for the invoices table",
    "we need to ship this by friday",
    "does anyone know why the cache is cold?",
)


class SinkAdapter(Adapter):
    """Performs every action at once and remembers what it did (for the digest)."""

    platform = "bench"

    def __init__(self) -> None:
        super().__init__()
        self.performed: list[str] = []

    def supports(self, action: Action) -> bool:
        return True

    async def perform(self, action: Action) -> ActionResult:
        self.performed.append(f"{type(action).__name__}|{getattr(action, 'text', '')}")
        return ActionResult(ok=True, message_id=f"p{len(self.performed)}")


def agent_names(count: int) -> list[str]:
    return [f"agent{i:05d}" for i in range(count)]


def _human_text(rng: random.Random, agents: list[str]) -> tuple[str, tuple[str, ...]]:
    roll = rng.random()
    agent = rng.choice(agents)
    index = int(agent[5:])
    if roll < 0.15:
        return f"{agent}, what do you think about this?", ()
    if roll < 0.25:
        return f"hey Agent {index} can you help", ()
    if roll < 0.32:
        return "thoughts on this?", (f"U{index:06d}",)
    if roll < 0.45:
        agent = rng.choice(agents[-3:])  # a few agents' topics come up often: enough to invite them
        return f"we should look at topic{int(agent[5:])} again, and the area {int(agent[5:])} plan", ()
    return rng.choice(PLAIN), ()


async def _setup(app: StewardApp, agents: list[str]) -> None:
    rows = [
        (name, "bench", f"owner-of-{name}", f"Agent {int(name[5:])}", "managed", f"U{int(name[5:]):06d}", None, 1.0)
        for name in agents
    ]
    await app.db.executemany(
        "INSERT INTO agents (name, platform, owner_id, display_name, kind, platform_user_id, avatar_url, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if "presence" in app.cogs.cogs:
        settings = [(name, f'["topic{int(name[5:])}", "area {int(name[5:])}"]') for name in agents]
        await app.db.executemany(
            "INSERT INTO agent_settings (agent, invitation_policy, approval_mode, message_approval, max_rooms, "
            "join_cooldown_seconds, topics, updated_at) VALUES (?, 'any_user', 'auto', 'none', 50, 0, ?, 1.0)",
            settings,
        )


async def _feed(app: StewardApp, clock: ManualClock, args: argparse.Namespace) -> dict[str, list[float]]:
    rng = random.Random(args.seed)
    agents = agent_names(args.agents)
    rooms = [Room("bench", f"s{i % 8}", f"c{i}") for i in range(args.rooms)]
    last: dict[str, tuple[str, Actor]] = {}
    cost: dict[str, list[float]] = {"human": [], "agent": []}
    for n in range(args.messages):
        clock.advance(rng.choice((0.05, 0.2, 0.6)))
        room = rooms[rng.randrange(len(rooms))]
        previous = last.get(room.key)
        if rng.random() < 0.3:
            agent = rng.choice(agents[: max(3, len(agents) // 50)])
            reply = previous[0] if previous is not None and rng.random() < 0.5 else None
            t0 = time.process_time()
            await app.publisher.submit(agent, room, f"{agent} answers: {rng.choice(PLAIN)}", reply_to=reply)
            cost["agent"].append(time.process_time() - t0)
            continue
        author = Actor("bench", rng.choice(PEOPLE), ActorKind.HUMAN)
        text, mentions = _human_text(rng, agents)
        replied = previous if previous is not None and rng.random() < 0.3 else None
        event = MessageCreated(
            at=clock.now(),
            room=room,
            message_id=f"m{n}",
            author=author,
            text=text,
            mentions=mentions,
            reply_to=replied[0] if replied else None,
            reply_to_author=replied[1] if replied else None,
        )
        last[room.key] = (event.message_id, author)
        t0 = time.process_time()
        await app.bus.dispatch(event)
        cost["human"].append(time.process_time() - t0)
        await _scores(app, rng, event)
    return cost


async def _scores(app: StewardApp, rng: random.Random, event: MessageCreated) -> None:
    """What the toxicity model and the sentiment cog would say of some messages (heated ones, a souring mood), so
    the conflict rules have something to read."""
    roll = rng.random()
    if roll < 0.25:
        value = rng.choice((0.05, 0.2, 0.7, 0.9))
        scored = MessageScored(
            at=event.at, room=event.room, message_id=event.message_id, author=event.author, scores={"toxicity": value}
        )
        await app.bus.dispatch(scored)
    elif roll < 0.27:
        metric, before, after = rng.choice((("sentiment", 0.3, -0.3), ("anger", 0.1, 0.6), ("sentiment", 0.1, 0.0)))
        await app.bus.dispatch(TrendShifted(at=event.at, room=event.room, metric=metric, before=before, after=after))


async def _actions(app: StewardApp) -> str:
    """The conversation moderator's actions by kind and signal (how much of the feed acted)."""
    if "conversation" not in app.cogs.cogs:
        return ""
    rows = await app.db.fetchall(
        "SELECT action, signal, outcome, COUNT(*) AS n FROM conversation_audit GROUP BY action, signal, outcome"
    )
    return ",".join(f"{r['action']}/{r['signal']}/{r['outcome']}:{r['n']}" for r in rows)


async def _digest(app: StewardApp, adapter: SinkAdapter) -> str:
    h = hashlib.sha256()
    for row in await app.db.fetchall("SELECT agent, room, verdict, rule, reason FROM decisions ORDER BY id"):
        h.update(repr(tuple(row)).encode())
    for line in adapter.performed:
        h.update(line.encode())
    if "conversation" in app.cogs.cogs:
        rows = await app.db.fetchall(
            "SELECT room, action, params, signal, evidence, reason, outcome FROM conversation_audit ORDER BY id"
        )
        for row in rows:
            h.update(repr(tuple(row)).encode())
    return h.hexdigest()


_COG_FILES = {
    "conversation": ("/cogs/conversation/", "/policy/conversation"),
    "presence": ("/cogs/presence/", "/policy/presence", "/policy/impersonation"),
}


def _kept_by_cog(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    """The memory still held that each cog's code allocated (by the innermost frame of the project's code)."""
    kept = dict.fromkeys(_COG_FILES, 0)
    for stat in snapshot.statistics("traceback"):
        for frame in stat.traceback:
            cog = next((c for c, parts in _COG_FILES.items() if any(p in frame.filename for p in parts)), None)
            if cog is not None:
                kept[cog] += stat.size
                break
    return kept


def _write_profile(profiler: cProfile.Profile, path: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(30)
    Path(path).write_text(out.getvalue())


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging("ERROR", "json")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": str(Path(tmp) / "bench.db")},
                "http": {"enabled": False},
                "logging": {"level": "ERROR"},
                "cogs": {"enabled": [c for c in args.cogs.split(",") if c]},
            }
        )
        clock = ManualClock(1_800_000_000.0)
        adapter = SinkAdapter()
        app = StewardApp(settings, adapters=[adapter], clock=clock, http=False)
        await app.start()
        try:
            await _setup(app, agent_names(args.agents))
            if "conversation" in app.cogs.cogs:
                await app.cogs.cogs["conversation"].rooms.refresh_agents(force=True)
            gc.collect()
            profiler = cProfile.Profile() if args.profile else None
            if args.memory:
                tracemalloc.start(8)
            before = tracemalloc.get_traced_memory()[0] if args.memory else 0
            started = time.process_time()
            if profiler is not None:
                profiler.enable()
            cost = await _feed(app, clock, args)
            if profiler is not None:
                profiler.disable()
            cpu = time.process_time() - started
            heap, kept = 0, {}
            if args.memory:
                gc.collect()
                heap = tracemalloc.get_traced_memory()[0] - before
                kept = _kept_by_cog(tracemalloc.take_snapshot())
                tracemalloc.stop()
            digest = await _digest(app, adapter)
            actions = await _actions(app)
            rooms_seen = len(app.cogs.cogs["conversation"].rooms.states) if "conversation" in app.cogs.cogs else 0
        finally:
            await app.stop()
    if profiler is not None:
        _write_profile(profiler, args.profile)
    people, agents = cost["human"], cost["agent"]
    return {
        "agents": args.agents,
        "rooms": args.rooms,
        "messages": args.messages,
        "messages_per_cpu_second": round(args.messages / cpu, 1),
        "person_p50_ms": round(statistics.median(people) * 1000, 3),
        "person_p99_ms": round(_pct(people, 0.99) * 1000, 3),
        "agent_p50_ms": round(statistics.median(agents) * 1000, 3) if agents else 0.0,
        "agent_p99_ms": round(_pct(agents, 0.99) * 1000, 3),
        "heap_bytes_per_room": round(heap / args.rooms) if args.memory else None,
        **{f"{cog}_bytes_per_room": round(size / args.rooms) for cog, size in kept.items()},
        "conversation_rooms": rooms_seen,
        "actions": actions,
        "digest": digest,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cogs", default="presence,conversation")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--profile", default="")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
