"""The whole-bot benchmark's run: its traffic through a real StewardApp, in the child process of a configuration.

``run`` starts a StewardApp with the given cogs on a SQLite file in a temporary directory, a manual clock that
follows the traffic's timestamps, and an adapter that performs every action at once; registers the agents; and
handles the traffic (``whole_bot_traffic``) one message at a time as ``steward replay`` does (a person's message
dispatched to every listener, an agent's through the agent publisher), so the decisions are the same on every run.
With ``concurrency`` above 1, up to that many consecutive messages of distinct rooms are handled at once (each
room's in order); their CPU is then known only together. The scheduler's periodic jobs (eviction sweeps) and the
due durable timers run every ``TICK`` seconds of traffic time, at the same places every run. Reported: CPU seconds
of the process (``time.process_time``, the database's thread included) over the feed and per message by kind,
resident memory before and after, the database's growth, and a SHA-256 of the decisions in order.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import hashlib
import itertools
import json
import pstats
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if "whole_bot_traffic" in sys.modules:  # loaded by path beside this file (from another tree's checkout)
    from whole_bot_traffic import T0, Line, agent_names, generate  # type: ignore[import-not-found]
else:
    from benchmarks.whole_bot_traffic import T0, Line, agent_names, generate

TICK = 10.0  # seconds of traffic time between runs of the periodic jobs and the due timers
PLATFORM = "bench"


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _db_bytes(path: Path) -> int:
    """The database's logical size (pages, the write-ahead log's included), read on a connection of its own."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int(pages) * int(size)


