"""Toxicity overload benchmark: Steward with a Detoxify-sized ONNX model fed twice what the model can score.

    python -m benchmarks.toxicity_overload_bench [--workdir DIR] [--seconds 60] [--rounds 3] [--before TREE]

The model is the BERT-base-shaped int8 export of ``benchmarks.toxicity_bench`` (built once, reused with
``--workdir``). Each round, one process measures the model's capacity C (Detoxify's scorer in the bot saturated by
64 callers, messages a second: the shared machine's load changes from minute to minute), then each case runs in a
process of its own: a real StewardApp (toxicity in mode ``detoxify``, so every message is meant for Detoxify, and
the moderator) fed for ``--seconds`` at 2 x C, open loop (arrivals never wait for answers): ``--people-share`` of
the messages (a quarter) people's, published on the bus as an adapter would (64 rooms), the rest agents' through
the publisher (64 agents), whose flood alone is more than the model can take. After the feed, the bus and the
publisher get ``--drain`` seconds to finish. Per message: moderated (the scorer answered its listener or gate) or
not (its listener hit the bus's 30 s timeout, or it was still queued at the end), which model answered, and the
latency from its arrival to its score.

Cases: ``after`` (this tree: bounded queue, deadline, fast-model fallback) and ``before`` (the code at ``--before``,
a checkout of an earlier revision, default: this tree with shedding turned off by a huge queue and deadline).
"""

from __future__ import annotations

import argparse
import asyncio
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

ROOT = Path(__file__).resolve().parent.parent
HUMAN_ROOMS = 64
AGENTS = 64
WORDS = (
    "the a you your are is was this that we they it not no yes hello world good bad nice thanks please idiot "
    "stupid hate love find people post here code release build bot channel message agent what how why who can "
    "will should would could do does did and or but on at in of to my our"
).split()


