"""How well the duplicate rule catches an agent repeating itself, and how often it refuses a distinct answer.

From ``benchmarks/data/agent_answers.jsonl`` (320 agent answers to varied questions) it measures, with the default
``[moderator.duplicate]`` settings and the rule's own code (``policy.moderation_duplicates``):

* the catch rate for exact repeats and for repeats with one word disguised: leetspeak, repeated letters, spaced
  out, punctuation inside the word, look-alike letters (homoglyphs), or swapped for a synonym;
* the false-reject rate on distinct answers: every ordered pair of the 320, and pairs of distinct answers whose
  word sets overlap 40-60% (answers in the set, and answers that share a block of another's words);
* the same figures for the previous rule (a bottom-12 shingle sketch estimate, no exact confirmation) beside them.

``run() -> dict`` returns the figures; ``python benchmarks/duplicate_eval.py`` prints them as a table.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from policy.moderation import AuthorKind, MatchMode, Recent, duplicate_reason, make_payload, payload_key
from policy.moderation_settings import DuplicateSettings
from policy.moderation_text import canonical, normalize, shingle_sketch, sketch_similarity

DATA = Path(__file__).parent / "data" / "agent_answers.jsonl"
_WORD = re.compile(r"[A-Za-z]{4,}")
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
_HOMOGLYPHS = str.maketrans({"a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у"})
# Everyday words an agent could swap for another to dodge a repeat check.
SYNONYMS = {
    "about": "around", "after": "following", "again": "once more", "also": "too", "answer": "reply",
    "before": "prior to", "best": "finest", "big": "large", "bigger": "larger", "check": "verify", "choose": "pick",
    "clean": "wipe", "close": "shut", "common": "usual", "contact": "reach", "create": "make", "day": "daytime",
    "easy": "simple", "easier": "simpler", "email": "e-mail", "enough": "sufficient", "every": "each",
    "fast": "quick", "faster": "quicker", "find": "locate", "first": "initially", "fix": "repair", "free": "gratis",
    "get": "obtain", "give": "provide", "good": "fine", "great": "excellent", "help": "assist", "helps": "assists",
    "keep": "retain", "large": "big", "last": "final", "learn": "master", "little": "small", "long": "lengthy",
    "look": "glance", "lot": "great deal", "make": "create", "many": "numerous", "most": "nearly all",
    "need": "require", "new": "fresh", "next": "following", "often": "frequently", "old": "aged", "open": "launch",
    "people": "folks", "pick": "choose", "press": "click", "quick": "fast", "quickly": "rapidly",
    "right": "correct", "run": "execute", "safe": "secure", "see": "view", "send": "forward", "shows": "displays",
    "show": "display", "simple": "basic", "small": "little", "start": "begin", "starts": "begins", "stop": "halt",
    "sure": "certain", "take": "grab", "takes": "needs", "try": "attempt", "use": "utilise", "usually": "normally",
    "very": "really", "want": "wish", "week": "seven days", "works": "functions", "write": "type",
}  # fmt: skip


def load_answers(path: Path = DATA) -> list[str]:
    return [json.loads(line)["answer"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- one-word disguises ---------------------------------------------------------------------------------------------


def _swap_word(text: str, rng: random.Random, change: Callable[[str], str | None]) -> str | None:
    """``text`` with one word (of four letters or more, picked by ``rng`` among those ``change`` can alter) changed."""
    spots = [(m.start(), m.end(), changed) for m in _WORD.finditer(text) if (changed := change(m.group())) is not None]
    if not spots:
        return None
    start, end, changed = rng.choice(spots)
    return text[:start] + changed + text[end:]


def _leet(word: str) -> str | None:
    changed = word.lower().translate(_LEET)
    return changed if changed != word.lower() else None


def _repeat(word: str) -> str:
    middle = len(word) // 2
    return word[:middle] + word[middle] * 4 + word[middle + 1 :]


def _homoglyph(word: str) -> str | None:
    changed = word.translate(_HOMOGLYPHS)
    return changed if changed != word else None


def _synonym(word: str) -> str | None:
    return SYNONYMS.get(word.lower())


DISGUISES: dict[str, Callable[[str], str | None]] = {
    "leetspeak (p4ssw0rd)": _leet,
    "repeated letters (passsssword)": _repeat,
    "spaced out (p a s s w o r d)": " ".join,
    "punctuation inside (p.a.s.s.w.o.r.d)": ".".join,
    "homoglyph (Cyrillic а, е, о ...)": _homoglyph,
    "synonym swapped": _synonym,
}


# --- the two rules --------------------------------------------------------------------------------------------------

Judge = Callable[[str, str], bool]  # (earlier, now) -> rejected


def current_rule(threshold: float) -> Judge:
    """The duplicate rule as shipped: the agent's earlier answer 30 s before, within the default window."""
    window = DuplicateSettings().window_seconds

    def judge(earlier: str, now: str) -> bool:
        before = make_payload(earlier, MatchMode.NEAR)
        mine = make_payload(now, MatchMode.NEAR)
        reason = duplicate_reason(
            author="helper",
            key=mine.key,
            sketch=mine.sketch,
            at=1_800_000_030.0,
            history=[Recent(1_800_000_000.0, "helper", AuthorKind.AGENT, 1, 0, *before)],
            window=window,
            any_agent=False,
            near_threshold=threshold,
            mode=MatchMode.NEAR,
            words=mine.words,
            length=mine.length,
        )
        return reason is not None

    return judge


