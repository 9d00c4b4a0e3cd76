"""The duplicate rule's arithmetic: the same payload, or a near one, that an agent already posted in the room.

A payload is keyed by a stable 64-bit hash of its matching form (``payload_key``: BLAKE2b, the same in every
process, so a replay gives the same decisions). In ``near`` mode each agent message also keeps a bottom-k shingle
sketch of its canonical text (``policy.moderation_text.canonical``), the text's first ``WORDS_KEPT`` words as word
codes (one character a word: ``word_codes``) and its number of words. The sketch only picks candidates: a message
is rejected as a near-duplicate when the *exact* similarity of the two word sequences (``word_similarity``: the
normalized Indel similarity over words, 1 - words inserted or deleted / words in both, never above what the two
full word counts allow) reaches the threshold. Pure functions over ``History`` columns; no I/O, no clock.
"""

from __future__ import annotations

import enum
import hashlib
import string
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from rapidfuzz.distance import Indel

from policy.moderation_history import AuthorKind, History, Recent, as_history
from policy.moderation_text import canonical, shingle_sketch

WORDS_KEPT = 64  # words of an agent message's canonical text the room keeps for the near-duplicate check
# A candidate shares at least this share of the smaller sketch's hashes. A one-word change keeps most of a sketch
# (benchmarks/duplicate_eval.py measures the candidates' recall); unrelated texts share few hashes, so most
# comparisons stop at one set intersection.
CANDIDATE_SHARE = 0.25
_COUNTED_BYTES = 8192  # a text's words are counted in its first 8 KiB (the near check's length bound)
# Word codes: a word's CRC-32 folded onto the Basic Multilingual Plane below the surrogates (U+0100..U+D7FF), so a
# kept word costs two bytes and two different words share a code with odds of 1 in 55,040.
_CODE_BASE, _CODE_SPAN = 0x100, 0xD800 - 0x100
_PUNCTUATION = string.punctuation + "…“”‘’«»¡¿"
_TO_SPACE = str.maketrans({c: " " for c in _PUNCTUATION})
_ASCII_TO_SPACE = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
_AGENT = int(AuthorKind.AGENT)


class MatchMode(enum.StrEnum):
    EXACT = "exact"
    CASE_INSENSITIVE = "case_insensitive"
    NORMALIZED = "normalized"
    NEAR = "near"


def payload_form(text: str, normalized: str, mode: MatchMode) -> str:
    """The form of a payload two messages must share to count as the same under ``mode``."""
    if mode is MatchMode.EXACT:
        return text
    if mode is MatchMode.CASE_INSENSITIVE:
        return text.casefold()
    return normalized


def payload_key(form: str) -> int:
    """A signed 64-bit key of ``form`` that every process computes alike (never 0: 0 means "no payload")."""
    digest = hashlib.blake2b(form.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True) or 1


class Payload(NamedTuple):
    """What the duplicate rule keeps of a text: a key of its matching form and, for near matching, a sketch, the
    word codes of the canonical text's first ``WORDS_KEPT`` words and its number of words."""

    key: int
    sketch: tuple[int, ...] = ()
    words: str = ""
    length: int = 0


def make_payload(text: str, mode: MatchMode, matching: str | None = None) -> Payload:
    """``text``'s payload under ``mode`` (``matching``: its ``canonical(text)``, when the caller has it): the key of
    the matching form (the canonical text unless ``exact`` or ``case_insensitive``) and, for ``near``, the
    canonical text's sketch, word codes and number of words."""
    if mode is MatchMode.EXACT or mode is MatchMode.CASE_INSENSITIVE:
        return Payload(payload_key(payload_form(text, "", mode)))
    if matching is None:
        matching = canonical(text)
    key = payload_key(matching)
    if mode is not MatchMode.NEAR:
        return Payload(key)
    words = _words(matching)
    return Payload(key, shingle_sketch(matching), word_codes(words[:WORDS_KEPT]), len(words))


def _words(normalized: str) -> list[bytes]:
    """The words of a text, punctuation as space (as the sketch splits them), from its first 8 KiB."""
    if normalized.isascii():
        return normalized.encode()[:_COUNTED_BYTES].translate(_ASCII_TO_SPACE).split()
    return normalized.translate(_TO_SPACE).encode("utf-8", "surrogatepass")[:_COUNTED_BYTES].split()


class _Codes(dict[bytes, str]):
    """Word -> its code, filled in as words are met so that coding a message is one C-level ``map`` over dict
    lookups (working each code out took most of a payload's time). At most ``limit`` words are remembered (the
    rest are worked out each time), so the table stays a few megabytes at most."""

    def __init__(self, limit: int = 32_768) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, word: bytes) -> str:
        code = chr(_CODE_BASE + zlib.crc32(word) % _CODE_SPAN)
        if len(self) < self.limit:
            self[word] = code
        return code


