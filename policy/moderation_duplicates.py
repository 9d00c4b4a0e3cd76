"""The duplicate rule's arithmetic: the same payload, or a near one, that an agent already posted in the room.

A payload is keyed by a stable 64-bit hash of its matching form (``payload_key``: BLAKE2b, the same in every
process, so a replay gives the same decisions). In ``near`` mode each agent message also keeps a bottom-k shingle
sketch and the first ``TEXT_CHARS`` characters of its canonical text (``policy.moderation_text.canonical``). The
sketch only picks candidates: a message is rejected as a near-duplicate when the *exact* similarity of the two
canonical texts (``text_similarity``: the normalized Indel similarity, i.e. ``rapidfuzz.fuzz.ratio`` / 100, capped by
what the two full lengths allow) reaches the threshold. Pure functions over ``History`` columns; no I/O, no clock.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from rapidfuzz.distance import Indel

from policy.moderation_history import AuthorKind, History, Recent, as_history
from policy.moderation_text import canonical, shingle_sketch

TEXT_CHARS = 320  # characters of an agent message's canonical text the room keeps for the near-duplicate check
# A candidate shares at least this share of the smaller sketch's hashes. A one-word change keeps most of a sketch
# (benchmarks/duplicate_eval.py measures the candidates' recall); unrelated texts share few hashes, so most
# comparisons stop at one set intersection.
CANDIDATE_SHARE = 0.25
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
    canonical text's first ``TEXT_CHARS`` characters and its full length."""

    key: int
    sketch: tuple[int, ...] = ()
    text: str = ""
    size: int = 0


def make_payload(text: str, mode: MatchMode, matching: str | None = None) -> Payload:
    """``text``'s payload under ``mode`` (``matching``: its ``canonical(text)``, when the caller has it): the key of
    the matching form (the canonical text unless ``exact`` or ``case_insensitive``) and, for ``near``, the
    canonical text's sketch, kept start and length."""
    if mode is MatchMode.EXACT or mode is MatchMode.CASE_INSENSITIVE:
        return Payload(payload_key(payload_form(text, "", mode)))
    if matching is None:
        matching = canonical(text)
    key = payload_key(matching)
    if mode is not MatchMode.NEAR:
        return Payload(key)
    kept = matching[:TEXT_CHARS] if len(matching) > TEXT_CHARS else matching
    return Payload(key, shingle_sketch(matching), kept, len(matching))


def text_similarity(mine: str, my_size: int, theirs: str, their_size: int, cutoff: float = 0.0) -> float:
    """The normalized Indel similarity (1 - insertions and deletions / total length) of two kept text starts, never
    above what the full lengths allow (``2 * shorter / (both)``); 0 below ``cutoff``."""
    total = my_size + their_size
    if total <= 0:
        return 0.0
    bound = 2.0 * min(my_size, their_size) / total
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
    text: str = "",
    size: int = 0,
) -> str | None:
    """Reject a payload the agent (or, with ``any_agent``, any agent) already posted in the room within ``window``:
    the same key, or (``near``) a candidate by sketch whose kept text is at least ``near_threshold`` similar to
    ``text`` (the message's canonical text start; ``size``: its full length)."""
    history = as_history(history)
    times, authors, kinds, keys = history.at, history.author, history.kind, history.key
    if not any_agent and author not in authors:
        return None  # (one C-level scan: the agent has posted nothing here lately)
    since = at - window
    near = mode is MatchMode.NEAR and bool(sketch) and size > 0
    mine: set[int] | None = None  # built on the first message that needs it: most rooms offer none
    for index in range(len(times) - 1, -1, -1):
        if times[index] < since:
            break
        if (not any_agent and authors[index] != author) or kinds[index] != _AGENT or not keys[index]:
            continue
        if keys[index] == key:
            return _duplicate_text(mode, 1.0, near_threshold, author, history, index, at, window)
        if not near:
            continue
        if mine is None:
            mine = set(sketch)
        if not is_candidate(mine, history.sketch[index]):
            continue
        similarity = text_similarity(text, size, history.text[index], history.size[index], near_threshold)
        if similarity >= near_threshold:
            return _duplicate_text(None, similarity, near_threshold, author, history, index, at, window)
    return None


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
    under it; None: a near-duplicate): how similar, and which earlier message (when it was posted, how it began)."""
    theirs, then = history.author[index], history.at[index]
    who = "it" if theirs == author else f"agent {theirs}"
    ago = max(0.0, at - then)
    clock = datetime.fromtimestamp(then, UTC).strftime("%H:%M:%S UTC")
    earlier = f"the message {who} posted at {clock} ({ago:.0f}s ago, window {window:.0f}s)"
    start = _opening(history.text[index])
    if start:
        earlier += f' ("{start}")'
    if mode is not None:
        return f"{_SAME.get(mode, 'the same message once normalised')} as {earlier}"
    return f"a near-duplicate ({similarity:.0%} similar, threshold {threshold:.0%}) of {earlier}"


def _opening(text: str, limit: int = 40) -> str:
    """The first words of a kept text, cut at a word boundary within ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip() + "…"
