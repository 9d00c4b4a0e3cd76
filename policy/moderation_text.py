"""Text normalisation for moderation: what a filter or a duplicate check sees instead of the raw text.

``normalize`` folds the tricks people (and agents) use to slip past a filter or a duplicate check: Unicode
compatibility forms (fullwidth letters, mathematical alphabets, ligatures: NFKC), upper case, zero-width and other
invisible characters, diacritics stacked on letters, look-alike letters from other scripts (Cyrillic "а" for Latin
"a"), and runs of whitespace. Pure functions, no I/O.
"""

from __future__ import annotations

import itertools
import string
import unicodedata
import zlib
from functools import lru_cache

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

# Look-alike letters from other scripts, mapped to the Latin letter they imitate (applied after case folding,
# so only lower-case forms are needed). Fullwidth and mathematical forms need no entry: NFKC folds them.
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "б": "b",
    "в": "b",
    "с": "c",
    "ԁ": "d",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "н": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "ӏ": "l",
    "м": "m",
    "п": "n",
    "о": "o",
    "р": "p",
    "ԛ": "q",
    "г": "r",
    "ѕ": "s",
    "т": "t",
    "ц": "u",
    "ѵ": "v",
    "ԝ": "w",
    "ш": "w",
    "х": "x",
    "у": "y",
    "ү": "y",
    # Greek
    "α": "a",
    "β": "b",
    "ϲ": "c",
    "δ": "d",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "ϳ": "j",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "γ": "y",
    "ω": "w",
    "ζ": "z",
    # Latin letters that pass for others
    "ı": "i",
    "ȷ": "j",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ʟ": "l",
    "ɴ": "n",
    "ʀ": "r",
    "ꜱ": "s",
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ɢ": "g",
    "ʜ": "h",
    "ᴊ": "j",
    "ᴋ": "k",
    "ᴍ": "m",
    "ᴏ": "o",
    "ᴘ": "p",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ʏ": "y",
    "ᴢ": "z",
}

_TABLE: dict[int, str | None] = {ord(c): None for c in INVISIBLE}
_TABLE.update({ord(k): v for k, v in CONFUSABLES.items()})


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
    dropped, confusable letters mapped to Latin, whitespace folded to single spaces."""
    if text.isascii():
        # ASCII is NFKC-stable and has no confusables or invisibles: the fast path most messages take.
        return " ".join(text.lower().split())
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    if not folded.isascii():
        folded = _strip_marks(folded)
    return " ".join(folded.split())


def canonical(text: str) -> str:
    """The one form every matcher compares (word filters, the toxicity model's input, duplicate detection):
    ``normalize`` today."""
    return normalize(text)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
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
    return "".join(out), index


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
