"""What the normaliser buys the word filters: catch rate per keyboard trick, false positives on clean text, cost.

    python -m benchmarks.normaliser_eval [--data DIR] [--before REV] [--vader]

An administrator's word list (``DIR/wordlist_default.txt``) is compiled into word filters twice: with the code of
``--before`` (default: the merge base with ``main``; its ``normalize`` and ``compile_filters``, loaded from git) and
with the working tree's (``canonical`` and the filters on it). Then:

* **catch rate per trick**: every offending message of ``DIR/toxicity_labelled.jsonl`` that holds a listed word,
  with every listed word in it disguised by one trick (leetspeak ``1d10t``, repeated letters ``iddddiot``,
  punctuation ``i.d.i.o.t``, separators ``i-d-i-o-t`` ``i_d_i_o_t`` ``i*d*i*o*t``, spacing-out ``i d i o t``,
  homoglyphs, zero-width characters, fullwidth, combining marks), the share still caught, against the plain rate;
* **false positives**: the share of clean messages flagged (``DIR/clean_chat.jsonl``, the clean rows of the
  labelled set, and with ``--vader`` VADER's 4,200 human-rated tweets from the vaderSentiment sdist), and the
  messages the new code flags that the old did not;
* **cost**: µs per message of the normaliser (old ``normalize``, new ``canonical``) and of a filter check, on the
  clean chat messages.

When ``benchmarks/obfuscate.py`` (the shared transformations) is there, the catch rates are also given for each of
its tricks. ``run(data_dir)`` returns the figures as a dict (for ``benchmarks.moderation_eval``); ``TRICKS``,
``disguise``, ``catch_rates``, ``shared_trick_rates``, ``flagged`` and ``cost_us`` are the pieces.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policy.moderation_filters import compile_filters  # noqa: E402
from policy.moderation_text import canonical, normalize  # noqa: E402

Find = Callable[[str], object]

_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "b": "8", "g": "9", "l": "1"}
_CYRILLIC = {"a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "s": "ѕ", "x": "х", "y": "у", "h": "һ"}


def _leet(word: str) -> str:
    return "".join(_LEET.get(c, c) for c in word)


def _repeat(word: str) -> str:
    middle = len(word) // 2
    return word[:middle] + word[middle] * 4 + word[middle + 1 :]


def _homoglyph(word: str) -> str:
    """Every other look-alike letter Cyrillic, the rest Latin: a mixed-script word."""
    out, swapped = [], 0
    for c in word:
        if c in _CYRILLIC and swapped % 2 == 0:
            out.append(_CYRILLIC[c])
        else:
            out.append(c)
        swapped += c in _CYRILLIC
    return "".join(out)


def _homoglyph_all(word: str) -> str:
    return "".join(_CYRILLIC.get(c, c) for c in word)


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


TRICKS: dict[str, Callable[[str], str]] = {
    "plain": lambda w: w,
    "leetspeak (1d10t)": _leet,
    "repeated letters (iddddiot)": _repeat,
    "punctuation (i.d.i.o.t)": lambda w: ".".join(w),
    "hyphens (i-d-i-o-t)": lambda w: "-".join(w),
    "underscores (i_d_i_o_t)": lambda w: "_".join(w),
    "asterisks (i*d*i*o*t)": lambda w: "*".join(w),
    "spaced out (i d i o t)": lambda w: " ".join(w),
    "leetspeak + repeats (1dddd10t)": lambda w: _leet(_repeat(w)),
    "homoglyphs, mixed (іdіоt)": _homoglyph,
    "homoglyphs, every look-alike": _homoglyph_all,
    "zero-width inside": lambda w: "\u200b".join(w),
    "fullwidth": _fullwidth,
    "combining marks": lambda w: "".join(c + "\u0301" for c in w),
}


def _word_pattern(words: Iterable[str]) -> re.Pattern[str]:
    alternation = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternation})(?!\w)", re.IGNORECASE)


def disguise(text: str, pattern: re.Pattern[str], trick: Callable[[str], str]) -> str:
    """``text`` with every listed word (each word of a listed phrase) disguised by ``trick``."""
    return pattern.sub(lambda m: " ".join(trick(part.lower()) for part in m.group(1).split(" ")), text)


def catch_rates(find: Find, texts: list[str], words: Iterable[str]) -> dict[str, float]:
    """For each trick, the share of ``texts`` (offending messages holding a listed word) that ``find`` flags."""
    pattern = _word_pattern(words)
    rates = {}
    for name, trick in TRICKS.items():
        rates[name] = sum(find(disguise(t, pattern, trick)) is not None for t in texts) / len(texts)
    return rates


def shared_trick_rates(find: Find, texts: list[str], words: Iterable[str]) -> dict[str, float]:
    """The same, with the shared transformations of ``benchmarks.obfuscate`` (empty when it is not there)."""
    try:
        from benchmarks import obfuscate
    except ImportError:
        return {}
    pattern = _word_pattern(words)
    rates = {}
    for name in obfuscate.TRANSFORMS:
        disguised = [obfuscate.obfuscate(t, m.group(1), name) or t for t in texts if (m := pattern.search(t))]
        rates[name] = sum(find(t) is not None for t in disguised) / len(disguised)
    return rates


def flagged(find: Find, texts: list[str]) -> list[str]:
    return [t for t in texts if find(t) is not None]


def cost_us(fn: Callable[[str], object], texts: list[str], rounds: int = 5) -> float:
    """Best-of-``rounds`` mean CPU µs per call of ``fn`` over ``texts`` (thread time: other processes on the
    machine count less)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.thread_time()
        for text in texts:
            fn(text)
        best = min(best, (time.thread_time() - start) / len(texts) * 1e6)
    return best


