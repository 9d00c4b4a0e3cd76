"""Precision and recall of the links, mentions and impersonation rules on their labelled sets.

    python -m benchmarks.rules_eval            # the table
    python -m benchmarks.rules_eval --json     # the figures as JSON (what ``run()`` returns)

The sets are in ``benchmarks/data/``, written by hand from the shapes these attacks take in chat:
``rules_links.jsonl`` (disguised, masked, look-alike and listed links, honest links, ordinary masked links, and
brand redirects the rule gets wrong), ``rules_mentions.jsonl`` (mention spam in Discord's and Slack's forms, repeats,
mentions inside code) and ``rules_names.jsonl`` (agent names against the name they might pass for). Each item's
``label`` is 1 when a moderator would want it refused under the default settings (or the item's ``settings``).
Reported per set: precision, recall, F1, false-positive rate, and the items the rule got wrong. With a clean chat
set present (``STEWARD_CLEAN_CHAT``, or ``benchmarks/data/clean_chat.jsonl``) it adds the share of clean messages
the links and mentions rules would act on, and the cost per message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from policy.impersonation import name_shapes
from policy.moderation_links import LinkSettings, link_problem
from policy.moderation_mentions import MentionSettings, count_mentions, spam_reason

DATA = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _scores(items: Iterable[tuple[dict[str, Any], bool]]) -> dict[str, Any]:
    tp = fp = fn = tn = 0
    wrong: list[str] = []
    for row, predicted in items:
        actual = bool(row["label"])
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
        tn += not predicted and not actual
        if predicted != actual:
            wrong.append(f"{row['id']} ({row['kind']}, {'missed' if actual else 'false alarm'})")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": tp + fp + fn + tn,
        "positives": tp + fn,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "false_positive_rate": round(fp / (fp + tn), 3) if fp + tn else 0.0,
        "wrong": wrong,
    }


def _link_refused(row: dict[str, Any]) -> bool:
    settings = LinkSettings(**row.get("settings", {}))
    return link_problem(row["text"], settings, agent=row["author"] == "agent") is not None


def _mention_refused(row: dict[str, Any]) -> bool:
    settings = MentionSettings()
    limit = settings.max_mentions if row["author"] == "agent" else settings.human_max_mentions
    return spam_reason(count_mentions(row["text"]), limit) is not None


def _name_collides(row: dict[str, Any]) -> bool:
    return bool(name_shapes(row["candidate"]) & name_shapes(row["known"]))


def _clean_chat() -> list[str]:
    path = Path(os.environ.get("STEWARD_CLEAN_CHAT", DATA / "clean_chat.jsonl"))
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def _clean(texts: list[str], check: Callable[[str], bool]) -> dict[str, Any]:
    start = time.perf_counter()
    flagged = [text for text in texts if check(text)]
    spent = time.perf_counter() - start
    return {
        "n": len(texts),
        "flagged": len(flagged),
        "false_positive_rate": round(len(flagged) / len(texts), 4) if texts else 0.0,
        "us_per_message": round(spent / len(texts) * 1e6, 2) if texts else 0.0,
        "examples": flagged[:3],
    }


def run() -> dict[str, Any]:
    """Every figure: ``{"links": {...}, "mentions": {...}, "names": {...}, "clean_chat": {...} | None}``."""
    links = _rows("rules_links.jsonl")
    mentions = _rows("rules_mentions.jsonl")
    names = _rows("rules_names.jsonl")
    result: dict[str, Any] = {
        "links": _scores((row, _link_refused(row)) for row in links),
        "mentions": _scores((row, _mention_refused(row)) for row in mentions),
        "names": _scores((row, _name_collides(row)) for row in names),
        "clean_chat": None,
    }
    texts = _clean_chat()
    if texts:
        defaults, mention_defaults = LinkSettings(), MentionSettings()
        result["clean_chat"] = {
            "links_people": _clean(texts, lambda t: link_problem(t, defaults) is not None),
            "links_agents": _clean(texts, lambda t: link_problem(t, defaults, agent=True) is not None),
            "mentions_people": _clean(
                texts, lambda t: spam_reason(count_mentions(t), mention_defaults.human_max_mentions) is not None
            ),
        }
    return result


def _table(result: dict[str, Any]) -> str:
    lines = [
        "| rule | items (refusable) | precision | recall | F1 | false-positive rate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("links", "mentions", "names"):
        s = result[name]
        lines.append(
            f"| {name} | {s['n']} ({s['positives']}) | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
            f"| {s['false_positive_rate']:.3f} |"
        )
    for name in ("links", "mentions", "names"):
        if result[name]["wrong"]:
            lines.append(f"\n{name} wrong: " + "; ".join(result[name]["wrong"]))
    clean = result["clean_chat"]
    if clean:
        lines.append("")
        for key, s in clean.items():
            lines.append(
                f"clean chat, {key.replace('_', ' for ')}: {s['flagged']}/{s['n']} flagged "
                f"({s['false_positive_rate']:.2%}), {s['us_per_message']:.1f} us/message"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = run()
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
