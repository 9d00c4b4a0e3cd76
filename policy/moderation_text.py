"""Text normalisation for moderation: what a filter or a duplicate check sees instead of the raw text.

``normalize`` folds the tricks people (and agents) use to slip past a filter or a duplicate check: Unicode
compatibility forms (fullwidth letters, mathematical alphabets, ligatures: NFKC), upper case, zero-width and other
invisible characters, diacritics stacked on letters, look-alike letters from other scripts (Cyrillic "а" for Latin
"a"; Unicode's UTS #39 table, ``policy.confusables``), and runs of whitespace. ``canonical`` goes further and
undoes keyboard tricks (``policy.deobfuscate``). Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
import string
import unicodedata
import zlib
from collections.abc import Callable
from functools import lru_cache

from policy import confusables
from policy.deobfuscate import deobfuscate, deobfuscate_with_map

# Characters that render as nothing (or nearly) and are used to split words invisibly.
INVISIBLE = frozenset(
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # arabic letter mark
    "\u115f\u1160"  # hangul fillers
    "\u17b4\u17b5"  # khmer inherent vowels
    "\u180e"  # mongolian vowel separator
    "\u200b\u200c\u200d\u200e\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\u3164"  # hangul filler
    "\ufeff"  # zero-width no-break space (BOM)
    "\uffa0"  # halfwidth hangul filler
)

# Look-alike letters (Unicode UTS #39 confusables, applied after case folding). Latin ones (small capitals, IPA,
# dotless i, letters with a stroke) are always mapped; letters of other scripts only inside a word that mixes
# scripts (see ``_map_mixed``), so a word written wholly in Cyrillic or Greek stays as it was written.
# Fullwidth and mathematical forms need no entry: NFKC folds them.
LATIN_LOOKALIKES: dict[str, str] = confusables.unpack(confusables.LATIN)
FOREIGN_LOOKALIKES: dict[str, str] = confusables.unpack(confusables.FOREIGN)
_FOREIGN = frozenset(FOREIGN_LOOKALIKES)
# The few compatibility characters NFKC would fold into a letter that imitates another (lunate sigma "ϲ" is drawn
# as "c", NFKC makes it "σ"): mapped before NFKC.
_BEFORE_NFKC = {ord(k): v for k, v in confusables.unpack(confusables.BEFORE_NFKC).items()}
_BEFORE_CHARS = frozenset(map(chr, _BEFORE_NFKC))

_TABLE: dict[int, str | None] = {ord(c): None for c in INVISIBLE}
_TABLE.update({ord(k): v for k, v in LATIN_LOOKALIKES.items()})


class _StripTable(dict[int, int | str | None]):
    """A ``str.translate`` table that drops combining marks and then applies ``_TABLE``, filled in as characters
    are met: translating runs in C, where a Python test per character took milliseconds on a long text. At most
    ``limit`` characters are remembered (the rest are worked out each time), so the table's size is bounded."""

    def __init__(self, limit: int = 8192) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, code: int) -> int | str | None:
        char = chr(code)
        value = None if unicodedata.combining(char) else _TABLE.get(code, code)
        if len(self) < self.limit:
            self[code] = value
        return value


_STRIP = _StripTable()


def _strip_marks(text: str) -> str:
    """NFKD, then without combining marks, and with ``_TABLE`` applied."""
    return unicodedata.normalize("NFKD", text).translate(_STRIP)


def normalize(text: str) -> str:
    """The normalised form used for matching: NFKC, case-folded, invisible characters removed, diacritics
    dropped, confusable letters mapped to Latin (other scripts' only in mixed-script words), whitespace folded to
    single spaces."""
    if text.isascii():
        # ASCII is NFKC-stable and has no confusables or invisibles: the fast path most messages take.
        return " ".join(text.lower().split())
    if not _BEFORE_CHARS.isdisjoint(text):
        text = text.translate(_BEFORE_NFKC)
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    if folded.isascii():
        return " ".join(folded.split())
    folded = _strip_marks(folded)
    if _FOREIGN.isdisjoint(folded):
        return " ".join(folded.split())
    return " ".join(_map_word(word) for word in folded.split())


def canonical(text: str) -> str:
    """The one form every matcher compares (word filters, the toxicity model's input, duplicate detection):
    ``normalize``, then keyboard tricks undone with readable words kept (``policy.deobfuscate``): leetspeak,
    separators inside words, spaced-out letters, letter runs cut to two. Idempotent; numbers, times, prices,
    URLs, addresses and mentions come through as ``normalize`` gives them."""
    return deobfuscate(normalize(text))


def normalized_and_canonical(text: str) -> tuple[str, str]:
    """``(normalize(text), canonical(text))`` with one normalising pass: what the rules read and what duplicates
    are compared on."""
    normalized = normalize(text)
    return normalized, deobfuscate(normalized)