# --- data ---------------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_words(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def vader_tweets() -> list[str]:
    from benchmarks.eval_sentiment import DATASETS, default_cache, fetch_sdist, read_ground_truth

    return [text for _, text in read_ground_truth(fetch_sdist(default_cache()), DATASETS["tweets"])]


# --- before: the text and filter modules as they were at --before -------------------------------------------------


def _exec_module(name: str, source: str, origin: str) -> ModuleType:
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, origin, "exec"), module.__dict__)
    return module


def old_find(rev: str, words: tuple[str, ...]) -> tuple[Find, Callable[[str], str]]:
    """``rev``'s filter check (its ``normalize`` then its ``find``) and its ``normalize``."""

    def show(path: str) -> str:
        done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True)
        return done.stdout

    text_mod = _exec_module("_before_moderation_text", show("policy/moderation_text.py"), f"{rev}:text")
    filters_source = show("policy/moderation_filters.py").replace(
        "from policy.moderation_text import", "from _before_moderation_text import"
    )
    filters_mod = _exec_module("_before_moderation_filters", filters_source, f"{rev}:filters")
    filters = filters_mod.compile_filters(words, ())
    return (lambda text: filters.find(text_mod.normalize(text))), text_mod.normalize


def merge_base() -> str:
    done = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "HEAD"


# --- the run ------------------------------------------------------------------------------------------------------


def run(data_dir: Path | None = None, before: str | None = None, vader: bool = False) -> dict[str, Any]:
    """Every figure, for both sides: ``{"catch": {side: {trick: rate}}, "false_positives": {set: {side: rate}},
    "new_false_positives": {set: [texts]}, "cost_us": {...}, "counts": {...}}``."""
    data = data_dir or ROOT / "benchmarks" / "data"
    words = tuple(read_words(data / "wordlist_default.txt"))
    labelled = read_jsonl(data / "toxicity_labelled.jsonl")
    chat = [row["text"] for row in read_jsonl(data / "clean_chat.jsonl")]
    pattern = _word_pattern(words)
    offending = [r["text"] for r in labelled if r["label"] == "toxic" and pattern.search(r["text"])]
    clean_sets = {"clean chat": chat, "labelled clean": [r["text"] for r in labelled if r["label"] == "clean"]}
    if vader:
        clean_sets["VADER tweets"] = vader_tweets()
    filters = compile_filters(words, ())
    sides: dict[str, Find] = {"after": lambda text: filters.find(normalize(text))}
    old, old_normalize = old_find(before or merge_base(), words)
    sides = {"before": old, **sides}
    result: dict[str, Any] = {"counts": {"words": len(words), "offending": len(offending)}}
    result["catch"] = {side: catch_rates(find, offending, words) for side, find in sides.items()}
    result["shared_catch"] = {side: shared_trick_rates(find, offending, words) for side, find in sides.items()}
    result["false_positives"], result["new_false_positives"] = {}, {}
    for name, texts in clean_sets.items():
        hits = {side: set(flagged(find, texts)) for side, find in sides.items()}
        result["counts"][name] = len(texts)
        result["false_positives"][name] = {side: len(h) / len(texts) for side, h in hits.items()}
        result["new_false_positives"][name] = sorted(hits["after"] - hits["before"])
    result["cost_us"] = {
        "normalize (before)": cost_us(old_normalize, chat),
        "canonical (after)": cost_us(canonical, chat),
        "filter check (before)": cost_us(old, chat),
        "filter check (after)": cost_us(sides["after"], chat),
    }
    return result


def render(result: dict[str, Any]) -> str:
    catch = result["catch"]
    lines = [
        f"Word list: {result['counts']['words']} entries; {result['counts']['offending']} offending messages hold one.",
        "",
        "| trick | caught before | caught after | after / plain |",
        "|---|---:|---:|---:|",
    ]
    plain = catch["after"]["plain"] or 1.0
    for trick in TRICKS:
        before, after = catch["before"][trick], catch["after"][trick]
        lines.append(f"| {trick} | {before:.1%} | {after:.1%} | {after / plain:.0%} |")
    shared = result["shared_catch"]
    if shared["after"]:
        lines += ["", "| benchmarks/obfuscate.py trick | caught before | caught after |", "|---|---:|---:|"]
        lines += [f"| {n} | {shared['before'][n]:.1%} | {rate:.1%} |" for n, rate in shared["after"].items()]
    lines += ["", "| clean set | messages | flagged before | flagged after | new |", "|---|---:|---:|---:|---:|"]
    for name, rates in result["false_positives"].items():
        new = len(result["new_false_positives"][name])
        lines.append(f"| {name} | {result['counts'][name]} | {rates['before']:.2%} | {rates['after']:.2%} | {new} |")
    lines += ["", "| µs per message (clean chat) | |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in result["cost_us"].items()]
    for name, texts in result["new_false_positives"].items():
        lines += ["", f"New flags on {name}:"] + [f"  {t!r}" for t in texts[:20]] if texts else []
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data", help="the labelled sets")
    parser.add_argument("--before", default=None, help="the revision to compare with (default: merge base)")
    parser.add_argument("--vader", action="store_true", help="also VADER's tweets (downloads the sdist once)")
    args = parser.parse_args(argv)
    print(render(run(args.data, args.before, args.vader)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
