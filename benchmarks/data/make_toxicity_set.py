"""Regenerate the labelled moderation sets in this folder, deterministically (one seed), from templates x vocabulary.

    python -m benchmarks.data.make_toxicity_set [--check]

Writes ``toxicity_labelled.jsonl`` (chat messages labelled toxic or clean, with a kind, a tune/test split and the
offending word as ``target``) and ``clean_chat.jsonl`` (ordinary chat for false-positive rates). Templates are split
between tune and test per kind, so a threshold tuned on one half is measured on sentences it has not seen.
``--check`` regenerates in memory and fails when the files on disk differ (the files are generated, not edited).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from benchmarks.data import clean_vocab, toxic_vocab

HERE = Path(__file__).resolve().parent
LABELLED = HERE / "toxicity_labelled.jsonl"
CLEAN_CHAT = HERE / "clean_chat.jsonl"
SEED = 20261203

# Messages to draw per kind (before removing duplicates, which may leave a few fewer).
TOXIC_QUOTA = {"insult": 230, "profanity": 130, "threat": 120, "harassment": 120, "identity": 95, "sexual": 105}
CLEAN_QUOTA = {"clean-casual": 640, "clean-hard": 560}
CLEAN_CHAT_SIZE = 2400

PREFIXES = ("",) * 6 + ("lol ", "ok ", "bro ", "honestly ", "{name} ", "yo ", "srsly ")
SUFFIXES = ("",) * 6 + (" lol", "!", "!!", " {emoji}", " haha", "...", " tbh", " lmao", ".", " fr")
_SLOT = re.compile(r"\{(\w+)\}")


Record = dict[str, str]


def fill(template: str, slots: dict[str, tuple[str, ...]], rng: random.Random, target: str = "") -> str:
    """``template`` with ``{t}`` replaced by ``target`` and every other slot by a random value of that slot."""

    def pick(match: re.Match[str]) -> str:
        name = match.group(1)
        return target if name == "t" else rng.choice(slots[name])

    return _SLOT.sub(pick, template)


def chatify(text: str, slots: dict[str, tuple[str, ...]], rng: random.Random, shout: float = 0.0) -> str:
    """Vary a message the way chat varies: a filler word in front, a tag at the end, lower case, sometimes caps."""
    if "\n" not in text:  # code blocks keep their shape
        text = fill(rng.choice(PREFIXES), slots, rng) + text + fill(rng.choice(SUFFIXES), slots, rng)
        roll = rng.random()
        if roll < shout:
            text = text.upper()
        elif roll < 0.35:
            text = text.lower()
        elif roll < 0.6:
            text = text[:1].upper() + text[1:]
    return text.strip()


def key(text: str) -> str:
    return " ".join(text.casefold().split())


def template_splits(count: int, rng: random.Random) -> list[str]:
    """Half of a kind's templates for tuning and half for testing, chosen at random but reproducibly."""
    order = list(range(count))
    rng.shuffle(order)
    splits = [""] * count
    for rank, index in enumerate(order):
        splits[index] = "tune" if rank % 2 == 0 else "test"
    return splits


def variety(template: str, targets: tuple[str, ...], slots: dict[str, tuple[str, ...]]) -> int:
    """How many distinct sentences a template makes before chat variation (a template without slots makes one)."""
    count = max(1, len(targets))
    for name in _SLOT.findall(template):
        if name != "t":
            count *= len(slots[name])
    return count