def texts(count: int, seed: int) -> list[str]:
    """Chat-sized messages, each unique (its number first) so that its answer can be found again."""
    rng = random.Random(seed)
    return [f"m{i} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 28))) for i in range(count)]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _settings(args: dict[str, Any], tmp: str, shedding: bool) -> Any:
    from bot.config import load_settings
    from cogs.toxicity.config import ToxicitySettings

    section: dict[str, Any] = {
        "mode": "detoxify",
        "backend": "onnx",
        "onnx_path": args["onnx_path"],
        "threads": args["threads"],
        # The random model's scores sit near 0.5: thresholds it never reaches, so that only the fast model's
        # verdicts act (what is measured is who answers, and when).
        "human_thresholds": dict.fromkeys(["toxicity", "severe_toxicity", "obscene", "threat", "insult"], 0.999)
        | {"identity_attack": 0.999, "sexual_explicit": 0.999},
        "agent_thresholds": dict.fromkeys(["toxicity", "severe_toxicity", "obscene", "threat", "insult"], 0.999)
        | {"identity_attack": 0.999, "sexual_explicit": 0.999},
    }
    if "deadline_ms" in ToxicitySettings.model_fields and not shedding:
        section.update(queue_limit=100_000, deadline_ms=600_000)
    return load_settings(
        data={
            "database": {"path": str(Path(tmp) / "bench.db")},
            "http": {"enabled": False},
            "logging": {"level": "ERROR"},
            "cogs": {"enabled": ["toxicity", "moderator"]},
            "toxicity": section,
            "moderator": {"chain": ["toxicity"], "escalation": {"enabled": False}},
            "bus": {"listener_timeout": args["listener_timeout"]},
        }
    )


async def _started(args: dict[str, Any], tmp: str, shedding: bool) -> tuple[Any, Any]:
    from bot.app import StewardApp
    from bot.scoring import ScorerState, TextScorer
    from tests.support import RecordingAdapter

    app = StewardApp(_settings(args, tmp, shedding), adapters=[RecordingAdapter()])
    await app.start()
    scorer = app.services.get(TextScorer)
    if await scorer.wait_loaded() is not ScorerState.READY:
        raise RuntimeError(f"the model did not load: {scorer.error}")
    return app, scorer


async def capacity(args: dict[str, Any]) -> dict[str, Any]:
    """Detoxify's throughput in this bot, saturated: 64 callers straight at its batcher."""
    with tempfile.TemporaryDirectory() as tmp:
        app, scorer = await _started(args, tmp, shedding=False)
        try:
            queue = texts(args["capacity_messages"], seed=1)
            for text in queue[:8]:
                await scorer.detoxify.scores(text)

            async def caller() -> None:
                while queue:
                    await scorer.detoxify.scores(queue.pop())

            started = time.perf_counter()
            count = len(queue)
            await asyncio.gather(*(caller() for _ in range(64)))
            return {"per_second": count / (time.perf_counter() - started)}
        finally:
            await app.stop()


def _shed(app: Any) -> dict[str, int]:
    """Texts shed to the fast model, by reason (none before shedding existed)."""
    out: dict[str, int] = {}
    for family in app.metrics.registry.collect():
        if family.name == "steward_toxicity_shed":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    reason = sample.labels["reason"]
                    out[reason] = out.get(reason, 0) + int(sample.value)
    return out


def _listener_errors(app: Any) -> int:
    total = 0.0
    for family in app.metrics.registry.collect():
        if family.name == "steward_listener_errors":
            total += sum(sample.value for sample in family.samples if sample.name.endswith("_total"))
    return int(total)


async def overload(args: dict[str, Any]) -> dict[str, Any]:
    from bot.events import MessageCreated
    from domain import Actor, ActorKind, Room
    from storage.core import AgentRecord

    rate, seconds = args["rate"], args["seconds"]
    count = int(rate * seconds)
    feed = texts(count, seed=args["seed"])
    with tempfile.TemporaryDirectory() as tmp:
        app, scorer = await _started(args, tmp, shedding=args["case"] == "after")
        agents = [f"agent{i}" for i in range(AGENTS)]
        for name in agents:
            await app.agents.register(AgentRecord(name=name, platform="test", owner_id="owner"))
        answered: dict[str, tuple[float, str]] = {}
        asked: dict[str, float] = {}
        assess = scorer.assess

        async def recorded(text: str, room: Any, **kwargs: Any) -> Any:
            asked[text] = time.perf_counter()
            result = await assess(text, room, **kwargs)
            model = "fast" if set(result.scores) == {"toxicity"} else "detoxify" if result.scores else "none"
            answered[text] = (time.perf_counter(), model)
            return result

        scorer.assess = recorded
        sent: dict[str, tuple[float, bool]] = {}  # text -> (arrival, human)
        posts: list[asyncio.Task[Any]] = []
        loop_lag: list[float] = []
        rng = random.Random(args["seed"])
        try:
            started = time.perf_counter()
            for number, text in enumerate(feed):
                due = started + number / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    loop_lag.append(-delay)
                arrival = time.perf_counter()
                if rng.random() < args["people_share"]:
                    room = Room("test", "s1", f"people{number % HUMAN_ROOMS}")
                    author = Actor("test", f"u{number % 500}", ActorKind.HUMAN, f"u{number % 500}", frozenset())
                    sent[text] = (arrival, True)
                    event = MessageCreated(at=app.clock.now(), room=room, message_id=f"h{number}", author=author,
                                           text=text)  # fmt: skip
                    await app.bus.publish(event)
                else:
                    agent = agents[number % AGENTS]
                    sent[text] = (arrival, False)
                    room = Room("test", "s1", f"agents{number % AGENTS}")
                    posts.append(asyncio.create_task(app.publisher.submit(agent, room, text)))
            fed = time.perf_counter() - started
            try:
                await asyncio.wait_for(asyncio.gather(app.bus.join(), *posts, return_exceptions=True), args["drain"])
            except TimeoutError:
                pass
            timed_out = _listener_errors(app)
            shed = _shed(app)
        finally:
            await app.stop()
    result: dict[str, Any] = {
        "case": args["case"],
        "messages": count,
        "fed_seconds": fed,
        "listener_timeouts": timed_out,
        "feed_behind_p99_ms": percentile(loop_lag, 0.99) * 1e3,
        "shed": shed,
    }
    for who, human in (("people", True), ("agents", False)):
        mine = [text for text, (_, is_human) in sent.items() if is_human is human]
        done = [text for text in mine if text in answered]
        latencies = [answered[text][0] - sent[text][0] for text in done]
        queued = [asked[text] - sent[text][0] for text in done]
        by_model = [answered[text][1] for text in done]
        fast = [answered[text][0] - asked[text] for text in done if answered[text][1] == "fast"]
        result[who] = {
            "sent": len(mine),
            "moderated": len(done),
            "not_moderated": len(mine) - len(done),
            "detoxify_share": by_model.count("detoxify") / max(len(done), 1),
            "fast_share": by_model.count("fast") / max(len(done), 1),
            "p50_ms": percentile(latencies, 0.5) * 1e3,
            "p99_ms": percentile(latencies, 0.99) * 1e3,
            "max_ms": max(latencies, default=float("nan")) * 1e3,
            "before_scorer_p99_ms": percentile(queued, 0.99) * 1e3,  # arrival to the scorer's call
            "fast_answer_p99_ms": percentile(fast, 0.99) * 1e3,  # the scorer's call to the fast model's answer
        }
    return result


def run_worker(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    from bot.logging import configure_logging

    configure_logging("ERROR", "json")
    return asyncio.run(capacity(args) if kind == "capacity" else overload(args))


def spawn(kind: str, args: dict[str, Any], tree: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--worker-args", json.dumps(args)]
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"worker {kind} failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def render(meta: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    lines = [
        f"Model capacity C (Detoxify in the bot, saturated) per round: {meta['capacity']} messages/s; fed at "
        f"{meta['factor']} x C for {meta['seconds']} s, {meta['people_share']:.0%} people's messages, the rest "
        f"agents'; drain {meta['drain']} s; bus "
        f"listener_timeout {meta['listener_timeout']} s; {meta['rounds']} rounds, cases alternating; inference "
        f"threads {meta['threads']}; load average at the start {meta['load']}.",
        "",
        "| case | round | who | sent | moderated | not moderated | by Detoxify | by the fast model | p50 | p99 | max |"
        " listener timeouts |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        # (latency: from the message's arrival to its score; "not moderated": its listener timed out, or it was
        # still waiting at the end of the drain)
    ]
    for run in runs:
        for who in ("people", "agents"):
            part = run[who]
            lines.append(
                f"| {run['case']} | {run['round']} | {who} | {part['sent']} | {part['moderated']} | "
                f"{part['not_moderated']} | {part['detoxify_share']:.0%} | {part['fast_share']:.0%} | "
                f"{part['p50_ms'] / 1e3:.2f} s | {part['p99_ms'] / 1e3:.2f} s | {part['max_ms'] / 1e3:.2f} s | "
                f"{run['listener_timeouts'] if who == 'people' else '-'} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="keep the checkpoint and export here (default: a temp dir)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of traffic per case")
    parser.add_argument("--drain", type=float, default=90.0, help="seconds the bus gets to finish after the feed")
    parser.add_argument("--load-factor", type=float, default=2.0, help="traffic as a multiple of the capacity")
    parser.add_argument("--people-share", type=float, default=0.25, help="share of people's messages")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="inference threads (1: best on a shared host)")
    parser.add_argument("--listener-timeout", type=float, default=30.0, help="the bus's listener_timeout")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with (default: shedding off)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, json.loads(args.worker_args))))
        return
    sys.path.insert(0, str(ROOT))
    from benchmarks.toxicity_bench import prepare

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(args.workdir or Path(tmp))
        shared = {"onnx_path": prepared["onnx_path"], "threads": args.threads,
                  "listener_timeout": args.listener_timeout, "capacity_messages": 256}  # fmt: skip
        runs, capacities = [], []
        for number in range(1, args.rounds + 1):
            cap = spawn("capacity", shared, ROOT)["per_second"]
            print(f"capacity: {cap:.1f} messages/s", file=sys.stderr)
            capacities.append(f"{cap:.1f}")
            rate = cap * args.load_factor
            shared["people_share"] = args.people_share
            for case, tree in (("before", args.before or ROOT), ("after", ROOT)):
                worker = dict(shared, case=case, rate=rate, seconds=args.seconds, drain=args.drain, seed=number)
                run = spawn("overload", worker, tree) | {"round": number}
                print(json.dumps(run), file=sys.stderr)
                runs.append(run)
    meta = {"capacity": ", ".join(capacities), "factor": args.load_factor, "seconds": args.seconds,
            "people_share": args.people_share, "drain": args.drain, "rounds": args.rounds,
            "listener_timeout": args.listener_timeout, "threads": args.threads, "load": load}  # fmt: skip
    print(render(meta, runs))
    print(f"medians: {json.dumps(summary(runs))}")


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per case and audience, the medians over the rounds."""
    out: dict[str, Any] = {}
    for case in ("before", "after"):
        mine = [run for run in runs if run["case"] == case]
        for who in ("people", "agents"):
            parts = [run[who] for run in mine]
            out[f"{case} {who}"] = {
                key: round(statistics.median(part[key] for part in parts), 3)
                for key in ("not_moderated", "detoxify_share", "fast_share", "p50_ms", "p99_ms")
            }
    return out


if __name__ == "__main__":
    main()
