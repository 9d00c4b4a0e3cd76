"""The whole-bot benchmark's workload and its run: a generated, seeded mix of traffic through a real StewardApp.

``generate`` makes the traffic: every room opened by one person's message (the fill, so that every room of ``rooms``
is active), then the feed: people and agents talking in a few busy rooms and across all the others, replies to
people and to agents, agents repeating themselves and nearly so, people naming and @-mentioning agents, questions,
action items, filtered words, insults, links, plain bots. ``run`` (in a child process of ``whole_bot_bench``)
starts a StewardApp with the given cogs on a SQLite file in a temporary directory, a manual clock that follows the
traffic's timestamps, and an adapter that performs every action at once; registers ``agents`` agents; and handles
the traffic one message at a time as ``steward replay`` does (a person's message dispatched to every listener, an
agent's through the agent publisher), so the decisions are the same on every run. The scheduler's periodic jobs
(eviction sweeps) and the due durable timers run every ``TICK`` seconds of traffic time, at the same places every
run. What it reports: CPU seconds of the process (``time.process_time``, the database thread included) over the
feed, per message by kind, resident memory before and after, the database's growth, and a SHA-256 of every
decision in order.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import hashlib
import itertools
import json
import pstats
import random
import sqlite3
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

T0 = 1_800_000_000.0  # traffic time of the first message
FILL_STEP = 0.001  # seconds of traffic time between the fill's messages
FEED_STEP = 0.05  # between the feed's (20 messages a second in all)
TICK = 10.0  # seconds of traffic time between runs of the periodic jobs and the due timers
BUSY_ROOMS = 32
PLATFORM = "bench"
WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker "
    "server client latency error timeout retry metric alert dashboard config flag rollout rollback schema index "
    "query table migration backup restore token secret key cert login session user team plan sprint standup "
    "design draft spec proposal budget cost estimate deadline launch customer feedback survey report chart graph "
    "today tomorrow yesterday morning later soon maybe thanks great nice sure okay agreed wait hold please sorry "
    "think know need want like looks works fails broke ships runs passes blocks helps love hate awful good bad"
).split()
MOODS = ("this is great, thanks!", "ugh this is awful and broken again", "not bad at all", "I love it :)", "meh")
INSULTS = ("you are such an idiot", "shut up you stupid moron", "what a worthless piece of garbage, idiot")
NAMES = ("nova", "atlas", "scout", "echo", "sage", "pixel", "orbit", "quill", "tally", "relay")


@dataclass(frozen=True, slots=True)
class Line:
    """One message of the traffic. ``reply_to`` is the index of an earlier line of the same room."""

    n: int
    kind: str  # "human", "agent" or "bot"
    room: int
    author: str
    text: str
    at: float
    reply_to: int | None = None
    mentions: tuple[str, ...] = ()


def agent_names(count: int) -> list[str]:
    return [f"{NAMES[i % len(NAMES)]}{i}" for i in range(count)]


class _Generator:
    def __init__(self, rooms: int, agents: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rooms = rooms
        self.names = agent_names(agents)
        self.regulars = [self.rng.sample(self.names, min(3, agents)) for _ in range(rooms)]
        self.lines: list[Line] = []
        self.recent: dict[int, deque[int]] = {}  # per room, its last lines
        self.said: dict[tuple[str, int], str] = {}  # an author's last text in a room

    def words(self, low: int = 4, high: int = 16) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high)))

    def add(self, kind: str, room: int, author: str, text: str, at: float, **extra: Any) -> None:
        line = Line(len(self.lines), kind, room, author, text, at, **extra)
        self.lines.append(line)
        self.recent.setdefault(room, deque(maxlen=8)).append(line.n)
        self.said[(author, room)] = text

    def last_of(self, room: int, kind: str) -> int | None:
        for n in reversed(self.recent.get(room, ())):
            if self.lines[n].kind == kind:
                return n
        return None

    def human(self, room: int, at: float) -> None:
        author = f"u{room % 97}-{self.rng.randrange(6)}"
        roll, agent = self.rng.random(), self.rng.choice(self.regulars[room])
        mentions: tuple[str, ...] = ()
        if roll < 0.03 and (author, room) in self.said:
            text = self.said[(author, room)]  # a person repeating themselves
        elif roll < 0.10:
            text, mentions = f"@{agent} can you {self.words(3, 8)}?", (agent,)
        elif roll < 0.16:
            text = f"{agent} {self.words(3, 10)}"
        elif roll < 0.22:
            text = self.words(3, 10) + "?"
        elif roll < 0.25:
            text = "TODO: " + self.words(3, 8)
        elif roll < 0.33:
            text = self.rng.choice(MOODS)
        elif roll < 0.35:
            text = self.rng.choice(INSULTS)
        elif roll < 0.36:
            text = f"{self.words(3, 6)} darn {self.words(2, 5)}"
        else:
            text = self.words()
        reply = self.last_of(room, "agent") if self.rng.random() < 0.3 else None
        self.add("human", room, author, text, at, reply_to=reply, mentions=mentions)

    def agent(self, room: int, at: float) -> None:
        author = self.rng.choice(self.regulars[room])
        roll = self.rng.random()
        previous = self.said.get((author, room))
        if roll < 0.08 and previous:
            text = previous  # a duplicate
        elif roll < 0.12 and previous:
            text = previous + self.rng.choice((" ok", "!", " (updated)"))  # a near-duplicate
        elif roll < 0.17:
            text = f"@{self.rng.choice(self.names)} {self.words(4, 10)}"
        elif roll < 0.18:
            text = f"@here {self.words(4, 8)}"
        elif roll < 0.20:
            text = f"see https://example.com/{self.rng.randrange(1000)} for {self.words(3, 6)}"
        elif roll < 0.21:
            text = " ".join(self.rng.choices(WORDS, k=250))
        elif roll < 0.22:
            text = self.rng.choice(INSULTS)
        else:
            text = self.words(6, 24)
        pick = self.rng.random()
        reply = self.last_of(room, "human") if pick < 0.5 else self.last_of(room, "agent") if pick < 0.7 else None
        self.add("agent", room, author, text, at, reply_to=reply)

    def room(self, busy: list[int], spread: itertools.count[int]) -> int:
        if self.rng.random() < 0.01:
            busy[self.rng.randrange(len(busy))] = self.rng.randrange(self.rooms)
        if self.rng.random() < 0.3:
            return next(spread) % self.rooms
        return self.rng.choice(busy)


def generate(rooms: int, agents: int, messages: int, seed: int = 7) -> tuple[list[Line], int]:
    """The fill (one person's message in every room) and then ``messages`` lines of feed; returns the lines and
    where the feed starts."""
    gen = _Generator(rooms, agents, seed)
    for room in range(rooms):
        gen.add("human", room, f"u{room % 97}-0", f"morning all, {gen.words(2, 8)}", T0 + room * FILL_STEP)
    start = len(gen.lines)
    begin = T0 + rooms * FILL_STEP + 1.0
    busy = [gen.rng.randrange(rooms) for _ in range(min(BUSY_ROOMS, rooms))]
    spread = itertools.count(gen.rng.randrange(rooms))
    for i in range(messages):
        at, room, roll = begin + i * FEED_STEP, gen.room(busy, spread), gen.rng.random()
        if roll < 0.42:
            gen.agent(room, at)
        elif roll < 0.46:
            gen.add("bot", room, "ci-bot", f"Build #{gen.rng.randrange(10_000)} passed", at)
        else:
            gen.human(room, at)
    return gen.lines, start


# --- the run (in the child process) -------------------------------------------------------------------------------


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
        self.outcomes: Counter[str] = Counter()
        self.next_tick = T0 + TICK
        app.bus.subscribe(ModerationDecision, self._collect, owner="bench", name="bench.collect")

    async def _collect(self, event: Any) -> None:
        self.moderated.append(event)

    def room(self, index: int) -> Any:
        from domain import Room

        return Room(PLATFORM, f"s{index // 50}", f"c{index}")

    async def tick(self, at: float) -> None:
        """The scheduler's periodic jobs and the due timers, at fixed points of traffic time."""
        from apscheduler.triggers.interval import IntervalTrigger

        self.app.clock.set(at)
        if at < self.next_tick:
            return
        self.next_tick = at + TICK
        await self.app.scheduler.fire_due()
        jobs = [j for j in self.app.scheduler.aps.get_jobs() if isinstance(j.trigger, IntervalTrigger)]
        for job in sorted(jobs, key=lambda j: j.id):
            await job.func(*job.args, **job.kwargs)

    async def handle(self, line: Line) -> None:
        await self.tick(line.at)
        before = len(self.adapter.performed)
        self.moderated.clear()
        if line.kind == "agent":
            await self._agent(line)
        else:
            await self._human(line)
        await self.app.bus.join()
        for event in self.moderated:  # what moderation did because of this line (one line at a time: only it)
            self.outcomes[f"{line.kind}:{event.verdict}:{event.rule}"] += 1
            self.digest.update(f"H\x1f{line.n}\x1f{event.verdict}\x1f{event.rule}\x1f{event.log_only}\x1e".encode())
        done = ",".join(type(a).__name__ for a in self.adapter.performed[before:])
        self.digest.update(f"X\x1f{line.n}\x1f{done}\x1e".encode())
        del self.adapter.performed[before:]
        for target in self.forget.pop(line.n, ()):
            self.ids.pop(target, None)

    async def _agent(self, line: Line) -> None:
        reply = self.ids.get(line.reply_to) if line.reply_to is not None else None
        result = await self.app.publisher.submit(
            line.author, self.room(line.room), line.text, reply_to=reply, at=line.at
        )
        self._keep(line.n, result.message_id if result.posted else None)
        d = result.decision
        self.outcomes[f"agent:{d.verdict.value}:{d.rule}"] += 1
        posted = "posted" if result.posted else "held" if result.held else "not posted"
        self.digest.update(f"A\x1f{line.n}\x1f{d.verdict.value}\x1f{d.rule}\x1f{d.text}\x1f{posted}\x1e".encode())

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

    async def _human(self, line: Line) -> None:
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
        adapter = SinkAdapter()
        app = StewardApp(settings, adapters=[adapter], clock=ManualClock(T0), http=False)
        await app.start()
        try:
            app.scheduler.aps.pause()  # the periodic jobs run at fixed points of traffic time instead
            for name in agent_names(spec["agents"]):
                await app.agents.register(AgentRecord(name=name, platform=PLATFORM, owner_id="bench", created_at=T0))
            runner = _Runner(app, adapter, lines)
            db_path = Path(settings.database.path)
            result = await _measure(runner, lines, start, spec, db_path)
        finally:
            await app.stop()
        result["db_bytes_after"] = _db_bytes(db_path)
    result["db_bytes_per_message"] = (result["db_bytes_after"] - result["db_bytes_before"]) / len(lines)
    return result


async def _measure(runner: _Runner, lines: list[Line], start: int, spec: dict[str, Any], db: Path) -> dict[str, Any]:
    gc.collect()
    rss_before, db_before = _rss_bytes(), _db_bytes(db)
    fill_cpu = time.process_time()
    for line in lines[:start]:
        await runner.handle(line)
    fill_cpu = time.process_time() - fill_cpu
    costs: dict[str, list[float]] = {"human": [], "agent": [], "bot": []}
    profiler = cProfile.Profile() if spec.get("profile") else None
    if profiler is not None:
        profiler.enable()
    wall, cpu = time.perf_counter(), time.process_time()
    for line in lines[start:]:
        c0 = time.process_time()
        await runner.handle(line)
        costs[line.kind].append(time.process_time() - c0)
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
        "wall_seconds": wall,
        "per_cpu_second": feed / cpu if cpu else 0.0,
        "mix": {kind: len(values) for kind, values in costs.items()},
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


def _write_profile(profiler: cProfile.Profile, path: str, spec: dict[str, Any]) -> None:
    import io

    out = io.StringIO()
    out.write(f"cProfile of the feed: {json.dumps({k: spec[k] for k in ('cogs', 'rooms', 'agents', 'messages')})}\n")
    for order in ("cumulative", "tottime"):
        out.write(f"\n=== top 40 by {order} ===\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(40)
    Path(path).write_text(out.getvalue())


def child_main(spec_json: str) -> None:
    print(json.dumps(asyncio.run(run(json.loads(spec_json)))))