def from_templates(
    kind: str,
    label: str,
    templates: Sequence[tuple[str, tuple[str, ...]]],
    quota: int,
    slots: dict[str, tuple[str, ...]],
    rng: random.Random,
    seen: set[str],
) -> list[Record]:
    """About ``quota`` distinct messages of one kind; a template with few sentences gives at most three, so that
    chat variation of one fixed line does not fill the set with near-copies."""
    splits = template_splits(len(templates), rng)
    shout = 0.08 if label == "toxic" else 0.02
    out: list[Record] = []
    share = -(-quota // len(templates))
    caps = [min(share, 3 if variety(t, ts, slots) < 4 else share * 4) for t, ts in templates]
    made = [0] * len(templates)
    for round_share in (share, share * 4):  # an even share first, then the templates with room fill the rest
        for index, ((template, targets), split) in enumerate(zip(templates, splits, strict=True)):
            limit = min(round_share, caps[index])
            for _ in range(limit * 8):
                if made[index] >= limit or len(out) == quota:
                    break
                target = rng.choice(targets) if targets else ""
                text = chatify(fill(template, slots, rng, target), slots, rng, shout)
                if key(text) in seen:
                    continue
                seen.add(key(text))
                out.append({"text": text, "label": label, "kind": kind, "split": split, "target": target})
                made[index] += 1
    return out


def handwritten(
    lines: Iterable[tuple[str, str, str]], label: str, slots: dict[str, tuple[str, ...]], rng: random.Random
) -> list[Record]:
    records = []
    for index, (text, kind, target) in enumerate(lines):
        split = "tune" if index % 2 == 0 else "test"
        records.append({"text": fill(text, slots, rng), "label": label, "kind": kind, "split": split, "target": target})
    return records


def labelled_set(rng: random.Random) -> list[Record]:
    seen: set[str] = set()
    records: list[Record] = []
    for record in handwritten(toxic_vocab.HANDWRITTEN_TOXIC, "toxic", toxic_vocab.SLOTS, rng):
        seen.add(key(record["text"]))
        records.append(record)
    hard_lines = ((text, "clean-hard", target) for text, target in clean_vocab.HARD_HANDWRITTEN)
    for record in handwritten(hard_lines, "clean", clean_vocab.SLOTS, rng):
        seen.add(key(record["text"]))
        records.append(record)
    for kind, templates in toxic_vocab.TOXIC_TEMPLATES.items():
        records += from_templates(kind, "toxic", templates, TOXIC_QUOTA[kind], toxic_vocab.SLOTS, rng, seen)
    casual: list[tuple[str, tuple[str, ...]]] = [(template, ()) for template in clean_vocab.CASUAL]
    for kind, templates in (("clean-casual", casual), ("clean-hard", clean_vocab.HARD)):
        records += from_templates(kind, "clean", templates, CLEAN_QUOTA[kind], clean_vocab.SLOTS, rng, seen)
    rng.shuffle(records)
    return records


def clean_chat_set(rng: random.Random, exclude: set[str]) -> list[Record]:
    seen = set(exclude)
    templates = [(template, ()) for template in clean_vocab.CHAT + clean_vocab.CASUAL]
    chat = from_templates("clean-chat", "clean", templates, CLEAN_CHAT_SIZE, clean_vocab.SLOTS, rng, seen)
    for record in chat:
        del record["split"], record["target"]  # the whole set measures false positives
    rng.shuffle(chat)
    return chat


def render(records: Iterable[Record]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def build() -> tuple[str, str]:
    rng = random.Random(SEED)
    labelled = labelled_set(rng)
    chat = clean_chat_set(rng, {key(r["text"]) for r in labelled})
    return render(labelled), render(chat)


def summary(labelled: list[Record], chat: list[Record]) -> str:
    kinds = Counter((r["kind"], r["split"]) for r in labelled)
    toxic = sum(r["label"] == "toxic" for r in labelled)
    lines = [f"labelled: {len(labelled)} messages, {toxic / len(labelled):.1%} toxic; clean chat: {len(chat)}"]
    lines += [f"  {kind:<13} {split:<5} {n}" for (kind, split), n in sorted(kinds.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the files on disk are not what this makes")
    args = parser.parse_args(argv)
    labelled, chat = build()
    if args.check:
        stale = [p.name for p, text in ((LABELLED, labelled), (CLEAN_CHAT, chat)) if p.read_text() != text]
        print("up to date" if not stale else f"stale: {', '.join(stale)}")
        return 1 if stale else 0
    LABELLED.write_text(labelled)
    CLEAN_CHAT.write_text(chat)
    print(summary([json.loads(x) for x in labelled.splitlines()], [json.loads(x) for x in chat.splitlines()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
