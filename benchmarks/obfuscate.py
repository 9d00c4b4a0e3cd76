"""The keyboard and Unicode tricks people use to slip a word past a filter, as deterministic transformations.

``obfuscate(text, target, name)`` disguises the offending word(s) ``target`` inside ``text`` with one trick and
leaves the rest of the message as it was; ``disguise(word, name)`` does it to one word. The same word always comes
out the same (the choices are seeded by the word and the trick), so figures can be compared from run to run.

Tricks (``TRANSFORMS``):

* ``leetspeak``: digits and symbols for letters (``idiot`` -> ``1d10t``);
* ``repeated``: a letter or two held down (``iddddiot``);
* ``punctuation``: a dot between letters (``i.d.i.o.t``);
* ``spaced``: a space between letters (``i d i o t``);
* ``separators``: ``-``, ``_`` or ``*`` between letters (``i-d-i-o-t``);
* ``homoglyphs``: Cyrillic and Greek letters that look Latin (``іdіоt``);
* ``zero_width``: invisible characters between letters;
* ``fullwidth``: the fullwidth forms of the letters (``ｉｄｉｏｔ``);
* ``combining``: accents stacked on the letters (``i̇d́i̊ó``).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable

LEET: dict[str, tuple[str, ...]] = {
    "a": ("4", "@"),
    "b": ("8",),
    "e": ("3",),
    "g": ("9",),
    "i": ("1", "!"),
    "l": ("1",),
    "o": ("0",),
    "s": ("5", "$"),
    "t": ("7",),
    "z": ("2",),
}

# Latin letter -> a Cyrillic or Greek letter drawn the same in common fonts (lower case).
HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("а", "α"),
    "c": ("с", "ϲ"),
    "e": ("е",),
    "h": ("һ",),
    "i": ("і", "ι"),
    "j": ("ј",),
    "k": ("κ", "к"),
    "m": ("м",),
    "o": ("о", "ο"),
    "p": ("р", "ρ"),
    "s": ("ѕ",),
    "t": ("т", "τ"),
    "u": ("υ",),
    "v": ("ν",),
    "x": ("х", "χ"),
    "y": ("у", "γ"),
}

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
COMBINING = ("\u0301", "\u0300", "\u0308", "\u0307", "\u030a", "\u0303", "\u0327")


def _leetspeak(word: str, rng: random.Random) -> str:
    """Most letters that have a digit or symbol swapped (each with odds 3 in 4), at least one."""
    swappable = [i for i, c in enumerate(word) if c.lower() in LEET]
    if not swappable:
        return word
    picked = {i for i in swappable if rng.random() < 0.75} or {rng.choice(swappable)}
    return "".join(rng.choice(LEET[c.lower()]) if i in picked else c for i, c in enumerate(word))


def _repeated(word: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if not letters:
        return word
    picked = set(rng.sample(letters, k=min(len(letters), rng.choice((1, 2)))))
    return "".join(c * rng.randint(3, 5) if i in picked else c for i, c in enumerate(word))


def _between(separator: str) -> Callable[[str, random.Random], str]:
    def join(word: str, rng: random.Random) -> str:
        return separator.join(word)

    return join


def _separators(word: str, rng: random.Random) -> str:
    return rng.choice("-_*").join(word)


def _homoglyphs(word: str, rng: random.Random) -> str:
    out = []
    for c in word:
        glyph = rng.choice(HOMOGLYPHS[c.lower()]) if c.lower() in HOMOGLYPHS else c
        out.append(glyph.upper() if c.isupper() else glyph)
    return "".join(out)


def _zero_width(word: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(ZERO_WIDTH) if i < len(word) - 1 else "") for i, c in enumerate(word))


def _fullwidth(word: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


def _combining(word: str, rng: random.Random) -> str:
    return "".join(c + rng.choice(COMBINING) if c.isalpha() else c for c in word)


TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "leetspeak": _leetspeak,
    "repeated": _repeated,
    "punctuation": _between("."),
    "spaced": _between(" "),
    "separators": _separators,
    "homoglyphs": _homoglyphs,
    "zero_width": _zero_width,
    "fullwidth": _fullwidth,
    "combining": _combining,
}


def disguise(word: str, name: str) -> str:
    """``word`` with the trick ``name`` applied; the same word and trick always give the same result."""
    rng = random.Random(zlib.crc32(f"{name}\0{word}".encode()))
    return TRANSFORMS[name](word, rng)


def obfuscate(text: str, target: str, name: str) -> str | None:
    """``text`` with every occurrence of ``target`` (a word or a phrase, any case) disguised by the trick ``name``;
    each word of a phrase is disguised on its own. None when ``target`` is empty or not a whole word of ``text``."""
    if not target.strip():
        return None
    words = target.split()
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)
    if pattern.search(text) is None:
        return None

    def replace(match: re.Match[str]) -> str:
        return re.sub(r"\S+", lambda word: disguise(word.group(0), name), match.group(0))

    return pattern.sub(replace, text)