_CODES = _Codes()


def word_codes(words: Sequence[bytes]) -> str:
    """One character a word (from its CRC-32, the same in every process): a word sequence that compares, in C,
    as a string."""
    return "".join(map(_CODES.__getitem__, words))


def word_similarity(mine: str, my_length: int, theirs: str, their_length: int, cutoff: float = 0.0) -> float:
    """The normalized Indel similarity of two word-code sequences (1 - words inserted or deleted / words in
    both), never above what the full word counts allow (``2 * fewer / (both)``); 0 below ``cutoff``."""
    total = my_length + their_length
    if total <= 0:
        return 0.0
    bound = 2.0 * min(my_length, their_length) / total
    if bound < cutoff:
        return 0.0
    similarity = Indel.normalized_similarity(mine, theirs, score_cutoff=cutoff)
    return similarity if similarity < bound else bound


def is_candidate(mine: set[int], theirs: tuple[int, ...], share: float = CANDIDATE_SHARE) -> bool:
    """Whether two sketches share enough hashes for the exact comparison to be worth running."""
    if not theirs:
        return False
    shared = len(mine.intersection(theirs))
    return shared > 0 and shared >= share * min(len(mine), len(theirs))


def duplicate_reason(
    *,
    author: str,
    key: int,
    sketch: tuple[int, ...],
    at: float,
    history: History | Sequence[Recent],
    window: float,
    any_agent: bool,
    near_threshold: float,
    mode: MatchMode,
    words: str = "",
    length: int = 0,
) -> str | None:
    """Reject a payload the agent (or, with ``any_agent``, any agent) already posted in the room within ``window``:
    the same key, or (``near``) a candidate by sketch whose words are more than ``near_threshold`` similar to
    ``words`` (the message's word codes; ``length``: its number of words)."""
    history = as_history(history)
    times, authors, kinds, keys = history.at, history.author, history.kind, history.key
    if not any_agent and author not in authors:
        return None  # (one C-level scan: the agent has posted nothing here lately)
    since = at - window
    near = _Near(sketch, words, length, near_threshold) if mode is MatchMode.NEAR and sketch and length else None
    for index in range(len(times) - 1, -1, -1):
        if times[index] < since:
            break
        if (not any_agent and authors[index] != author) or kinds[index] != _AGENT or not keys[index]:
            continue
        if keys[index] == key:
            return _duplicate_text(mode, 1.0, near_threshold, author, history, index, at, window)
        similarity = near.similarity(history, index) if near is not None else 0.0
        if similarity > near_threshold:
            return _duplicate_text(None, similarity, near_threshold, author, history, index, at, window)
    return None


class _Near:
    """One message against the room's for near matching: the sketch picks candidates (one C-level set
    intersection), the word similarity decides."""

    __slots__ = ("length", "mine", "sketch", "threshold", "words")

    def __init__(self, sketch: tuple[int, ...], words: str, length: int, threshold: float) -> None:
        self.sketch, self.words, self.length, self.threshold = sketch, words, length, threshold
        self.mine: set[int] | None = None  # built on the first message that needs it: most rooms offer none

    def similarity(self, history: History, index: int) -> float:
        """The word similarity to the ``index``-th message when the sketches make it a candidate, else 0."""
        mine = self.mine
        if mine is None:
            mine = self.mine = set(self.sketch)
        if not is_candidate(mine, history.sketch[index]):
            return 0.0
        return word_similarity(self.words, self.length, history.words[index], history.length[index], self.threshold)


_SAME = {
    MatchMode.EXACT: "the same message",
    MatchMode.CASE_INSENSITIVE: "the same message (ignoring case)",
}


def _duplicate_text(
    mode: MatchMode | None,
    similarity: float,
    threshold: float,
    author: str,
    history: History,
    index: int,
    at: float,
    window: float,
) -> str:
    """The reason for a repeat of the ``index``-th message of ``history`` (``mode``: the payloads matched exactly
    under it; None: a near-duplicate): how similar, and which earlier message (when it was posted)."""
    theirs, then = history.author[index], history.at[index]
    who = "it" if theirs == author else f"agent {theirs}"
    ago = max(0.0, at - then)
    clock = datetime.fromtimestamp(then, UTC).strftime("%H:%M:%S UTC")
    earlier = f"the message {who} posted at {clock} ({ago:.0f}s ago, window {window:.0f}s)"
    if mode is not None:
        return f"{_SAME.get(mode, 'the same message once normalised')} as {earlier}"
    return f"a near-duplicate ({similarity:.0%} of the words alike, threshold {threshold:.0%}) of {earlier}"