def sketch_only_rule(threshold: float) -> Judge:
    """The rule before the exact confirmation: the same normalised text, or a sketch estimate at the threshold."""

    def judge(earlier: str, now: str) -> bool:
        a, b = normalize(earlier), normalize(now)
        if payload_key(a) == payload_key(b):
            return True
        return sketch_similarity(shingle_sketch(a), shingle_sketch(b)) >= threshold

    return judge


# --- the cases ------------------------------------------------------------------------------------------------------


def shared_disguises() -> dict[str, Callable[[str], str | None]]:
    """The tricks of ``benchmarks.obfuscate`` (the filters' evaluation uses them too), one word at a time, when that
    module is there; none otherwise."""
    try:
        from benchmarks import obfuscate  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return {}

    def one(name: str) -> Callable[[str], str | None]:
        def change(word: str) -> str | None:
            changed: str = obfuscate.disguise(word, name)
            return changed if changed != word else None

        return change

    return {f"shared trick: {name}": one(name) for name in obfuscate.TRANSFORMS}


def disguised(answers: list[str], seed: int) -> dict[str, list[tuple[str, str]]]:
    """(answer, answer with one word disguised) for every answer a disguise applies to."""
    cases: dict[str, list[tuple[str, str]]] = {"exact repeat": [(a, a) for a in answers]}
    for name, change in {**DISGUISES, **shared_disguises()}.items():
        rng = random.Random(f"{seed}:{name}")
        pairs = [(a, swapped) for a in answers if (swapped := _swap_word(a, rng, change)) is not None]
        cases[name] = pairs
    return cases


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", canonical(text)))


def word_overlap(a: str, b: str) -> float:
    """The Jaccard overlap of two texts' word sets (canonical words)."""
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa or wb else 1.0


