"""Compare offline toxicity backends on the labelled sets and calibrate the fast model's thresholds.

    python -m benchmarks.toxicity_fast_eval [--data benchmarks/data] [--json out.json]

For each backend that is importable here (the fast model on canonical and on raw text; better-profanity's word
list and HateSonar's model if installed, for comparison), on ``toxicity_labelled.jsonl`` (``split`` tune / test)
and ``clean_chat.jsonl``:

- the threshold that maximises F1 on the tune split, with its precision, recall, F1 and false-positive rate on
  the test split and the false-positive rate on the clean chat set;
- the threshold with the best F1 on the tune split among those whose tune false-positive rate is at most 5 %
  (the rule that chose the fast model's default, see docs/toxicity.md), with the same figures;
- recall per obfuscation of the offending word (``target``) against the plain recall, with the input the
  backend reads, so that canonical and raw input can be compared;
- the cost per message, scored as a batch; the tune split's recall at a few cascade floors.

Pure measurement; prints a Markdown report. Nothing is written unless ``--json`` is given.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from policy.moderation_text import canonical

Scorer = Callable[[Sequence[str]], list[float]]

ROOT = Path(__file__).resolve().parents[1]
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
CYRILLIC = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"})


def _repeat(word: str) -> str:
    return "".join(ch * 3 if i == len(word) // 2 else ch for i, ch in enumerate(word))


OBFUSCATIONS: dict[str, Callable[[str], str]] = {
    "leetspeak": lambda w: w.translate(LEET),
    "repeated letters": _repeat,
    "dots inside": lambda w: ".".join(w),
    "spaced out": lambda w: " ".join(w),
    "separators": lambda w: "-".join(w),
    "homoglyphs": lambda w: w.translate(CYRILLIC),
    "zero-width": lambda w: "\u200b".join(w),
}


def load(data: Path) -> tuple[list[dict[str, Any]], list[str]]:
    labelled = [json.loads(line) for line in (data / "toxicity_labelled.jsonl").read_text().splitlines() if line]
    clean = [json.loads(line)["text"] for line in (data / "clean_chat.jsonl").read_text().splitlines() if line]
    return labelled, clean


def backends() -> dict[str, Scorer]:
    """Every backend importable here, by name."""
    from cogs.toxicity.fast import FastModel

    fast = FastModel(canonical_input=False)
    found: dict[str, Scorer] = {
        "alt-profanity-check, canonical input": lambda texts: [fast.probability(canonical(t)) for t in texts],
        "alt-profanity-check, raw input": lambda texts: [fast.probability(t) for t in texts],
    }
    try:
        from better_profanity import profanity  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        profanity.load_censor_words()
        found["better-profanity word list"] = lambda texts: [float(profanity.contains_profanity(t)) for t in texts]
    try:
        from hatesonar import Sonar  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        sonar = Sonar()
        found["HateSonar"] = lambda texts: [1.0 - sonar.ping(t)["classes"][2]["confidence"] for t in texts]
    return found


def rates(labels: Sequence[bool], scores: Sequence[float], threshold: float) -> dict[str, float]:
    tp = sum(1 for y, s in zip(labels, scores, strict=True) if y and s >= threshold)
    fp = sum(1 for y, s in zip(labels, scores, strict=True) if not y and s >= threshold)
    positives = sum(labels)
    negatives = len(labels) - positives
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "fpr": fp / negatives if negatives else 0.0}


def best_f1(labels: Sequence[bool], scores: Sequence[float], max_fpr: float = 1.0) -> float:
    """The threshold with the best F1 among those whose false-positive rate is at most ``max_fpr``."""
    candidates = sorted(set(scores) | {0.5})
    allowed = [t for t in candidates if rates(labels, scores, t)["fpr"] <= max_fpr] or [max(candidates)]
    return max(allowed, key=lambda t: rates(labels, scores, t)["f1"])


def obfuscated(rows: Sequence[dict[str, Any]], how: Callable[[str], str]) -> list[str]:
    """Each text with its ``target`` word(s) disguised (the text unchanged when it has no target in it)."""
    out = []
    for row in rows:
        target = str(row.get("target") or "")
        text = row["text"]
        out.append(text.replace(target, how(target)) if target and target in text else text)
    return out


def evaluate(name: str, score: Scorer, labelled: Sequence[dict[str, Any]], clean: Sequence[str]) -> dict[str, Any]:
    tune = [r for r in labelled if r["split"] == "tune"]
    test = [r for r in labelled if r["split"] == "test"]
    y_tune = [r["label"] == "toxic" for r in tune]
    y_test = [r["label"] == "toxic" for r in test]
    s_tune = score([r["text"] for r in tune])
    s_test = score([r["text"] for r in test])
    started = time.perf_counter()
    s_clean = score(clean)
    per_message_us = (time.perf_counter() - started) / len(clean) * 1e6
    result: dict[str, Any] = {"name": name, "us_per_message": per_message_us}
    for key, limit in (("best_f1", 1.0), ("fpr_5pct", 0.05)):
        threshold = best_f1(y_tune, s_tune, limit)
        result[key] = {
            "threshold": threshold,
            "tune": rates(y_tune, s_tune, threshold),
            "test": rates(y_test, s_test, threshold),
            "clean_chat_fpr": sum(s >= threshold for s in s_clean) / len(s_clean),
        }
    threshold = result["fpr_5pct"]["threshold"]
    toxic = [r for r in test if r["label"] == "toxic" and r.get("target") and r["target"] in r["text"]]
    plain = sum(s >= threshold for s in score([r["text"] for r in toxic])) / max(len(toxic), 1)
    result["obfuscation"] = {"plain": plain, "rows": len(toxic)}
    for how, transform in OBFUSCATIONS.items():
        caught = sum(s >= threshold for s in score(obfuscated(toxic, transform)))
        result["obfuscation"][how] = caught / max(len(toxic), 1)
    result["cascade_floor_recall"] = {
        floor: rates(y_tune, s_tune, floor)["recall"] for floor in (0.03, 0.05, 0.08, 0.1, 0.2)
    }
    return result


def render(results: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| backend | threshold (tune) | test P | test R | test F1 | test FPR | clean chat FPR | µs/message |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for key, label in (("best_f1", "best F1"), ("fpr_5pct", "tune FPR <= 5 %")):
            m = r[key]
            t = m["test"]
            lines.append(
                f"| {r['name']} ({label}) | {m['threshold']:.3f} | {t['precision']:.3f} | {t['recall']:.3f} | "
                f"{t['f1']:.3f} | {t['fpr']:.3f} | {m['clean_chat_fpr']:.4f} | {r['us_per_message']:.0f} |"
            )
    names = list(OBFUSCATIONS)
    lines += ["", "| backend | plain | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for r in results:
        o = r["obfuscation"]
        lines.append(f"| {r['name']} | {o['plain']:.3f} | " + " | ".join(f"{o[n]:.3f}" for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    labelled, clean = load(args.data)
    results = [evaluate(name, score, labelled, clean) for name, score in backends().items()]
    print(render(results))
    for r in results:
        print(f"{r['name']}: recall on tune at cascade floors {r['cascade_floor_recall']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