def canonical_with_map(text: str) -> tuple[str, list[int]]:
    """``canonical`` with ``index[i]`` = the position in ``text`` that produced its ``i``-th character."""
    return deobfuscate_with_map(*normalize_with_map(text))


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    """The script a letter belongs to, as the first word of its Unicode name ("LATIN", "CYRILLIC", "GREEK")."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _mixes_scripts(word: str) -> bool:
    return len({_script(c) for c in word if c.isalpha()}) > 1


def _mixed(word: str) -> bool:
    """Whether a word's look-alike letters are to be mapped: it mixes scripts ("раураl", "Ваd"); a word wholly in
    one script is legitimate text in that script and stays."""
    return not word.isascii() and not _FOREIGN.isdisjoint(word) and _mixes_scripts(word)


def _map_word(word: str) -> str:
    return "".join(FOREIGN_LOOKALIKES.get(c, c) for c in word) if _mixed(word) else word


def skeleton(normalized: str) -> str:
    """Every word of ``normalized`` whose letters are all Latin or look-alikes of Latin letters, with the
    look-alikes mapped ("ѕсаm" -> "scam", also in one script): a further form word filters look at. A word with
    a letter that imitates nothing ("дурак") stays."""
    if normalized.isascii() or _FOREIGN.isdisjoint(normalized):
        return normalized
    return " ".join(_skeleton_word(word) for word in normalized.split(" "))


def skeleton_with_map(normalized: str, index: list[int]) -> tuple[str, list[int]]:
    """``skeleton``, carrying ``index`` along."""
    if normalized.isascii() or _FOREIGN.isdisjoint(normalized):
        return normalized, index
    return _map_words_with_map(normalized, index, _all_lookalike)


def _all_lookalike(word: str) -> bool:
    if word.isascii() or _FOREIGN.isdisjoint(word):
        return False
    return not any(c.isalpha() and not c.isascii() and c not in _FOREIGN for c in word)


def _skeleton_word(word: str) -> str:
    return "".join(FOREIGN_LOOKALIKES.get(c, c) for c in word) if _all_lookalike(word) else word


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
    char = char.translate(_BEFORE_NFKC)
    folded = unicodedata.normalize("NFKC", char).casefold().translate(_TABLE)
    if not folded.isascii():
        folded = _strip_marks(folded)
    return folded


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """``normalize`` character by character, with ``index[i]`` = the position in ``text`` that produced the
    ``i``-th normalised character. Slower than ``normalize``; used only to mask what a filter found."""
    out: list[str] = []
    index: list[int] = []
    pending_space = -1
    for pos, char in enumerate(text):
        folded = _fold_char(char)
        for piece in folded:
            if piece.isspace():
                if out and pending_space < 0:
                    pending_space = pos
                continue
            if pending_space >= 0:
                out.append(" ")
                index.append(pending_space)
                pending_space = -1
            out.append(piece)
            index.append(pos)
    folded_text = "".join(out)
    if folded_text.isascii() or _FOREIGN.isdisjoint(folded_text):
        return folded_text, index
    return _map_words_with_map(folded_text, index, _mixed)


def _map_words_with_map(text: str, index: list[int], chosen: Callable[[str], bool]) -> tuple[str, list[int]]:
    """The look-alikes of each ``chosen`` word mapped, carrying the index along (one may stand for two letters)."""
    out: list[str] = []
    out_index: list[int] = []
    start = 0
    for word in text.split(" "):
        if out:
            out.append(" ")
            out_index.append(index[start - 1])
        if not chosen(word):
            out.append(word)
            out_index.extend(index[start : start + len(word)])
        else:
            for offset, char in enumerate(word):
                mapped = FOREIGN_LOOKALIKES.get(char, char)
                out.append(mapped)
                out_index.extend([index[start + offset]] * len(mapped))
        start += len(word) + 1
    return "".join(out), out_index


SKETCH_SIZE = 12  # hashes kept per sketch: the estimate's resolution is 1/12

# Punctuation separates words for near-duplicate matching ("noon!!" and "noon" are the same word).
_PUNCTUATION_TO_SPACE = str.maketrans({c: " " for c in string.punctuation + "…“”‘’«»¡¿"})
# The same for ASCII text, on its bytes: a 256-byte table, far cheaper than a str table's per-character lookups.
_ASCII_PUNCTUATION_TO_SPACE = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))


def shingle_sketch(normalized: str, k: int = SKETCH_SIZE, max_bytes: int = 1024) -> tuple[int, ...]:
    """A bottom-k sketch of the text's word shingles (each word and each pair of neighbouring words, punctuation
    ignored): the ``k`` smallest CRC-32 hashes of the shingles.

    Two sketches estimate the Jaccard similarity of the shingle sets (``sketch_similarity``) in O(k), so a
    near-duplicate check needs neither the earlier text nor its full shingle set. Every step runs in C (translate,
    split, map over crc32), which keeps a sketch at a few microseconds; only the first ``max_bytes`` bytes count.
    CRC-32 rather than ``hash()``: the same text gives the same sketch in every process, so replays are exact.
    """
    if normalized.isascii():
        words = normalized.encode()[:max_bytes].translate(_ASCII_PUNCTUATION_TO_SPACE).split()
    else:
        words = normalized.translate(_PUNCTUATION_TO_SPACE).encode("utf-8", "surrogatepass")[:max_bytes].split()
    if not words:
        return (0,)
    crc = zlib.crc32
    shingles = set(map(crc, words))
    shingles.update(map(crc, map(b" ".join, itertools.pairwise(words))))
    return tuple(sorted(shingles)[:k])


def sketch_similarity(a: tuple[int, ...], b: tuple[int, ...], k: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard similarity of two bottom-k sketches (exact when both texts have at most k shingles)."""
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union = sorted(sa | sb)[:k]
    return len(sb.intersection(sa.intersection(union))) / len(union)
