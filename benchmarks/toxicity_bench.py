"""Toxicity benchmark: naive Detoxify vs the raw batched forward pass vs Steward end to end, on a BERT-base-shaped
random-weight checkpoint (the compute and memory of Detoxify ``original``; the scores are meaningless).

    python -m benchmarks.toxicity_bench [--messages 384] [--clients 64] [--naive 48] [--workdir DIR] [--no-docs]

One run: builds the checkpoint (hidden 768, 12 layers, 30522-token vocabulary, 512 positions), exports it with
the same code as ``steward model export`` (int8 dynamic quantization, drift checked), then measures each case in
its own process so that peak memory (max RSS) is per backend:

(a) naive: ``Detoxify.predict`` one message at a time (the model loaded once), as most bots do;
(b) raw: the batched forward pass alone (pre-tokenised, batches of ``max_batch``), PyTorch fp32 and ONNX int8;
    the fastest is the limit;
(c) Steward: agents' messages through ``AgentPublisher.submit`` (the moderator's gate with its toxicity rule, the
    micro-batched scorer, the SQLite decision log, the post and its echo) from ``--clients`` concurrent senders;
    also the scorer service alone, and at low load (one message at a time) the latency added over one raw
    single-message inference.

Results are printed and written into docs/toxicity.md between the benchmark markers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "toxicity.md"
BEGIN = "<!-- toxicity-bench:begin -->"
END = "<!-- toxicity-bench:end -->"

WORDS = (
    "the a you your are is was this that we they it not no yes hello world good bad nice thanks please idiot "
    "stupid hate love find people post here code release build bot channel message agent what how why who can "
    "will should would could do does did and or but on at in of to my our"
).split()


def make_messages(count: int, seed: int = 7) -> list[str]:
    """Chat-sized messages of 10-30 tokens from words the synthetic vocabulary knows."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 28))) + rng.choice(["", ".", "!", "?"]) for _ in
            range(count)]  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM restarts at exec; ru_maxrss would carry the parent's peak over."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _spec(args: dict[str, Any], backend: str):
    from cogs.toxicity.model import ModelSpec

    common = {"max_batch": args["max_batch"], "threads": args["threads"]}
    if backend == "onnx":
        return ModelSpec(backend="onnx", onnx_path=Path(args["onnx_path"]), **common)
    return ModelSpec(checkpoint=Path(args["checkpoint"]), model_dir=Path(args["model_dir"]), **common)


# --- workers (one process each) -----------------------------------------------------------------------------------


def worker_naive(args: dict[str, Any]) -> dict[str, Any]:
    import torch
    from detoxify import Detoxify

    if args["threads"]:
        torch.set_num_threads(args["threads"])
    messages = make_messages(args["naive"] + 3)
    started = time.perf_counter()
    model = Detoxify(checkpoint=args["checkpoint"], huggingface_config_path=args["model_dir"])
    load = time.perf_counter() - started
    for text in messages[:3]:
        model.predict(text)
    latencies = []
    started = time.perf_counter()
    for text in messages[3:]:
        t0 = time.perf_counter()
        model.predict(text)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return {
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1e3,
        "load_s": load,
        "messages": len(latencies),
    }


def worker_raw(args: dict[str, Any], backend: str) -> dict[str, Any]:
    from cogs.toxicity.model import load_model

    model = load_model(_spec(args, backend))
    messages = make_messages(args["messages"])
    encoded = model.encoder.encode(messages)
    size = args["max_batch"]
    batches = [model.encoder.arrays(encoded.chunks[i : i + size]) for i in range(0, len(encoded.chunks), size)]
    model.forward(batches[0])
    started = time.perf_counter()
    for batch in batches:
        model.forward(batch)
    elapsed = time.perf_counter() - started
    singles = [model.encoder.arrays([chunk]) for chunk in encoded.chunks[:30]]
    for one in singles[:3]:
        model.forward(one)
    single_latencies = []
    for one in singles:
        t0 = time.perf_counter()
        model.forward(one)
        single_latencies.append(time.perf_counter() - t0)
    tokens = [len(c) for c in encoded.chunks]
    return {
        "per_second": len(encoded.chunks) / elapsed,
        "single_p50_ms": statistics.median(single_latencies) * 1e3,
        "load_s": model.load_seconds,
        "messages": len(encoded.chunks),
        "tokens_mean": statistics.mean(tokens),
    }


