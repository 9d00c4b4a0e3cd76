"""Per-message cost of the fast model against Detoxify on ONNX Runtime int8, side by side, repeated.

    python -m benchmarks.toxicity_fast_bench [--rounds 5] [--messages 256] [--small] [--workdir DIR] [--no-docs]

Builds the Detoxify stand-in the main toxicity benchmark uses (a BERT-base-shaped random checkpoint, exported to
int8 ONNX by the same code as ``steward model export``; ``--small`` builds a tiny one instead, for a quick run),
then, in one process with one inference thread for every case, interleaved over ``--rounds`` rounds:

- the fast model (``FastModel.score_batch``) on batches of ``--max-batch`` messages, and one message at a time;
- alt-profanity-check's own ``predict_prob`` (scikit-learn), batched and one at a time, for reference;
- Detoxify ONNX int8 (``ToxicityModel.score``: tokenise, forward, aggregate), batched and one at a time.

Prints the medians and the ratio to the fast model, and writes them into docs/toxicity.md between the
``toxicity-fast-bench`` markers (unless ``--no-docs``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.toxicity_bench import make_messages, prepare

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "toxicity.md"
BEGIN = "<!-- toxicity-fast-bench:begin -->"
END = "<!-- toxicity-fast-bench:end -->"


def per_message_us(score: Callable[[Sequence[str]], Any], messages: Sequence[str], batch: int) -> float:
    """Mean microseconds a message, scoring ``messages`` in batches of ``batch``."""
    started = time.perf_counter()
    for i in range(0, len(messages), batch):
        score(messages[i : i + batch])
    return (time.perf_counter() - started) / len(messages) * 1e6


def small_model(workdir: Path) -> dict[str, Any]:
    from cogs.toxicity.export import export_onnx
    from cogs.toxicity.model import ModelSpec
    from cogs.toxicity.probes import PROBES
    from cogs.toxicity.synthetic import build_checkpoint

    synthetic = build_checkpoint(workdir / "small", hidden_size=64, layers=2, heads=2, intermediate_size=128)
    spec = ModelSpec(checkpoint=synthetic.checkpoint, model_dir=synthetic.directory)
    report = export_onnx(spec, workdir / "small-onnx", tolerance=0.05, probes=PROBES)
    return {"onnx_path": str(report.onnx_path), "shape": "tiny BERT (hidden 64, 2 layers)"}


def measure(args: argparse.Namespace, onnx_path: Path) -> dict[str, list[float]]:
    from profanity_check import predict_prob

    from cogs.toxicity.fast import FastModel
    from cogs.toxicity.model import ModelSpec, load_model

    fast = FastModel()
    onnx = load_model(ModelSpec(backend="onnx", onnx_path=onnx_path, max_batch=args.max_batch, threads=1))
    messages = make_messages(args.messages)
    singles = messages[: args.singles]
    cases: dict[str, tuple[Callable[[Sequence[str]], Any], Sequence[str], int]] = {
        "fast, batched": (fast.score_batch, messages, args.max_batch),
        "fast, one at a time": (fast.score_batch, messages, 1),
        "alt-profanity-check predict_prob, batched": (predict_prob, messages, args.max_batch),
        "alt-profanity-check predict_prob, one at a time": (predict_prob, singles, 1),
        "Detoxify ONNX int8, batched": (onnx.score, messages, args.max_batch),
        "Detoxify ONNX int8, one at a time": (onnx.score, singles, 1),
    }
    for score, texts, _ in cases.values():
        score(texts[:4])  # warm-up
    results: dict[str, list[float]] = {name: [] for name in cases}
    for round_number in range(args.rounds):
        for name, (score, texts, batch) in cases.items():
            results[name].append(per_message_us(score, texts, batch))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    return results


def render(meta: dict[str, Any], results: dict[str, list[float]]) -> str:
    base = statistics.median(results["fast, batched"])
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} (2 cores shared with other jobs, load "
        f"average {meta['load']}), Python {platform.python_version()}; {meta['messages']} chat messages "
        f"(8-28 words), batches of {meta['max_batch']}, one thread for every case, {meta['rounds']} interleaved "
        f"rounds (median, and the rounds' range). Detoxify stand-in: {meta['shape']}, random weights, int8 ONNX.",
        "",
        "| per message | median | rounds' range | x the fast model batched |",
        "|---|---:|---:|---:|",
    ]
    for name, values in results.items():
        median = statistics.median(values)
        lines.append(
            f"| {name} | {_time(median)} | {_time(min(values))} - {_time(max(values))} | {median / base:,.1f} x |"
        )
    return "\n".join(lines)


def _time(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def write_docs(block: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOCS.write_text(text[:start] + "\n" + block + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=256, help="messages per batched case")
    parser.add_argument("--singles", type=int, default=48, help="messages per one-at-a-time case of the slow ones")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--small", action="store_true", help="a tiny Detoxify stand-in (quick run)")
    parser.add_argument("--workdir", type=Path, help="keep the checkpoint and export here (default: a temp dir)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/toxicity.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.small:
            model = small_model(workdir)
        else:
            model = {"onnx_path": prepare(workdir)["onnx_path"], "shape": "BERT-base shape (Detoxify original)"}
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        results = measure(args, Path(model["onnx_path"]))
    meta = {"load": load, "messages": args.messages, "max_batch": args.max_batch, "rounds": args.rounds}
    block = render({**meta, "shape": model["shape"]}, results)
    print(block)
    if not args.no_docs:
        write_docs(block)


if __name__ == "__main__":
    main()