def overlapping(answers: list[str], seed: int, low: float = 0.4, high: float = 0.6) -> list[tuple[str, str]]:
    """Distinct answers whose word sets overlap ``low``-``high``: pairs from the set, then answers that share a
    block of about half another answer's words (a templated opening or closing), up to 1,000 pairs."""
    pairs = [(a, b) for i, a in enumerate(answers) for b in answers[i + 1 :] if low <= word_overlap(a, b) <= high]
    rng = random.Random(seed)
    for _ in range(20_000):
        if len(pairs) >= 1_000:
            break
        a, b = rng.sample(answers, 2)
        wa, wb = a.split(), b.split()
        if len(wa) < 10 or len(wb) < 10:
            continue
        half = len(wa) // 2
        mixed = (
            " ".join(wa[:half] + wb[len(wb) // 2 :]) if rng.random() < 0.5 else " ".join(wb[: len(wb) // 2] + wa[half:])
        )
        if low <= word_overlap(a, mixed) <= high:
            pairs.append((a, mixed))
    return pairs


def all_pairs(answers: list[str]) -> Iterator[tuple[str, str]]:
    for i, a in enumerate(answers):
        for j, b in enumerate(answers):
            if i != j:
                yield a, b


def _rate(judge: Judge, pairs: list[tuple[str, str]] | Iterator[tuple[str, str]]) -> tuple[int, int]:
    hits = total = 0
    for earlier, now in pairs:
        total += 1
        hits += judge(earlier, now)
    return hits, total


def run(seed: int = 14, path: Path = DATA) -> dict[str, object]:
    """Every figure: ``catch`` (disguise -> {rate, before, cases}; the shared tricks of ``benchmarks.obfuscate`` too,
    when it is there), ``false_reject`` (set -> {rate, before, pairs, rejected}), ``one_word_catch`` (the six
    disguises' pooled catch rate), ``us_per_check``."""
    answers = load_answers(path)
    threshold = DuplicateSettings().near_threshold
    now, before = current_rule(threshold), sketch_only_rule(threshold)
    catch: dict[str, dict[str, float | int]] = {}
    pooled = [0, 0]
    for name, pairs in disguised(answers, seed).items():
        hits, total = _rate(now, pairs)
        old, _ = _rate(before, pairs)
        catch[name] = {"rate": hits / total, "before": old / total, "cases": total}
        if name != "exact repeat" and not name.startswith("shared trick"):
            pooled[0] += hits
            pooled[1] += total
    false: dict[str, dict[str, float | int]] = {}
    started = time.perf_counter()
    hits, total = _rate(now, all_pairs(answers))
    per_check = (time.perf_counter() - started) / total * 1e6
    old, _ = _rate(before, all_pairs(answers))
    false["all distinct pairs"] = {"rate": hits / total, "before": old / total, "pairs": total, "rejected": hits}
    band = overlapping(answers, seed)
    hits, total = _rate(now, band)
    old, _ = _rate(before, band)
    false["pairs with 40-60% word overlap"] = {
        "rate": hits / total,
        "before": old / total,
        "pairs": total,
        "rejected": hits,
    }
    return {
        "answers": len(answers),
        "threshold": threshold,
        "catch": catch,
        "one_word_catch": pooled[0] / pooled[1],
        "false_reject": false,
        "us_per_check": per_check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    result = run(args.seed)
    print(
        f"{result['answers']} agent answers, near_threshold {result['threshold']:.0%}; "
        f"{result['us_per_check']:.1f} µs a check (payloads included)"
    )
    print("| Repeat | Caught (before) | Caught now | Cases |")
    print("|---|---:|---:|---:|")
    catch = result["catch"]
    assert isinstance(catch, dict)
    for name, row in catch.items():
        print(f"| {name} | {row['before']:.1%} | {row['rate']:.1%} | {row['cases']:,} |")
    print(f"| **one-word disguises, pooled** | | **{result['one_word_catch']:.1%}** | |")
    print()
    print("| Distinct answers | Rejected (before) | Rejected now | Pairs |")
    print("|---|---:|---:|---:|")
    false = result["false_reject"]
    assert isinstance(false, dict)
    for name, row in false.items():
        print(f"| {name} | {row['before']:.2%} | {row['rate']:.2%} ({row['rejected']:,}) | {row['pairs']:,} |")


if __name__ == "__main__":
    main()
