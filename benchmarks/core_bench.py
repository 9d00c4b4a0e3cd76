"""The core's own cost a message: the bus, the publisher, the router, logging and metrics, with listeners that do
nothing, so that what is measured is what the core spends around the cogs.

    python -m benchmarks.core_bench [--messages 4000] [--listeners 5] [--rooms 200] [--agents 40]
    python -m benchmarks.core_bench --against /path/to/other/tree [--repeat 3]   # side by side, alternating

A real ``StewardApp`` (no cog loaded, SQLite in a temporary directory, INFO logging to ``/dev/null``, an adapter
that performs every action at once) gets ``--listeners`` listeners of ``MessageCreated`` that return at once (the
first of them waits once, ``asyncio.sleep(0)``, as a listener that reads the database would), then people's
messages published on the bus and agents' messages submitted through the publisher (no gate: the decision log,
the post, the echo). Reported: CPU per message (``time.process_time``, the database's thread included), people
and agents apart. ``--against`` runs each side in a child process importing that tree, alternately, ``--repeat``
times, and prints the medians and the ratio; the whole bot's figures are ``benchmarks/whole_bot_bench.py``'s.
"""

from __future__ import annotations

import argparse
import asyncio
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
from typing import Any, TextIO

WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker server "
    "client latency error timeout retry metric alert dashboard config flag rollout thanks great nice sure okay"
).split()


async def measure(args: argparse.Namespace, log_stream: TextIO, directory: Path | None = None) -> dict[str, float]:
    from bot.actions import Action, ActionResult
    from bot.adapter import Adapter
    from bot.app import StewardApp
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

        def supports(self, action: Action) -> bool:
            return True

        async def perform(self, action: Action) -> ActionResult:
            return ActionResult(ok=True, message_id=f"p{next(self.ids)}")

        def health(self) -> dict[str, Any]:
            return {"up": True}

    async def waits_once(event: MessageCreated) -> None:
        await asyncio.sleep(0)

    async def returns(event: MessageCreated) -> None:
        return None

    directory = directory or Path(tempfile.mkdtemp(prefix="core-bench-"))
    config = {
        "database": {"path": str(directory / "bench.db")},
        "http": {"enabled": False},
        "logging": {"level": "INFO", "format": "json"},
        "cogs": {"enabled": []},
    }
    configure_logging("INFO", "json", stream=log_stream)
    app = StewardApp(load_settings(data=config), adapters=[Sink()], http=False)
    await app.start()
    for n in range(args.listeners):
        app.bus.subscribe(MessageCreated, waits_once if n == 0 else returns, owner=f"listener{n}")
    agents = [f"agent{n}" for n in range(args.agents)]
    for name in agents:
        await app.agents.register(AgentRecord(name=name, platform="bench", owner_id="bench"))
    rng = random.Random(args.seed)
    ids = itertools.count()

    def room() -> Room:
        index = rng.randrange(args.rooms)
        return Room("bench", f"s{index % 20}", f"c{index}")

    def text() -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(4, 16)))

    async def people(count: int) -> None:
        for _ in range(count):
            name = f"u{rng.randrange(2_000)}"
            author = Actor("bench", name, ActorKind.HUMAN, name)
            await app.bus.publish(
                MessageCreated(room=room(), message_id=f"m{next(ids)}", author=author, text=text(), at=time.time())
            )
        await app.bus.join()

    async def agent_messages(count: int) -> None:
        for _ in range(count):
            await app.publisher.submit(rng.choice(agents), room(), text(), at=time.time())
        await app.bus.join()

    try:
        await people(200)  # warm up: the rooms' shards, the caches
        await agent_messages(200)
        result = {}
        for label, feed in (("person_ms", people), ("agent_ms", agent_messages)):
            started = time.process_time()
            await feed(args.messages)
            result[label] = (time.process_time() - started) / args.messages * 1e3
        return result
    finally:
        await app.stop()


def run_child(args: argparse.Namespace, tree: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *_passed(args)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _passed(args: argparse.Namespace) -> list[str]:
    return [
        f"--messages={args.messages}",
        f"--listeners={args.listeners}",
        f"--rooms={args.rooms}",
        f"--agents={args.agents}",
        f"--seed={args.seed}",
    ]


def against(args: argparse.Namespace) -> None:
    here = Path.cwd()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.repeat):
        runs["before"].append(run_child(args, args.against))
        runs["after"].append(run_child(args, here))
    print(f"before = {args.against}, after = {here}; {args.repeat} alternating runs; {args.listeners} listeners")
    for field in ("person_ms", "agent_ms"):
        before = statistics.median(r[field] for r in runs["before"])
        after = statistics.median(r[field] for r in runs["after"])
        spread = ", ".join(f"{r[field]:.3f}" for r in runs["after"])
        print(f"{field:10} before {before:.3f} ms  after {after:.3f} ms ({spread})  {before / after:.2f}x less CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4_000, help="people's messages, then as many agents'")
    parser.add_argument("--listeners", type=int, default=5, help="listeners of MessageCreated that do nothing")
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another tree, run alternately with this one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        against(args)
        return
    with open(os.devnull, "w") as log_stream:
        result = asyncio.run(measure(args, log_stream))
    print(
        json.dumps(result) if args.child else f"person {result['person_ms']:.3f} ms, agent {result['agent_ms']:.3f} ms"
    )


if __name__ == "__main__":
    main()