async def _steward(args: dict[str, Any], backend: str) -> dict[str, Any]:
    from bot.app import StewardApp
    from bot.config import load_settings
    from bot.scoring import ScorerState, TextScorer
    from domain import Room
    from storage.core import AgentRecord
    from tests.support import RecordingAdapter

    section: dict[str, Any] = {
        # Every message through Detoxify (what this benchmark measures), not the cascade's fast first pass.
        "mode": "detoxify",
        "max_batch": args["max_batch"],
        "max_wait_ms": args["max_wait_ms"],
        "threads": args["threads"],
    }
    if backend == "onnx":
        section.update(backend="onnx", onnx_path=args["onnx_path"])
    else:
        section.update(checkpoint=args["checkpoint"], model_dir=args["model_dir"])
    messages = make_messages(args["messages"])
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": str(Path(tmp) / "bench.db")},
                "http": {"enabled": False},
                "logging": {"level": "WARNING"},
                "cogs": {"enabled": ["toxicity", "moderator"]},
                "toxicity": section,
                # Only the model's rule: the other rules (cooldowns above all) would refuse a burst before it.
                "moderator": {"chain": ["toxicity"], "escalation": {"enabled": False}},
            }
        )
        app = StewardApp(settings, adapters=[RecordingAdapter()])
        started = time.perf_counter()
        await app.start()
        start_returned = time.perf_counter() - started
        try:
            scorer = app.services.get(TextScorer)
            if await scorer.wait_loaded() is not ScorerState.READY:
                raise RuntimeError(f"model did not load: {scorer.error}")
            load = time.perf_counter() - started
            agents = [f"agent{i}" for i in range(args["clients"])]
            for name in agents:
                await app.agents.register(AgentRecord(name=name, platform="test", owner_id="owner"))
            room = Room("test", "s1", "general")
            for text in messages[:4]:
                await scorer.assess(text, room, agent=True)

            model = scorer.model
            size = args["max_batch"]
            batches = [
                model.encoder.arrays(model.encoder.encode(messages[i : i + size]).chunks)
                for i in range(0, len(messages), size)
            ]

            def raw_pass() -> float:
                # (b): the batched forward pass alone, pre-tokenised, no event loop in the way.
                t0 = time.perf_counter()
                for batch in batches:
                    model.forward(batch)
                return len(messages) / (time.perf_counter() - t0)

            # Low load, paired message by message: one raw single-message inference, then the same message through
            # the scorer service alone (tokenise, batcher wait, executor hand-off, judging) and the publisher.
            raw_single, low_scorer, low_publisher, added = [], [], [], []
            for i, text in enumerate(messages[:30]):
                one = model.encoder.arrays(model.encoder.encode([text]).chunks)
                t0 = time.perf_counter()
                model.forward(one)
                raw = time.perf_counter() - t0
                t0 = time.perf_counter()
                await scorer.assess(text, room, agent=True)
                through = time.perf_counter() - t0
                t0 = time.perf_counter()
                await app.publisher.submit(agents[0], Room("test", "s1", f"low{i}"), text)
                low_publisher.append(time.perf_counter() - t0)
                raw_single.append(raw)
                low_scorer.append(through)
                added.append(through - raw)

            async def run_clients(send) -> float:
                queue = list(enumerate(messages))
                queue.reverse()

                async def client(index: int) -> None:
                    while queue:
                        number, text = queue.pop()
                        await send(index, number, text)

                t0 = time.perf_counter()
                await asyncio.gather(*(client(i) for i in range(args["clients"])))
                return len(messages) / (time.perf_counter() - t0)

            async def via_scorer(index: int, number: int, text: str) -> None:
                await scorer.assess(text, Room("test", "s1", f"c{index}"), agent=True)

            async def via_publisher(index: int, number: int, text: str) -> None:
                result = await app.publisher.submit(agents[index], Room("test", "s1", f"c{number % 50}"), text)
                if result.error:
                    raise RuntimeError(result.error)

            # Interleaved rounds, so that the shared machine's changing load falls on every case alike.
            raw_rates, scorer_rates, publisher_rates = [], [], []
            before = (app.metrics.value("steward_toxicity_batch_size_sum"),
                      app.metrics.value("steward_toxicity_batch_size_count"))  # fmt: skip
            for _ in range(args["rounds"]):
                raw_rates.append(raw_pass())
                scorer_rates.append(await run_clients(via_scorer))
                publisher_rates.append(await run_clients(via_publisher))
            after = (app.metrics.value("steward_toxicity_batch_size_sum"),
                     app.metrics.value("steward_toxicity_batch_size_count"))  # fmt: skip
        finally:
            await app.stop()
    return {
        "ratio": statistics.median(p / r for p, r in zip(publisher_rates, raw_rates, strict=True)),
        "raw_per_second": statistics.median(raw_rates),
        "scorer_per_second": statistics.median(scorer_rates),
        "publisher_per_second": statistics.median(publisher_rates),
        "ratio_per_round": [round(p / r, 3) for p, r in zip(publisher_rates, raw_rates, strict=True)],
        "raw_rates": raw_rates,
        "publisher_rates": publisher_rates,
        "raw_single_p50_ms": statistics.median(raw_single) * 1e3,
        "low_scorer_p50_ms": statistics.median(low_scorer) * 1e3,
        "low_publisher_p50_ms": statistics.median(low_publisher) * 1e3,
        "added_p50_ms": statistics.median(added) * 1e3,
        "mean_batch": (after[0] - before[0]) / max(after[1] - before[1], 1),
        "start_returned_s": start_returned,
        "load_s": load,
        "messages": len(messages),
    }


