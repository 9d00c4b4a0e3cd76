"""Regenerate ``policy/confusables.py``: Unicode's UTS #39 confusables, reduced to the letters that imitate Latin.

    python -m benchmarks.build_confusables [--check]

The source is the ``confusables.txt`` data that the ``confusable-homoglyphs`` package ships (Unicode's security
mechanisms data, as JSON). Kept: every non-ASCII character whose confusable prototype is one to three ASCII letters
(case folded, because the normaliser case-folds before it maps), and the lower-case form of a capital that imitates
a Latin capital (``К`` -> ``K`` gives ``к`` -> ``k``) when Unicode lists nothing for the small letter itself.
Split by script: look-alikes that are themselves Latin (small capitals, IPA, dotless i) are always mapped; those of
other scripts only inside a word that mixes scripts (see ``policy.moderation_text``). ``--check`` exits 1 when the
committed table differs from what the data gives.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import sys
import unicodedata
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "policy" / "confusables.py"
PER_LINE = 48  # characters of packed table per source line (a pair is two characters, or more for "rn"-like)


def prototypes() -> dict[str, str]:
    """Each non-ASCII character -> the ASCII letters (lower case) it imitates."""
    from confusable_homoglyphs import confusables

    direct: dict[str, str] = {}
    for source, entries in confusables.confusables_data.items():
        if len(source) != 1 or source.isascii():
            continue
        for entry in entries:
            target = entry["c"]
            if target.isascii() and target.isalpha() and len(target) <= 3:
                direct[source] = target.lower()
                break
    # The small letter's own entry wins; a capital's entry stands in for its small letter when that has none.
    table = {source: target for source, target in direct.items() if source.casefold() == source}
    for source, target in direct.items():
        folded = source.casefold()
        if len(folded) == 1 and not folded.isascii():
            table.setdefault(folded, target)
    for source, target in latin_by_name().items():
        table.setdefault(source, target)
    return dict(sorted(table.items()))


def split_compatible(table: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``table`` without the characters NFKC changes (fullwidth, mathematical: the normaliser folds them first),
    and, apart, those NFKC would turn into a letter that imitates something else (Greek lunate sigma "ϲ" looks
    like "c" but NFKC makes it "σ", which imitates "o"): the normaliser maps those before NFKC."""
    kept = {k: v for k, v in table.items() if unicodedata.normalize("NFKC", k) == k}
    before: dict[str, str] = {}
    for char, target in table.items():
        folded = unicodedata.normalize("NFKC", char).casefold()
        if folded != char and not folded.isascii() and kept.get(folded, target) != target:
            before[char] = target
            upper = char.upper()
            if len(upper) == 1 and upper != char and unicodedata.normalize("NFKC", upper) != upper:
                before[upper] = target  # NFKC comes before case folding: the capital needs its own entry
    return kept, dict(sorted(before.items()))


def latin_by_name() -> dict[str, str]:
    """Latin letters that no decomposition takes back to a base letter, by their Unicode names: small capitals
    ("LATIN LETTER SMALL CAPITAL A" -> a) and letters with a stroke, bar or hook ("... L WITH STROKE" -> l)."""
    found: dict[str, str] = {}
    for code in range(0x80, 0x20000):
        char = chr(code)
        name = unicodedata.name(char, "")
        match = _BY_NAME.fullmatch(name)
        if match and not unicodedata.decomposition(char) and char.casefold() == char:
            found[char] = match.group(1).lower()
    return found


_BY_NAME = re.compile(r"LATIN (?:SMALL )?LETTER (?:SMALL CAPITAL )?([A-Z])(?: WITH (?:STROKE|BAR|HOOK|TAIL|CURL))*")


def script(char: str) -> str:
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def packed(pairs: dict[str, str]) -> list[str]:
    """``pairs`` as source lines of a string literal: each entry is "<char><target>;"."""
    text = "".join(f"{k}{v};" for k, v in pairs.items())
    return [text[i : i + PER_LINE] for i in range(0, len(text), PER_LINE)]


def literal(name: str, pairs: dict[str, str]) -> str:
    one_line = f"{name} = {json.dumps(''.join(packed(pairs)), ensure_ascii=False)}"
    if len(one_line) <= 120:
        return one_line + "\n"
    lines = "\n".join(f"    {json.dumps(line, ensure_ascii=False)}" for line in packed(pairs))
    return f"{name} = (\n{lines}\n)\n"


def render() -> str:
    table, before_nfkc = split_compatible(prototypes())
    latin = {k: v for k, v in table.items() if script(k) == "LATIN"}
    foreign = {k: v for k, v in table.items() if script(k) != "LATIN"}
    version = importlib.metadata.version("confusable-homoglyphs")
    return (
        '"""Unicode UTS #39 confusables that imitate Latin letters, generated by ``benchmarks/build_confusables.py``'
        f" from\nconfusable-homoglyphs {version}'s copy of Unicode's confusables.txt. Do not edit by hand: rerun"
        " the script.\n\nEach table is packed as ``<character><latin letters>;`` entries (one string keeps this"
        " module short).\n``LATIN``: look-alikes that are Latin letters themselves; ``FOREIGN``: letters of other"
        " scripts;\n``BEFORE_NFKC``: compatibility characters that NFKC would fold into a letter imitating another"
        ' one.\n"""\n\nfrom __future__ import annotations\n\n'
        + literal("LATIN", latin)
        + "\n"
        + literal("FOREIGN", foreign)
        + "\n"
        + literal("BEFORE_NFKC", before_nfkc)
        + "\n\ndef unpack(table: str) -> dict[str, str]:\n"
        + '    """The packed table as a dict: character -> the Latin letters it imitates."""\n'
        + '    return {entry[0]: entry[1:] for entry in table.split(";") if entry}\n'
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the committed table is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        same = TARGET.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{TARGET} is out of date: rerun python -m benchmarks.build_confusables")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
