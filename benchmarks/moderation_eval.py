"""Moderation figures on the repository's labelled sets: toxicity backends, the word filter, tricks, other rules.

    python -m benchmarks.moderation_eval [--write] [--detectors filter,fast,detoxify] [--limit N]

For the word filter (the default word list on the normalised text) and each toxicity backend that loads (the fast
model; Detoxify when its weights are there; both together), on ``benchmarks/data``:

* precision, recall, F1 and false-positive rate on the test split of ``toxicity_labelled.jsonl``, and the
  false-positive rate on ``clean_chat.jsonl``; the flagged rate of each kind of message in the test split;
* for each trick of ``benchmarks.obfuscate`` (leetspeak, repeated letters, ...): the toxic test messages caught
  once their offending word is disguised, against the same messages caught plain (aim: at least 90% of plain);
* the duplicate rule's and the link and mention rules' figures, from ``benchmarks.duplicate_eval.run()`` and
  ``benchmarks.rules_eval.run()`` when those exist (a markdown string, a mapping or a list of mappings).

``--write`` replaces the block between ``<!-- moderation-eval:start -->`` and ``<!-- moderation-eval:end -->`` in
docs/moderator.md with the tables printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.eval_detectors import Detector, Unavailable, detectors, optional_run  # noqa: E402
from benchmarks.eval_tables import figures, table  # noqa: E402
from benchmarks.obfuscate import TRANSFORMS, obfuscate  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
DOC = ROOT / "docs" / "moderator.md"
START, END = "<!-- moderation-eval:start -->", "<!-- moderation-eval:end -->"
KINDS = ("insult", "profanity", "threat", "harassment", "identity", "sexual", "clean-casual", "clean-hard")
OTHER_RULES = (("Duplicate rule", "benchmarks.duplicate_eval"), ("Link and mention rules", "benchmarks.rules_eval"))


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @classmethod
    def of(cls, flagged: Sequence[bool], toxic: Sequence[bool]) -> Counts:
        pairs = list(zip(flagged, toxic, strict=True))
        return cls(
            tp=sum(f and t for f, t in pairs),
            fp=sum(f and not t for f, t in pairs),
            tn=sum(not f and not t for f, t in pairs),
            fn=sum(not f and t for f, t in pairs),
        )

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fpr(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0


@dataclass(frozen=True, slots=True)
class Trick:
    name: str
    n: int  # toxic test messages whose target the trick changes
    plain: float  # caught rate of those messages as written
    disguised: float  # caught rate once disguised

    @property
    def ratio(self) -> float:
        return self.disguised / self.plain if self.plain else 0.0


@dataclass(slots=True)
class Result:
    detector: str
    detail: str
    test: Counts
    chat: Counts
    by_kind: dict[str, float]
    tricks: list[Trick]
    seconds: float
    sampled: int | None = None
    per_text_us: float = 0.0  # scoring time a text, microseconds (batches as the evaluation sends them)


@dataclass(slots=True)
class Report:
    sizes: dict[str, int]
    split: str = "test"
    results: list[Result] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    other: list[tuple[str, str, Any]] = field(default_factory=list)  # (title, status, result)


def read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


class _Timed:
    """A detector's ``flags`` that also adds up the texts it scored and the time it took."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.texts = 0
        self.seconds = 0.0

    def __call__(self, texts: Sequence[str]) -> list[bool]:
        started = time.perf_counter()
        flags = self.detector.flags(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return flags

    @property
    def per_text_us(self) -> float:
        return self.seconds / self.texts * 1e6 if self.texts else 0.0


def evaluate(detector: Detector, test: list[dict[str, str]], chat: list[dict[str, str]]) -> Result:
    started = time.perf_counter()
    timed = _Timed(detector)
    detector = replace(detector, flags=timed)
    if detector.sample is not None:  # a slow model: an even spread of each set, the same one every run
        test, chat = _spread(test, detector.sample), _spread(chat, detector.sample)
    flagged = detector.flags([r["text"] for r in test])
    toxic = [r["label"] == "toxic" for r in test]
    by_kind = {
        kind: _rate([f for f, r in zip(flagged, test, strict=True) if r["kind"] == kind])
        for kind in KINDS
        if any(r["kind"] == kind for r in test)
    }
    chat_flags = detector.flags([r["text"] for r in chat])
    tricks = [_trick(detector, name, test, flagged) for name in TRANSFORMS]
    return Result(
        detector.name,
        detector.detail,
        Counts.of(flagged, toxic),
        Counts.of(chat_flags, [False] * len(chat)),
        by_kind,
        tricks,
        time.perf_counter() - started,
        detector.sample,
        timed.per_text_us,
    )


def _trick(detector: Detector, name: str, test: list[dict[str, str]], flagged: Sequence[bool]) -> Trick:
    plain: list[bool] = []
    disguised: list[str] = []
    for record, caught in zip(test, flagged, strict=True):
        if record["label"] != "toxic":
            continue
        changed = obfuscate(record["text"], record.get("target", ""), name)
        if changed is not None and changed != record["text"]:
            plain.append(caught)
            disguised.append(changed)
    return Trick(name, len(disguised), _rate(plain), _rate(detector.flags(disguised)))


def _spread(records: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    if len(records) <= count:
        return records
    step = len(records) / count
    return [records[int(i * step)] for i in range(count)]


def run(
    data: Path = DATA,
    names: Sequence[str] = ("filter", "fast", "detoxify"),
    *,
    wordlist: Path | None = None,
    limit: int | None = None,
    detoxify_sample: int = 300,
    other_rules: bool = True,
    split: str = "test",
) -> Report:
    """Every figure, measured: the detectors named, on the sets in ``data`` (the first ``limit`` of each).
    ``split="tune"`` measures the half meant for choosing thresholds instead of the held-out one."""
    labelled = read_jsonl(data / "toxicity_labelled.jsonl")
    test = [r for r in labelled if r["split"] == split][:limit]
    chat = read_jsonl(data / "clean_chat.jsonl")[:limit]
    report = Report(
        {"test": len(test), "test toxic": sum(r["label"] == "toxic" for r in test), "chat": len(chat)}, split
    )
    for found in detectors(names, wordlist or data / "wordlist_default.txt", detoxify_sample):
        if isinstance(found, Unavailable):
            report.unavailable.append(found)
        else:
            report.results.append(evaluate(found, test, chat))
    if other_rules:
        for title, module in OTHER_RULES:
            status, result = optional_run(module)
            report.other.append((title, status, result))
    return report


# --- rendering ------------------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value:.1%}"


def render(report: Report) -> str:
    sizes = report.sizes
    lines = [
        f"{report.split.capitalize()} split of `toxicity_labelled.jsonl`: {sizes['test']} messages "
        f"({sizes['test toxic']} toxic); "
        f"`clean_chat.jsonl`: {sizes['chat']} clean messages.",
        "Produced by `python -m benchmarks.moderation_eval`.",
        "",
    ]
    rows = [
        (
            r.detector + (f" (sample of {r.sampled} a set)" if r.sampled else ""),
            r.detail,
            f"{r.test.precision:.3f}",
            f"{r.test.recall:.3f}",
            f"{r.test.f1:.3f}",
            _pct(r.test.fpr),
            _pct(r.chat.fpr),
            f"{r.per_text_us:.0f}",
        )
        for r in report.results
    ]
    rows += [(u.name, u.reason, "-", "-", "-", "-", "-", "-") for u in report.unavailable]
    columns = ("detector", "what", "precision", "recall", "F1", f"FPR {report.split}", "FPR clean chat", "µs a text")
    lines += table(columns, rows)
    lines += [
        "",
        f"Flagged rate by kind of message ({report.split} split; for the clean kinds it is the false-positive rate):",
        "",
    ]
    kinds = [k for k in KINDS if any(k in r.by_kind for r in report.results)]
    lines += table(
        ("detector", *kinds), [(r.detector, *(_pct(r.by_kind.get(k, 0.0)) for k in kinds)) for r in report.results]
    )
    lines += ["", "Disguised offending words: caught rate disguised / plain on the same messages (aim: >= 90%):", ""]
    header = ["trick", "n"] + [f"{r.detector}: plain → disguised (of plain)" for r in report.results]
    trick_rows = []
    for index, name in enumerate(TRANSFORMS):
        cells = [
            f"{_pct(t.plain)} → {_pct(t.disguised)} ({t.ratio:.0%})" for t in (r.tricks[index] for r in report.results)
        ]
        n = report.results[0].tricks[index].n if report.results else 0
        trick_rows.append([name, n, *cells])
    lines += table(header, trick_rows)
    for title, status, result in report.other:
        lines += ["", f"{title}:", ""]
        lines += figures(result) if status == "ok" else [f"{result}."]
    return "\n".join(lines)


def write_doc(markdown: str, doc: Path = DOC) -> None:
    """Replace the marked block of ``doc`` with ``markdown``; the markers must be there."""
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{doc} has no {START} ... {END} block to replace")
    doc.write_text(text[: start + len(START)] + "\n" + markdown + "\n" + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the figures' block in docs/moderator.md")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the labelled sets and the word list")
    parser.add_argument("--detectors", default="filter,fast,detoxify", help="comma-separated: filter,fast,detoxify")
    parser.add_argument("--split", choices=("test", "tune"), default="test", help="which half of the labelled set")
    parser.add_argument("--limit", type=int, default=None, help="only the first N messages of each set")
    parser.add_argument("--detoxify-sample", type=int, default=300, help="texts of each set Detoxify scores")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.write and args.split != "test":
        parser.error("--write publishes the held-out test split's figures only")
    names = args.detectors.split(",")
    report = run(args.data, names, limit=args.limit, detoxify_sample=args.detoxify_sample, split=args.split)
    markdown = render(report)
    print(markdown)
    timings = ", ".join(f"{r.detector} {r.seconds:.1f} s" for r in report.results)
    print(f"\n({timings}; {time.perf_counter() - started:.1f} s in all)", file=sys.stderr)
    if args.write:
        write_doc(markdown)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