def run_worker(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    from bot.logging import configure_logging

    configure_logging("WARNING", "json")
    if kind == "naive":
        result = worker_naive(args)
    elif kind.startswith("raw-"):
        result = worker_raw(args, kind.removeprefix("raw-"))
    elif kind.startswith("steward-"):
        result = asyncio.run(_steward(args, kind.removeprefix("steward-")))
    else:
        raise SystemExit(f"unknown worker {kind}")
    result["peak_rss_mb"] = peak_rss_mb()
    result["torch_imported"] = "torch" in sys.modules
    return result


def spawn(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.toxicity_bench", "--worker", kind, "--worker-args", json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- orchestration ----------------------------------------------------------------------------------------------


def prepare(workdir: Path) -> dict[str, Any]:
    from cogs.toxicity.export import export_onnx
    from cogs.toxicity.model import ModelSpec
    from cogs.toxicity.probes import PROBES
    from cogs.toxicity.synthetic import build_checkpoint

    saved = workdir / "bench-prepare.json"
    if saved.is_file():
        print(f"reusing the checkpoint and export in {workdir}", file=sys.stderr)
        return dict(json.loads(saved.read_text(encoding="utf-8")), reused=True)
    print("building a BERT-base-shaped random checkpoint ...", file=sys.stderr)
    t0 = time.perf_counter()
    synthetic = build_checkpoint(
        workdir / "model",
        hidden_size=768,
        layers=12,
        heads=12,
        intermediate_size=3072,
        max_positions=512,
        vocab_size=30522,
        logit_scale=1.0,
    )
    built = time.perf_counter() - t0
    print("exporting to int8 ONNX (drift checked) ...", file=sys.stderr)
    report = export_onnx(
        ModelSpec(checkpoint=synthetic.checkpoint, model_dir=synthetic.directory),
        workdir / "onnx",
        tolerance=0.05,
        probes=PROBES,
    )
    if not report.accepted:
        raise SystemExit(f"export refused: drift {report.drift}")
    prepared = {
        "checkpoint": str(synthetic.checkpoint),
        "model_dir": str(synthetic.directory),
        "onnx_path": str(report.onnx_path),
        "checkpoint_mb": synthetic.checkpoint.stat().st_size / 1e6,
        "fp32_mb": report.fp32_bytes / 1e6,
        "int8_mb": report.int8_bytes / 1e6,
        "max_drift": report.max_drift,
        "export_s": report.seconds,
        "build_s": built,
    }
    saved.write_text(json.dumps(prepared), encoding="utf-8")
    return prepared


def render(meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    naive = results["naive"]
    raw_t, raw_o = results["raw-torch"], results["raw-onnx"]
    st_t, st_o = results["steward-torch"], results["steward-onnx"]
    fastest_name, best = max((("onnx", st_o), ("torch", st_t)), key=lambda item: item[1]["raw_per_second"])
    a, b, c = naive["per_second"], best["raw_per_second"], best["publisher_per_second"]
    ratio = best["ratio"]
    added = best["added_p50_ms"]

    def ok(flag: bool) -> str:
        return "met" if flag else "**not met**"

    def row(name: str, torch_value: str, onnx_value: str) -> str:
        return f"| {name} | {torch_value} | {onnx_value} |"

    lines = [
        BEGIN,
        f"Measured {meta['date']} on {meta['machine']} ({meta['cores']} cores shared with other jobs: load average "
        f"{meta['load']} at the start, so absolute numbers are noisy and well below a quiet machine's), Python "
        f"{meta['python']}, {meta['versions']}. Checkpoint: BERT-base shape (hidden 768, 12 layers, vocabulary "
        f"30522, 512 positions), random weights, {meta['checkpoint_mb']:.0f} MB; ONNX fp32 {meta['fp32_mb']:.0f} MB "
        f"-> int8 {meta['int8_mb']:.0f} MB, export {meta['export_s']:.0f} s"
        f"{' (in an earlier run with the same --workdir)' if meta.get('reused') else ''}, largest probe drift "
        f"{meta['max_drift']:.4f}. {meta['messages']} chat messages of {raw_o['tokens_mean']:.0f} tokens on "
        f"average; batches of {meta['max_batch']}, max wait {meta['max_wait_ms']} ms, {meta['clients']} concurrent "
        f"senders, inference threads: {meta['threads']} (the same for every case). (b) and (c) run in the same "
        f"process, interleaved over {meta['rounds']} rounds (medians shown), so that the machine's changing load "
        "falls on both alike. The random model's scores sit near 0.5, so the default severe_toxicity threshold "
        "(0.5) rejects most messages and the moderator opens a case for each: a heavier event-loop load than real "
        "chat, where most messages pass.",
        "",
        "| | torch fp32 | onnx int8 |",
        "|---|---:|---:|",
        row("(a) naive `Detoxify.predict`, one message at a time", f"{a:.1f} msg/s", "-"),
        row(
            "(b) raw batched forward pass", f"{st_t['raw_per_second']:.1f} msg/s", f"{st_o['raw_per_second']:.1f} msg/s"
        ),
        row(
            "(c) Steward end to end: publisher, moderator gate, batched scorer, decision log, post",
            f"{st_t['publisher_per_second']:.1f} msg/s",
            f"{st_o['publisher_per_second']:.1f} msg/s",
        ),
        row(
            "(c) the scorer service alone, concurrent callers",
            f"{st_t['scorer_per_second']:.1f} msg/s",
            f"{st_o['scorer_per_second']:.1f} msg/s",
        ),
        row("mean batch in (c)", f"{st_t['mean_batch']:.1f}", f"{st_o['mean_batch']:.1f}"),
        row(
            "one raw single-message inference, p50",
            f"{st_t['raw_single_p50_ms']:.1f} ms",
            f"{st_o['raw_single_p50_ms']:.1f} ms",
        ),
        row(
            "one message through the scorer at low load, p50",
            f"{st_t['low_scorer_p50_ms']:.1f} ms",
            f"{st_o['low_scorer_p50_ms']:.1f} ms",
        ),
        row(
            "added by Steward at low load (paired, p50)",
            f"{st_t['added_p50_ms']:+.2f} ms",
            f"{st_o['added_p50_ms']:+.2f} ms",
        ),
        row(
            "one agent message through the publisher at low load, p50",
            f"{st_t['low_publisher_p50_ms']:.1f} ms",
            f"{st_o['low_publisher_p50_ms']:.1f} ms",
        ),
        row("peak RSS, the model alone", f"{raw_t['peak_rss_mb']:.0f} MB", f"{raw_o['peak_rss_mb']:.0f} MB"),
        row("peak RSS, the whole bot (c)", f"{st_t['peak_rss_mb']:.0f} MB", f"{st_o['peak_rss_mb']:.0f} MB"),
        row("peak RSS, naive Detoxify (a)", f"{naive['peak_rss_mb']:.0f} MB", "-"),
        row("model load (background)", f"{st_t['load_s']:.1f} s", f"{st_o['load_s']:.1f} s"),
        row(
            "`app.start()` returned after",
            f"{st_t['start_returned_s'] * 1e3:.0f} ms",
            f"{st_o['start_returned_s'] * 1e3:.0f} ms",
        ),
        "",
        f"Targets, against the fastest backend ({fastest_name}):",
        "",
        f"- (c) >= 0.9 x (b): median of the per-round ratios {ratio:.2f} x (rounds: "
        f"{', '.join(str(x) for x in best['ratio_per_round'])}; medians {c:.1f} vs {b:.1f} msg/s), "
        f"{ok(ratio >= 0.9)}",
        f"- (c) >= 5 x (a): {c:.1f} vs {a:.1f} msg/s = {c / a:.1f} x, {ok(c >= 5 * a)}",
        f"- at low load at most 5 ms added over one raw inference: {added:+.2f} ms, {ok(added <= 5.0)}",
        "",
        f"The ONNX processes imported torch: {'yes' if st_o['torch_imported'] or raw_o['torch_imported'] else 'no'}.",
        END,
    ]
    return "\n".join(lines)


def write_docs(block: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Benchmark\n\n" + block + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=256, help="messages per throughput run")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds of (b) and (c)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent senders in (c)")
    parser.add_argument("--naive", type=int, default=48, help="messages for the naive case (a)")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=0, help="inference threads for every case (0: runtime default)")
    parser.add_argument("--workdir", type=Path, help="keep the checkpoint and export here (default: a temp dir)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/toxicity.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, json.loads(args.worker_args))))
        return

    load_at_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        meta = prepare(workdir)
        shared = dict(
            meta,
            messages=args.messages,
            clients=args.clients,
            naive=args.naive,
            max_batch=args.max_batch,
            max_wait_ms=args.max_wait_ms,
            threads=args.threads,
            rounds=args.rounds,
        )
        results: dict[str, dict[str, Any]] = {}
        for kind in ("naive", "raw-torch", "raw-onnx", "steward-torch", "steward-onnx"):
            print(f"running {kind} ...", file=sys.stderr)
            results[kind] = spawn(kind, shared)
            print(f"  {json.dumps(results[kind])}", file=sys.stderr)

    import onnxruntime
    import torch
    import transformers

    meta.update(
        date=time.strftime("%Y-%m-%d"),
        machine=platform.machine(),
        cores=os.cpu_count(),
        load=load_at_start,
        python=platform.python_version(),
        versions=f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"onnxruntime {onnxruntime.__version__}",
        messages=args.messages,
        clients=args.clients,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        threads=args.threads or "runtime default",
        rounds=args.rounds,
    )
    block = render(meta, results)
    print(block)
    if not args.no_docs:
        write_docs(block)
        print(f"written to {DOCS}", file=sys.stderr)


if __name__ == "__main__":
    main()