def bench_config(directory: Path, cogs: list[str]) -> dict[str, Any]:
    return {
        "database": {"path": str(directory / "bench.db")},
        "http": {"enabled": False},
        "logging": {"level": "ERROR", "format": "json"},
        "cogs": {"enabled": cogs},
        "toxicity": {"mode": "fast"},  # the offline fast model only: no background load of another model
        "moderator": {"filters": {"words": ["darn", "heck"], "patterns": [r"free\s+crypto", r"bit\.ly/\S+"]}},
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


class _Runner:
    def __init__(self, app: Any, adapter: Any, lines: list[Line]) -> None:
        from bot.events import ModerationDecision

        self.app, self.adapter, self.lines = app, adapter, lines
        # The ids of the messages still to be replied to, and when each may go: the runner's own memory stays
        # flat, so the resident memory that grows is the bot's.
        self.ids: dict[int, str | None] = {}
        self.forget: dict[int, list[int]] = {}
        last_use = {line.reply_to: line.n for line in lines if line.reply_to is not None}
        self.referred = frozenset(last_use)
        for target, n in last_use.items():
            self.forget.setdefault(n, []).append(target)
        self.authors: dict[str, Any] = {}
        for line in lines:
            self.actor(line)
        self.moderated: list[Any] = []
        self.digest = hashlib.sha256()
        self.trace: list[str] | None = None  # each line's record, readable, when asked for (to find where runs part)
        self.outcomes: Counter[str] = Counter()
        self.next_tick = T0 + TICK
        self.long_lived: set[asyncio.Task[Any]] = set(asyncio.all_tasks())  # the app's workers, started with it
        app.bus.subscribe(ModerationDecision, self._collect, owner="bench", name="bench.collect")

    async def _collect(self, event: Any) -> None:
        self.moderated.append(event)

    def room(self, index: int) -> Any:
        from domain import Room

        return Room(PLATFORM, f"s{index // 50}", f"c{index}")

    async def settle(self) -> None:
        """Wait for what the last step set going: the bus's queues and every task it started, so that what they do
        is the step's (a task still running after a second is a worker that lives on: not waited for again)."""
        me = asyncio.current_task()
        while True:
            await self.app.bus.join()
            new = [t for t in asyncio.all_tasks() if t is not me and t not in self.long_lived and not t.done()]
            if not new:
                return
            _done, pending = await asyncio.wait(new, timeout=1.0)
            self.long_lived.update(pending)

    async def tick(self, at: float, n: int) -> None:
        """The scheduler's periodic jobs and the due timers, at fixed points of traffic time (before line ``n``)."""
        from apscheduler.triggers.interval import IntervalTrigger

        self.app.clock.set(at)
        if at < self.next_tick:
            return
        self.next_tick = at + TICK
        before = len(self.adapter.performed)
        self.moderated.clear()
        await self.app.scheduler.fire_due()
        jobs = [j for j in self.app.scheduler.aps.get_jobs() if isinstance(j.trigger, IntervalTrigger)]
        for job in sorted(jobs, key=lambda j: j.id):
            await job.func(*job.args, **job.kwargs)
        await self.settle()
        notes = sorted(f"H\x1f{e.verdict}\x1f{e.rule}\x1f{e.log_only}" for e in self.moderated)
        kinds = sorted(type(a).__name__ for a in self.adapter.performed[before:])
        del self.adapter.performed[before:]
        self._record(f"T{n}\x1f\x1e{chr(0x1E).join(notes)}\x1eX\x1f{','.join(kinds)}\x1e")

    def _record(self, record: str) -> None:
        self.digest.update(record.encode())
        if self.trace is not None:
            self.trace.append(record.replace("\x1f", " | ").replace("\x1e", " ;; "))

    async def handle(self, chunk: list[Line]) -> None:
        """Handle lines of distinct rooms together (one line: exactly as a replay does), then hash, in order, what
        each line decided and caused: the moderation decisions and the kinds of actions of its room (each as a
        set: listeners of one message run concurrently, so the order among them is not a decision)."""
        before = len(self.adapter.performed)
        self.moderated.clear()
        if len(chunk) == 1:
            notes = [await self._one(chunk[0])]
        else:
            notes = list(await asyncio.gather(*(self._one(line) for line in chunk)))
        await self.settle()
        where = {self.room(line.room).key: i for i, line in enumerate(chunk)}
        caused: list[list[str]] = [[] for _ in chunk]
        for event in self.moderated:
            i = where.get(event.room.key, 0)
            self.outcomes[f"{chunk[i].kind}:{event.verdict}:{event.rule}"] += 1
            caused[i].append(f"H\x1f{event.verdict}\x1f{event.rule}\x1f{event.log_only}")
        kinds: list[list[str]] = [[] for _ in chunk]
        for action in self.adapter.performed[before:]:
            room = getattr(action, "room", None)
            kinds[where.get(room.key, 0) if room is not None else 0].append(type(action).__name__)
        del self.adapter.performed[before:]
        for line, note, mine, done in zip(chunk, notes, caused, kinds, strict=True):
            self._record(f"{line.n}\x1f{note}\x1e{chr(0x1E).join(sorted(mine))}\x1eX\x1f{','.join(sorted(done))}\x1e")
            for target in self.forget.pop(line.n, ()):
                self.ids.pop(target, None)

    async def _one(self, line: Line) -> str:
        return await (self._agent(line) if line.kind == "agent" else self._human(line))

    async def _agent(self, line: Line) -> str:
        reply = self.ids.get(line.reply_to) if line.reply_to is not None else None
        room = self.room(line.room)
        result = await self.app.publisher.submit(line.author, room, line.text, reply_to=reply, at=line.at)
        self._keep(line.n, result.message_id if result.posted else None)
        d = result.decision
        self.outcomes[f"agent:{d.verdict.value}:{d.rule}"] += 1
        posted = "posted" if result.posted else "held" if result.held else "not posted"
        return f"A\x1f{d.verdict.value}\x1f{d.rule}\x1f{d.text}\x1f{posted}"

    def _keep(self, n: int, message_id: str | None) -> None:
        if message_id is not None and n in self.referred:
            self.ids[n] = message_id

    def actor(self, line: Line) -> Any:
        from domain import Actor, ActorKind

        found = self.authors.get(line.author)
        if found is None:
            kind = {"human": ActorKind.HUMAN, "agent": ActorKind.AGENT, "bot": ActorKind.BOT}[line.kind]
            found = self.authors[line.author] = Actor(PLATFORM, line.author, kind, line.author)
        return found

    async def _human(self, line: Line) -> str:
        from bot.events import MessageCreated

        message_id = f"m{line.n}"
        self._keep(line.n, message_id)
        reply = self.ids.get(line.reply_to) if line.reply_to is not None else None
        reply_author = self.actor(self.lines[line.reply_to]) if line.reply_to is not None and reply else None
        event = MessageCreated(
            at=line.at,
            room=self.room(line.room),
            message_id=message_id,
            author=self.actor(line),
            text=line.text,
            reply_to=reply,
            reply_to_author=reply_author,
            mentions=line.mentions,
        )
        await self.app.bus.dispatch(event)
        return "P"


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    """One configuration (``spec``: cogs, rooms, agents, messages, seed, profile) through a fresh app."""
    from bot.actions import Action, ActionResult
    from bot.adapter import Adapter
    from bot.app import StewardApp
    from bot.clock import ManualClock
    from bot.config import load_settings
    from bot.logging import configure_logging
    from storage.core import AgentRecord

    class SinkAdapter(Adapter):
        """Performs every action at once (a posted message gets a fresh id); the runner reads and forgets them."""

        platform = PLATFORM

        def __init__(self) -> None:
            super().__init__()
            self.counter = itertools.count(1)
            self.performed: list[Action] = []

        def supports(self, action: Action) -> bool:
            return True

        async def perform(self, action: Action) -> ActionResult:
            self.performed.append(action)
            return ActionResult(ok=True, message_id=f"p{next(self.counter)}")

        def health(self) -> dict[str, Any]:
            return {"up": True}

    lines, start = generate(spec["rooms"], spec["agents"], spec["messages"], spec["seed"])
    with tempfile.TemporaryDirectory(prefix="steward-wholebot-") as tmp:
        settings = load_settings(data=bench_config(Path(tmp), spec["cogs"]))
        configure_logging("ERROR", "json")
        # The deployment's agents are registered before the bot under test starts, as they would have been long
        # before (a cog that reads the roster at start and refreshes it now and then must see them all at once).
        setup = StewardApp(settings, adapters=[SinkAdapter()], clock=ManualClock(T0), http=False)
        await setup.start()
        try:
            for name in agent_names(spec["agents"]):
                await setup.agents.register(AgentRecord(name=name, platform=PLATFORM, owner_id="bench", created_at=T0))
        finally:
            await setup.stop()
        adapter = SinkAdapter()
        app = StewardApp(settings, adapters=[adapter], clock=ManualClock(T0), http=False)
        await app.start()
        try:
            app.scheduler.aps.pause()  # the periodic jobs run at fixed points of traffic time instead
            runner = _Runner(app, adapter, lines)
            runner.trace = [] if spec.get("trace") else None
            db_path = Path(settings.database.path)
            result = await _measure(runner, lines, start, spec, db_path)
        finally:
            await app.stop()
        result["db_bytes_after"] = _db_bytes(db_path)
    if runner.trace is not None:
        result["trace"] = runner.trace
    result["db_bytes_per_message"] = (result["db_bytes_after"] - result["db_bytes_before"]) / len(lines)
    return result


async def _measure(runner: _Runner, lines: list[Line], start: int, spec: dict[str, Any], db: Path) -> dict[str, Any]:
    gc.collect()
    rss_before, db_before = _rss_bytes(), _db_bytes(db)
    width = int(spec.get("concurrency", 1))
    fill, feed_chunks = chunked(lines[:start], width), chunked(lines[start:], width)
    fill_cpu = time.process_time()
    for chunk in fill:
        await runner.tick(chunk[-1].at, chunk[0].n)
        await runner.handle(chunk)
    fill_cpu = time.process_time() - fill_cpu
    costs: dict[str, list[float]] = {"human": [], "agent": [], "bot": []}
    # The event loop's thread only, in CPU time: where the loop spends what it cannot give to another message.
    profiler = cProfile.Profile(time.thread_time) if spec.get("profile") else None
    if profiler is not None:
        profiler.enable()
    wall, cpu, periodic = time.perf_counter(), time.process_time(), 0.0
    for chunk in feed_chunks:
        c0 = time.process_time()
        await runner.tick(chunk[-1].at, chunk[0].n)  # the sweeps count in the throughput, not in any one message's cost
        c1 = time.process_time()
        await runner.handle(chunk)
        periodic += c1 - c0
        if len(chunk) == 1:  # a message's own cost is known only when it ran alone
            costs[chunk[0].kind].append(time.process_time() - c1)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.disable()
        _write_profile(profiler, spec["profile"], spec)
    gc.collect()
    rss_after = _rss_bytes()
    feed = len(lines) - start
    human, agent = costs["human"], costs["agent"]
    mean_h = sum(human) / max(1, len(human))
    mean_a = sum(agent) / max(1, len(agent))
    return {
        "cogs": spec["cogs"],
        "rooms": spec["rooms"],
        "agents": spec["agents"],
        "messages": feed,
        "fill_messages": start,
        "fill_per_cpu_second": start / fill_cpu if fill_cpu else 0.0,
        "cpu_seconds": cpu,
        "periodic_cpu_seconds": periodic,
        "wall_seconds": wall,
        "per_cpu_second": feed / cpu if cpu else 0.0,
        "concurrency": width,
        "mix": {kind: sum(line.kind == kind for line in lines[start:]) for kind in ("human", "agent", "bot")},
        "human_p50_ms": _percentile(human, 0.5) * 1e3,
        "human_p99_ms": _percentile(human, 0.99) * 1e3,
        "agent_p50_ms": _percentile(agent, 0.5) * 1e3,
        "agent_p99_ms": _percentile(agent, 0.99) * 1e3,
        "human_mean_ms": mean_h * 1e3,
        "agent_mean_ms": mean_a * 1e3,
        "agent_to_person": mean_a / mean_h if mean_h else 0.0,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "bytes_per_room": (rss_after - rss_before) / max(1, spec["rooms"]),
        "db_bytes_before": db_before,
        "outcomes": dict(runner.outcomes.most_common()),
        "digest": runner.digest.hexdigest(),
    }


def chunked(lines: list[Line], width: int) -> list[list[Line]]:
    """Consecutive lines in groups of at most ``width`` with no room twice (each room's lines stay in order)."""
    chunks: list[list[Line]] = []
    current: list[Line] = []
    rooms: set[int] = set()
    for line in lines:
        if len(current) >= width or line.room in rooms:
            chunks.append(current)
            current, rooms = [], set()
        current.append(line)
        rooms.add(line.room)
    if current:
        chunks.append(current)
    return chunks


def _write_profile(profiler: cProfile.Profile, path: str, spec: dict[str, Any]) -> None:
    import io
    import sysconfig

    out = io.StringIO()
    shown = {k: spec.get(k) for k in ("cogs", "rooms", "agents", "messages", "concurrency")}
    out.write(f"cProfile of the feed, the event loop's thread, CPU seconds (time.thread_time): {json.dumps(shown)}\n")
    for order in ("cumulative", "tottime"):
        out.write(f"\n=== top 40 by {order} ===\n")
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(40)
    text = out.getvalue()
    tree = Path(sys.modules["bot"].__file__ or ".").resolve().parents[1]
    for prefix in (f"{tree}/", f"{sysconfig.get_paths()['purelib']}/", f"{sysconfig.get_paths()['stdlib']}/"):
        text = text.replace(prefix, "")
    Path(path).write_text(text)


def child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    result = asyncio.run(run(spec))
    trace = result.pop("trace", None)
    if trace is not None:
        Path(spec["trace"]).write_text("\n".join(trace) + "\n")
    print(json.dumps(result))
