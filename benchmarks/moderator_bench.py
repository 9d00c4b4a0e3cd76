"""Moderator benchmark: agent-message decisions through the full rule chain.

    python -m benchmarks.moderator_bench [--rooms 10000] [--agents 1000] [--decisions 200000] [--publisher 2000]

Each decision is what the gate does for one submission: build the context from the room's hot state, run every
rule of the default chain (suspension, cooldown, duplicate with near matching, loop, depth, word and regex filters,
mass mentions, length, toxicity with a scorer present), and, when allowed, record the posted message as its echo
does. Event time advances 1 ms a decision (1,000 messages a second spread over the rooms), texts are drawn from a
vocabulary with repeats, near-repeats, replies to earlier messages, mentions and filtered words, so every rule
both passes and fires. The workload runs twice, each time on a fresh store: once straight through for throughput
(total CPU time of the process, and wall-clock time), once with a timer around each decision for its latency; both
runs must make exactly the same decisions. Memory is the rule state per active room, measured with tracemalloc by
recording the same messages into a third store.

``--publisher N`` also times N submissions through the whole ``AgentPublisher`` (SQLite decision log, recording
adapter, echo on the bus), the end-to-end path of one agent message.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
from array import array
from collections import Counter
from pathlib import Path
from types import MappingProxyType

from bot.config import load_settings
from bot.scoring import ScorerState, TextAssessment
from cogs.moderator.config import ModeratorSettings
from cogs.moderator.service import ModeratorService, NoSuspensions
from domain import Room
from policy.moderation import AuthorKind
from storage.moderation import InMemoryRoomState

WORDS = (
    "the build deploy release queue cache shard index latency error retry timeout budget review merge branch "
    "test coverage docs api key rotate token webhook channel thread reply summary report weekly daily status "
    "green red flaky rollback canary metric alert pager incident postmortem owner team sprint ticket backlog"
).split()


class BenchScorer:
    """A constant-time scorer standing in for the model service, so the benchmark measures the rule chain."""

    state = ScorerState.READY

    async def assess(self, text: str, room: Room, *, agent: bool, waited: float = 0.0) -> TextAssessment:
        toxic = 0.9 if "idiot" in text else 0.01
        scores = MappingProxyType({"toxicity": toxic})
        if toxic < 0.8:
            return TextAssessment(scores=scores)
        return TextAssessment(scores=scores, label="toxicity", action="reject", reason="toxicity 0.90 over 0.80")


def make_texts(rng: random.Random, count: int) -> list[str]:
    texts = []
    for _ in range(count):
        words = rng.choices(WORDS, k=rng.randint(6, 22))
        roll = rng.random()
        if roll < 0.02:
            words.insert(rng.randrange(len(words)), "@here")
        elif roll < 0.04:
            words.insert(rng.randrange(len(words)), "darn")
        elif roll < 0.05:
            words.append("idiot")
        texts.append(" ".join(words).capitalize() + rng.choice([".", "!", "?", ""]))
    return texts


def settings_for_bench():
    return load_settings(
        data={
            "database": {"path": str(Path(tempfile.gettempdir()) / "moderator-bench-unused.db")},
            "http": {"enabled": False},
            "moderator": {"filters": {"words": ["darn", "heck"], "patterns": [r"free\s+crypto", r"bit\.ly/\S+"]}},
        }
    )


async def run_chain(rooms: int, agents: int, decisions: int, seed: int, human_share: float = 0.2) -> dict[str, object]:
    rng = random.Random(seed)
    settings = settings_for_bench()
    top: ModeratorSettings = settings.section("moderator")
    room_list = [Room("bench", f"s{i % 100}", f"c{i}") for i in range(rooms)]
    for room in room_list:  # validate each room's config once, as a running bot has long done
        settings.section("moderator", room)
    agent_names = [f"agent{i}" for i in range(agents)]
    # Each room has a handful of regular agents, as real rooms do.
    room_agents = [rng.sample(agent_names, 4) for _ in range(rooms)]
    pool = make_texts(rng, 5000)
    scorer = BenchScorer()

    def fresh_service() -> tuple[ModeratorService, InMemoryRoomState]:
        state = InMemoryRoomState(
            history_size=top.state.history_size, max_rooms=max(rooms, top.state.max_rooms), idle_seconds=1e9
        )
        service = ModeratorService(
            config=lambda room: settings.section("moderator", room),
            state=state,
            suspensions=NoSuspensions(),
            scorer=lambda: scorer,
        )
        for room in room_list:  # and flatten it into the room's rule plan, which a running bot has long done too
            service.plan(room)
        return service, state

    # Pre-draw the workload so the timed loop measures the moderator only.
    plan = []
    for n in range(decisions):
        r = rng.randrange(rooms)
        agent = rng.choice(room_agents[r])
        roll = rng.random()
        if roll < 0.08:
            text = None  # repeat the room's last text (a duplicate)
        elif roll < 0.12:
            text = "near:"  # the room's last text with a small change
        else:
            text = pool[rng.randrange(len(pool))]
        reply = rng.random() < 0.3
        human = rng.random() < human_share  # a human speaks in the room first (recorded, not timed)
        plan.append((r, agent, text, reply, n, human))

    at0 = 1_800_000_000.0
    perf, cpu = time.perf_counter, time.thread_time

    # Throughput: the workload straight through on a fresh store, with no per-decision timer and no bookkeeping
    # beyond what the workload itself needs (replies and repeats refer to what each room has seen).
    service, state = fresh_service()
    last_message: list[str | None] = [None] * rooms
    recent_text: list[str] = [""] * rooms
    rules_seen: list[str] = []
    gc.collect()
    started, cpu_started = perf(), time.process_time()
    for r, agent, text, reply, n, human in plan:
        room = room_list[r]
        at = at0 + n * 0.001
        if human:
            service.remember_other(room, f"h{n}", at - 0.0005, AuthorKind.HUMAN)
        if text is None:
            text = recent_text[r] or pool[n % len(pool)]
        elif text == "near:":
            text = (recent_text[r] or pool[n % len(pool)]) + " ok"
        reply_to = last_message[r] if reply else None
        context = service.context(room, text, at, reply_to=reply_to)
        decision = await service.evaluate(agent, context)
        if decision.allowed:
            message_id = f"m{n}"
            service.remember_agent(
                room, agent, message_id, at, reply_to=reply_to, payload=context.payload, depth=context.depth
            )
            last_message[r] = message_id
            recent_text[r] = text
        rules_seen.append(decision.rule)
    elapsed, cpu_elapsed = perf() - started, time.process_time() - cpu_started

    # Latency: the same workload again on another fresh store, each decision timed on its own.
    service, state = fresh_service()
    last_message = [None] * rooms
    recent_text = [""] * rooms
    latencies = array("d", bytes(8 * decisions))
    cpu_latencies = array("d", bytes(8 * decisions))
    verdicts: Counter[str] = Counter()
    posted: list[tuple[Room, str, str, float, str | None, object, int]] = []
    humans: list[tuple[Room, str, float, int]] = []
    latency_rules: list[str] = []
    digest = hashlib.sha256()  # every decision in full (verdict, rule, reason, text, scores): what must not change
    gc.collect()
    for r, agent, text, reply, n, human in plan:
        room = room_list[r]
        if human:
            service.remember_other(room, f"h{n}", at0 + n * 0.001 - 0.0005, AuthorKind.HUMAN)
            humans.append((room, f"h{n}", at0 + n * 0.001 - 0.0005, len(posted)))
        if text is None:
            text = recent_text[r] or pool[n % len(pool)]
        elif text == "near:":
            text = (recent_text[r] or pool[n % len(pool)]) + " ok"
        at = at0 + n * 0.001
        reply_to = last_message[r] if reply else None
        t0, c0 = perf(), cpu()
        context = service.context(room, text, at, reply_to=reply_to)
        decision = await service.evaluate(agent, context)
        if decision.allowed:
            message_id = f"m{n}"
            service.remember_agent(
                room, agent, message_id, at, reply_to=reply_to, payload=context.payload, depth=context.depth
            )
            last_message[r] = message_id
            recent_text[r] = text
            posted.append((room, agent, message_id, at, reply_to, context.payload, context.depth))
        cpu_latencies[n] = cpu() - c0
        latencies[n] = perf() - t0
        verdicts[decision.rule] += 1
        latency_rules.append(decision.rule)
        scored = ",".join(f"{k}={v!r}" for k, v in sorted(decision.scores.items()))
        digest.update(f"{decision.verdict.value}\x1f{decision.rule}\x1f{decision.reason}\x1f{decision.text}".encode())
        digest.update(f"\x1f{scored}\x1e".encode())
    assert latency_rules == rules_seen, "both passes must make the same decisions"

    # Memory: record the same posted messages into a fresh store under tracemalloc (tracing slows everything
    # down, so it is kept out of the timed run). What is traced is exactly the rule state the rooms hold.
    fresh = InMemoryRoomState(
        history_size=top.state.history_size, max_rooms=max(rooms, top.state.max_rooms), idle_seconds=1e9
    )
    replica = ModeratorService(
        config=lambda room: settings.section("moderator", room), state=fresh, suspensions=NoSuspensions()
    )
    gc.collect()
    tracemalloc.start()
    # Each room's rule plan is configuration (the settings flattened), not rule state: traced on its own.
    base = tracemalloc.get_traced_memory()[0]
    for room in room_list:
        replica.plan(room)
    plan_bytes = tracemalloc.get_traced_memory()[0] - base
    base = tracemalloc.get_traced_memory()[0]
    pending_humans = iter(humans)
    next_human = next(pending_humans, None)
    for index, (room, agent, message_id, at, reply_to, payload, depth) in enumerate(posted):
        while next_human is not None and next_human[3] <= index:
            replica.remember_other(next_human[0], next_human[1], next_human[2], AuthorKind.HUMAN)
            next_human = next(pending_humans, None)
        replica.remember_agent(room, agent, message_id, at, reply_to=reply_to, payload=payload, depth=depth)
    while next_human is not None:
        replica.remember_other(next_human[0], next_human[1], next_human[2], AuthorKind.HUMAN)
        next_human = next(pending_humans, None)
    traced = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert fresh.room_count == state.room_count
    ordered = sorted(latencies)
    cpu_ordered = sorted(cpu_latencies)
    return {
        "cpu_seconds": cpu_elapsed,
        "per_cpu_second": decisions / cpu_elapsed,
        "cpu_p50_us": cpu_ordered[len(cpu_ordered) // 2] * 1e6,
        "cpu_p99_us": cpu_ordered[int(len(cpu_ordered) * 0.99)] * 1e6,
        "decisions": decisions,
        "rooms": rooms,
        "active_rooms": state.room_count,
        "agents": agents,
        "seconds": elapsed,
        "per_second": decisions / elapsed,
        "p50_us": ordered[len(ordered) // 2] * 1e6,
        "p99_us": ordered[int(len(ordered) * 0.99)] * 1e6,
        "max_us": ordered[-1] * 1e6,
        "mean_us": statistics.fmean(latencies) * 1e6,
        "cpu_mean_us": statistics.fmean(cpu_latencies) * 1e6,
        "bytes_per_room": traced / max(1, state.room_count),
        "plan_bytes_per_room": plan_bytes / max(1, len(room_list)),
        "rules": dict(verdicts.most_common()),
        "history_size": top.state.history_size,
        "digest": digest.hexdigest(),
    }


async def run_publisher(submissions: int, seed: int) -> dict[str, object]:
    from bot.app import StewardApp
    from storage.core import AgentRecord
    from tests.support import RecordingAdapter

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": str(Path(tmp) / "bench.db")},
                "http": {"enabled": False},
                "logging": {"level": "WARNING"},
                "cogs": {"enabled": ["moderator"]},
            }
        )
        app = StewardApp(settings, adapters=[RecordingAdapter()])
        await app.start()
        try:
            for i in range(50):
                await app.agents.register(AgentRecord(name=f"agent{i}", platform="test", owner_id="o"))
            rooms = [Room("test", "s1", f"c{i}") for i in range(200)]
            texts = make_texts(rng, submissions)
            latencies = []
            started = time.perf_counter()
            for text in texts:
                t0 = time.perf_counter()
                await app.publisher.submit(f"agent{rng.randrange(50)}", rooms[rng.randrange(len(rooms))], text)
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - started
        finally:
            await app.stop()
    latencies.sort()
    return {
        "submissions": submissions,
        "per_second": submissions / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--publisher", type=int, default=2_000, help="submissions through the publisher (0: skip)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--human-share", type=float, default=0.2, help="chance a human speaks before a decision")
    args = parser.parse_args()

    from bot.logging import configure_logging

    configure_logging("WARNING", "json")
    calibration = time.thread_time()
    for _ in range(1_000_000):
        pass
    calibration = (time.thread_time() - calibration) * 1e3
    chain = asyncio.run(run_chain(args.rooms, args.agents, args.decisions, args.seed, args.human_share))
    load = os.getloadavg()
    print(
        f"python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} cores, load average "
        f"{load[0]:.1f}), one process; an empty 1M-iteration loop took {calibration:.0f} ms of CPU"
    )
    print(
        f"rule chain: {chain['decisions']:,} decisions, {chain['active_rooms']:,} active rooms, {chain['agents']:,} "
        f"agents, history {chain['history_size']} messages a room"
    )
    print(
        f"  throughput  {chain['per_cpu_second']:,.0f} decisions per CPU second ({chain['cpu_seconds']:.2f} s CPU); "
        f"{chain['per_second']:,.0f} decisions/s wall clock ({chain['seconds']:.2f} s); a run without timers"
    )
    print(
        f"  CPU time    p50 {chain['cpu_p50_us']:.1f} µs, p99 {chain['cpu_p99_us']:.1f} µs, "
        f"mean {chain['cpu_mean_us']:.1f} µs a decision (timed one by one)"
    )
    print(
        f"  wall clock  p50 {chain['p50_us']:.1f} µs, p99 {chain['p99_us']:.1f} µs, mean {chain['mean_us']:.1f} µs, "
        f"max {chain['max_us']:.0f} µs a decision (includes time the process waited for a core)"
    )
    print(
        f"  memory      {chain['bytes_per_room']:,.0f} bytes of rule state per active room; "
        f"{chain['plan_bytes_per_room']:,.0f} bytes a room for its settings' rule plan (configuration)"
    )
    print("  outcomes    " + ", ".join(f"{rule} {count:,}" for rule, count in chain["rules"].items()))
    print(f"  decisions   sha256 {chain['digest']} (verdict, rule, reason, text and scores of every decision)")
    if args.publisher:
        pub = asyncio.run(run_publisher(args.publisher, args.seed))
        print(
            f"publisher end to end (SQLite decision log, echo on the bus): {pub['submissions']:,} submissions, "
            f"{pub['per_second']:,.0f}/s, p50 {pub['p50_ms']:.2f} ms, p99 {pub['p99_ms']:.2f} ms"
        )


if __name__ == "__main__":
    main()
