"""Undo the keyboard tricks that slip a word past a filter: leetspeak, separators, spacing-out, repeated letters.

Runs on text that ``policy.moderation_text.normalize`` has already folded (lower case, single spaces, Unicode tricks
gone) and works word by word, keeping readable words: ``1d10t`` -> ``idiot``, ``i.d.i.o.t`` / ``i-d-i-o-t`` /
``i_d_i_o_t`` / ``i*d*i*o*t`` -> ``idiot``, ``i d i o t`` -> ``idiot``, ``iddddiot`` -> ``iddiot`` (a run of three or
more of one letter becomes two: English has no tripled letters, and two keep "good" and "cool" apart from "god" and
"col"). Words that only look like tricks are left alone: numbers, times and prices (``10:30``, ``$5``, ``4.5``),
numbers with a unit (``4am``, ``2nd``, ``1080p``, ``5k``), version-like names (``mp3``, ``python3``), URLs, e-mail
addresses, mentions and markup. Every function also carries an index (the source position of each character), so a
filter's hit can be masked in the original text. Pure functions, no I/O; linear in the length of the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Digits and symbols typed for the letters they resemble. "1" is "l" in a run of ones ("ki11") or beside an "l".
LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "l",
    "€": "e",
    "¢": "c",
}
_LEET_CHARS = "".join(LEET)
SEPARATORS = ".-_*~·•/,:'"
_SEP_CLASS = re.escape(SEPARATORS)

# Three single characters in a row: the one test that needs the whole text (spacing-out spans words).
_SPACED = re.compile(r"(?:^| )(?:\S[^\w ]* ){2}\S[^\w ]*(?: |$)")
_CACHED_WORD = 32  # words up to this long are remembered (chat repeats its words); longer ones are worked out

# Leading and trailing punctuation that belongs to the sentence, not the word.
_LEADING = "\"'([{<«“‘"
_TRAILING = "\"'.,!?;:)]}>»”’…"
# Words that are something else than words: left exactly as they are.
_PROTECTED = re.compile(
    r"[a-z][a-z0-9+.-]*://\S*|www\.\S*|\S+@\S+\.\S+|<[^>]*>|:[a-z0-9_+-]+:|#[\w-]+|[@#]\w+"
    r"|[$€£¥]?\d+(?:[.,:/-]\d+)*(?:st|nd|rd|th|am|pm|a\.m\.?|p\.m\.?|k|m|bn|b|g|gb|mb|kb|tb|ms|s|h|hr|hrs|min|mins"
    r"|sec|px|pt|fps|hz|khz|mhz|ghz|d|x|p|v|w|kw|kg|g|km|cm|mm|ml|l|lb|lbs|oz|ft|mph|kph|yo|y|mo|wk|yr|yrs|x\d+|v\d+)?"
    # Version-like names (mp3, python3, win10, win11, p99); but a doubled digit or a lone 0 after a word is leet
    # ("ki11", "fr33", "crypt0").
    r"|[a-z]\d+|[a-z]{2,}(?!(\d)\1$|0$)\d+|[a-z]*[b-df-hj-np-tv-z]11",
)
_SPLIT_SEPARATORS = re.compile(rf"[{_SEP_CLASS}]+")
_RUN = re.compile(r"([a-z])\1{2,}")
# What a word needs for ``_fix_word`` to change it: a leet character or a separator, or one letter three times.
_WORD_SUSPECT = re.compile(rf"[{re.escape(''.join(LEET) + SEPARATORS)}]|([a-z])\1\1")

Chars = list[tuple[str, int]]  # a word as (character, source position) pairs


def deobfuscate(normalized: str, spaced: bool | None = None, split_article: bool = False) -> str:
    """``normalized`` with keyboard tricks undone (see the module's docstring). Word by word, each word's result
    remembered, so ordinary chat costs a dictionary look-up a word. ``spaced``: ``spaced_out(normalized)``, when
    the caller has it. ``split_article``: a spelled-out word that starts with "a", "i" or "u" and four more
    letters keeps that first letter apart ("a b a s t a r d" -> "a bastard" rather than "abastard"), a form word
    filters also look at."""
    words = normalized.split(" ")
    if not (spaced_out(normalized) if spaced is None else spaced):
        return " ".join([_fixed(word)[0] for word in words])
    return " ".join([_fixed(_merge(words[a:b]))[0] for a, b in _spaced_groups(words, split_article)])


def spelled_forms(normalized: str) -> list[str]:
    """``deobfuscate(normalized)`` and, when the text holds spelled-out letters and keeping a leading article apart
    reads differently (``a d i c k`` as "a dick", not "adick"), that form too: what word matchers look at."""
    spaced = spaced_out(normalized)
    joined = deobfuscate(normalized, spaced)
    if not spaced:
        return [joined]
    apart = deobfuscate(normalized, spaced, split_article=True)
    return [joined] if apart == joined else [joined, apart]


def deobfuscate_with_map(normalized: str, index: list[int], split_article: bool = False) -> tuple[str, list[int]]:
    """``deobfuscate``, carrying ``index`` (the source position of each character of ``normalized``) along."""
    words = normalized.split(" ")
    starts = [0]
    for word in words:
        starts.append(starts[-1] + len(word) + 1)
    out: list[str] = []
    out_index: list[int] = []
    for a, b in _spaced_groups(words, split_article):
        last = starts[b - 1]
        positions = [index[starts[j]] for j in range(a, b - 1)] + index[last : last + len(words[b - 1])]
        if out:
            out.append(" ")
            out_index.append(positions[0])
        fixed, offsets = _fixed(_merge(words[a:b]))
        out.append(fixed)
        out_index.extend(positions[offset] for offset in offsets)
    return "".join(out), out_index


def _fixed(word: str) -> tuple[str, tuple[int, ...]]:
    """One word undone, with the offset in ``word`` of each character of the result."""
    return _fixed_cached(word) if len(word) <= _CACHED_WORD else _fix_text(word)


def _fix_text(word: str) -> tuple[str, tuple[int, ...]]:
    if _WORD_SUSPECT.search(word) is None:
        return word, tuple(range(len(word)))  # no leet character, separator or letter run: nothing to undo
    fixed = _fix_word(list(zip(word, range(len(word)), strict=True)))
    return "".join(c for c, _ in fixed), tuple(i for _, i in fixed)


_fixed_cached = lru_cache(maxsize=8192)(_fix_text)


def leet_form(text: str) -> str:
    """Every leet character of every word that holds a letter, as that letter (the same length, so an index still
    fits): a form word filters also look at, for the words ``deobfuscate`` keeps as typed because they could be a
    name or a number with a unit (``cun7``, ``ky5``, ``84574rd``)."""
    if _LEETISH.search(text) is None:
        return text
    return " ".join(_leet_all(word) if _has_letter(word) else word for word in text.split(" "))


def _leet_all(word: str) -> str:
    core = word.rstrip(_TRAILING)
    return core.translate(_LEET_TABLE) + word[len(core) :]


_LEET_TABLE = str.maketrans(LEET)
# A leet digit or symbol against a letter; "@", "!" and "|" are matched by the filters' own letter classes.
_LEETISH = re.compile(r"[a-z][0-9$€¢]|[0-9$€¢][a-z]")


def _is_spelled_char(word: str) -> bool:
    """A word of one letter or leet character, perhaps with the sentence's punctuation after it (``t!``)."""
    char = word[0]
    return (("a" <= char <= "z") or char in LEET) and (len(word) == 1 or all(c in _TRAILING for c in word[1:]))


def spaced_out(normalized: str) -> bool:
    """Whether ``normalized`` may hold a spelled-out word (three single characters in a row)."""
    return _SPACED.search(normalized) is not None


def _spaced_groups(words: list[str], split_article: bool = False) -> list[tuple[int, int]]:
    """The words as ``(first, end)`` ranges, each range one word of the result: a run of three or more single
    letters (or leet characters, with at least two letters) is one range, spelling one word; empty words go."""
    groups: list[tuple[int, int]] = []
    run_start = -1
    for pos, word in enumerate([*words, ""]):
        if word and _is_spelled_char(word):
            run_start = pos if run_start < 0 else run_start
            continue
        if run_start >= 0:
            groups.extend(_run_groups(words, run_start, pos, split_article))
            run_start = -1
        if word:
            groups.append((pos, pos + 1))
    return groups


def _run_groups(words: list[str], start: int, end: int, split_article: bool) -> list[tuple[int, int]]:
    run = words[start:end]
    if not _spelled_out(run):
        return [(pos, pos + 1) for pos in range(start, end)]
    if split_article and len(run) >= 5 and run[0][0] in "aiu":
        return [(start, start + 1), (start + 1, end)]
    return [(start, end)]


def _merge(words: list[str]) -> str:
    """Spelled-out characters as one word: each word's character, and the last word's punctuation after it."""
    return "".join(word[0] for word in words[:-1]) + words[-1]


def _spelled_out(run: list[str]) -> bool:
    """Whether a run of single characters spells a word: three or more, two of them letters, and (for three)
    not only the one-letter words of chat ("u r a", "i c u")."""
    letters = "".join(w[0] for w in run if "a" <= w[0] <= "z")
    if len(run) < 3 or len(letters) < 2:
        return False
    return len(run) > 3 or not set(letters) <= _CHAT_LETTERS


_CHAT_LETTERS = frozenset("aiurycokmnbx")


def _has_letter(word: str) -> bool:
    return any("a" <= c <= "z" for c in word)


def _fix_word(word: Chars) -> Chars:
    """One word with separators, leetspeak and letter runs undone; punctuation around it kept as it was."""
    text = "".join(c for c, _ in word)
    start, end = 0, len(word)
    while start < end and text[start] in _LEADING:
        start += 1
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    core = text[start:end]
    if not core or not _has_letter(core) or _PROTECTED.fullmatch(core):
        return word
    middle = _unleet(_unseparate(word[start:end]))
    return word[:start] + _squeeze(middle) + word[end:]


def _unseparate(chars: Chars) -> Chars:
    """``i.d.i.o.t`` -> ``idiot``: three or more single characters, each pair split by separators."""
    text = "".join(c for c, _ in chars)
    pieces = _SPLIT_SEPARATORS.split(text)
    if len(pieces) < 3 or any(len(p) != 1 for p in pieces) or sum(p.isalpha() for p in pieces) < 2:
        return chars
    return [pair for pair in chars if pair[0] not in SEPARATORS]


def _unleet(chars: Chars) -> Chars:
    """Leet characters as letters, when every character of the word is a letter or a leet character and the word
    has a letter (``1d10t``, ``sh!t``, ``$hit``); a word starting with ``@`` is a mention and stays."""
    text = "".join(c for c, _ in chars)
    if text.startswith("@") or not any(c in LEET for c in text):
        return chars
    if not all(("a" <= c <= "z") or c in LEET for c in text) or _PROTECTED.fullmatch(text):
        return chars
    ells = _ones_as_l(text)
    return [("l" if pos in ells else LEET.get(char, char), source) for pos, (char, source) in enumerate(chars)]


def _ones_as_l(text: str) -> set[int]:
    """The positions of the ones that stand for "l": beside an "l", or in a run of ones past the run's first of
    three or more, every one of a pair ("ki11" -> "kill", "k111" -> "kill"); a lone "1" is "i" ("1d10t")."""
    ells: set[int] = set()
    for run in _ONES.finditer(text):
        start, end = run.span()
        beside_l = text[start - 1 : start] == "l" or text[end : end + 1] == "l"
        if end - start == 1:
            if beside_l:
                ells.add(start)
        elif end - start == 2 or beside_l:
            ells.update(range(start, end))
        else:
            ells.update(range(start + 1, end))
    return ells


_ONES = re.compile("1+")


def _squeeze(chars: Chars) -> Chars:
    """A run of three or more of one letter kept as two: ``iddddiot`` -> ``iddiot``, ``soooo`` -> ``soo``."""
    text = "".join(c for c, _ in chars)
    if _RUN.search(text) is None:
        return chars
    out: Chars = []
    for pair in chars:
        if len(out) >= 2 and out[-1][0] == out[-2][0] == pair[0] and "a" <= pair[0] <= "z":
            continue
        out.append(pair)
    return out
