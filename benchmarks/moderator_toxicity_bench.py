"""The moderator with the default fast toxicity model: CPU per person's and per agent's message, side by side.

    python benchmarks/moderator_toxicity_bench.py [--messages 6000] [--rounds 3] [--against TREE] [--profile OUT]

Each run is a child process with its own StewardApp (only the toxicity cog, in mode ``fast``, and the moderator;
a SQLite file in a temporary directory; a manual clock that follows the traffic; an adapter that performs every
action at once). The feed is seeded chat: people's messages dispatched on the bus as ``steward replay`` does,
agents' messages through the agent publisher (the gates, the decision log, the echo), in 200 rooms, one message at
a time, a few of them insults. Reported: CPU (``time.process_time``, the inference and database threads included)
per person's and per agent's message, and a SHA-256 over every decision (agents: verdict, rule, text, scores;
people: the actions performed, in order), which must be the same for two trees that decide alike. With
``--against`` the other tree runs in turn with this one, ``--rounds`` times; ``--profile`` writes this tree's
cProfile (top functions by own and cumulative time). It imports only the tree on its path, so it runs from any
checkout: ``PYTHONPATH=TREE python benchmarks/moderator_toxicity_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker "
    "server client latency error timeout retry metric alert config flag rollout schema index query table "
    "today tomorrow thanks great nice sure okay agreed wait please sorry think know need want like looks works"
).split()
INSULTS = ["you are a stupid idiot", "shut up moron", "what a pathetic loser", "this is damn stupid"]


def feed(count: int, seed: int) -> list[tuple[bool, str, str, str]]:
    """(person?, author, room, text), seeded."""
    rng = random.Random(seed)
    out = []
    for number in range(count):
        person = rng.random() < 0.55
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24)))
        text = rng.choice(INSULTS) + " " + words if rng.random() < 0.03 else words
        author = f"u{rng.randrange(300)}" if person else f"agent{rng.randrange(40)}"
        out.append((person, author, f"r{rng.randrange(200)}", f"{text} {number}"))
    return out


async def child(args: dict[str, Any]) -> dict[str, Any]:
    from bot.actions import Action, ActionResult
    from bot.adapter import Adapter
    from bot.app import StewardApp
    from bot.clock import ManualClock
    from bot.config import load_settings
    from bot.events import MessageCreated
    from bot.logging import configure_logging
    from domain import Actor, ActorKind, Room
    from storage.core import AgentRecord

    class Sink(Adapter):
        platform = "bench"

        def __init__(self) -> None:
            super().__init__()
            self.ids = itertools.count(1)
            self.kinds: list[str] = []

        def supports(self, action: Action) -> bool:
            return True

        async def perform(self, action: Action) -> ActionResult:
            self.kinds.append(type(action).__name__)
            return ActionResult(ok=True, message_id=f"p{next(self.ids)}")

        def health(self) -> dict[str, Any]:
            return {"up": True}

    configure_logging("ERROR", "json")
    traffic = feed(args["messages"], args["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": str(Path(tmp) / "bench.db")},
                "http": {"enabled": False},
                "logging": {"level": "ERROR", "format": "json"},
                "cogs": {"enabled": ["toxicity", "moderator"]},
                "toxicity": {"mode": "fast"},
            }
        )
        clock = ManualClock(float(int(time.time())))
        sink = Sink()
        app = StewardApp(settings, adapters=[sink], clock=clock, http=False)
        await app.start()
        for name in sorted({author for person, author, _, _ in traffic if not person}):
            await app.agents.register(AgentRecord(name=name, platform="bench", owner_id="owner"))
        digest = hashlib.sha256()
        cpu: dict[bool, list[float]] = {True: [], False: []}
        profiler = None
        if args.get("profile"):
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for threads
        try:
            for number, (person, author, channel, text) in enumerate(traffic):
                clock.advance(0.7)
                room = Room("bench", "s1", channel)
                before = len(sink.kinds)
                if profiler is not None and number == args["messages"] // 10:
                    profiler.enable()
                started = time.process_time()
                if person:
                    actor = Actor("bench", author, ActorKind.HUMAN, author, frozenset())
                    event = MessageCreated(at=clock.now(), room=room, message_id=f"m{number}", author=actor, text=text)
                    await app.bus.dispatch(event)
                else:
                    result = await app.publisher.submit(author, room, text, at=clock.now())
                    decision = result.decision
                    scores = ",".join(f"{k}={v:.6f}" for k, v in sorted(decision.scores.items()))
                    digest.update(f"{decision.verdict}|{decision.rule}|{decision.text}|{scores}\n".encode())
                cpu[person].append(time.process_time() - started)
                digest.update(("+".join(sink.kinds[before:]) + "\n").encode())
            if profiler is not None:
                profiler.disable()
        finally:
            await app.stop()
    out: dict[str, Any] = {"digest": digest.hexdigest()}
    warm = args["messages"] // 10
    for person, name in ((True, "person"), (False, "agent")):
        values = cpu[person][warm * len(cpu[person]) // args["messages"] :]
        out[f"{name}_us"] = statistics.mean(values) * 1e6
        out[f"{name}_p99_us"] = sorted(values)[int(0.99 * len(values))] * 1e6
    if profiler is not None:
        import pstats

        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        out["profile_text"] = text.getvalue()
    return out


def spawn(tree: Path, args: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, str(HERE), "--child", json.dumps(args)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({tree}):\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, help="another tree, run in turn with this one")
    parser.add_argument("--profile", type=Path, help="write this tree's cProfile here (one extra run)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        options = json.loads(args.child)
        result = asyncio.run(child(options))
        profile = result.pop("profile_text", None)
        if profile is not None:
            Path(options["profile"]).write_text(profile, encoding="utf-8")
        print(json.dumps(result))
        return
    here = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or HERE.parent.parent).resolve()
    common = {"messages": args.messages, "seed": args.seed}
    if args.profile:
        print(json.dumps(spawn(here, dict(common, profile=str(args.profile.resolve())))))
        return
    trees = [("this", here)] + ([("against", args.against.resolve())] if args.against else [])
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in trees}
    for _ in range(args.rounds):
        for name, tree in trees:
            run = spawn(tree, common)
            results[name].append(run)
            print(name, json.dumps(run), file=sys.stderr)
    for name, runs in results.items():
        person = statistics.median(r["person_us"] for r in runs)
        agent = statistics.median(r["agent_us"] for r in runs)
        print(f"{name}: person {person:.0f} us, agent {agent:.0f} us (medians of {len(runs)}); digests "
              f"{sorted({r['digest'][:16] for r in runs})}")  # fmt: skip
    if args.against:
        pairs = list(zip(results["this"], results["against"], strict=True))
        for key in ("person_us", "agent_us"):
            ratios = [b[key] / a[key] for a, b in pairs]
            print(f"{key}: against/this per round {', '.join(f'{x:.2f}' for x in ratios)}")


if __name__ == "__main__":
    main()
