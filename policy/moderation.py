"""The moderator's history rules as plain functions over plain data: duplicates, cooldowns, loops, reply depth,
and the escalation arithmetic.

Each check takes what the room's recent history holds (``History`` columns, oldest first) and the message at hand,
and answers with a reason to reject (``str``) or ``None``. Nothing here does I/O, reads a clock or keeps state: the
caller passes the event time, so a replay gives the same answers. The filters and the editing rules' text surgery
are in ``policy.moderation_filters`` (re-exported here); the rule objects over these are in
``policy.moderation_rules``.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from policy.moderation_filters import (
    CompiledFilters,
    FilterHit,
    check_pattern,
    compile_filters,
    cut_to_limit,
    filter_reason,
    find_mass_mentions,
    re2_options,
    strip_mass_mentions,
)
from policy.moderation_text import SKETCH_SIZE, sketch_similarity
from policy.ratelimit import TokenBucket

__all__ = [
    "AuthorKind",
    "CompiledFilters",
    "FilterHit",
    "History",
    "LadderStep",
    "MatchMode",
    "Recent",
    "SketchColumn",
    "Verdict",
    "as_history",
    "check_pattern",
    "compile_filters",
    "cooldown_reason",
    "cut_to_limit",
    "decayed_points",
    "depth_reason",
    "duplicate_reason",
    "filter_reason",
    "find_mass_mentions",
    "held_points",
    "ladder_step",
    "loop_reason",
    "payload_form",
    "re2_options",
    "replay_bucket",
    "reply_depth",
    "spend",
    "strip_mass_mentions",
    "within_window",
]


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class AuthorKind(enum.IntEnum):
    HUMAN = 0
    AGENT = 1
    BOT = 2


class Recent(NamedTuple):
    """One message a room saw, as the rule state keeps it (no text: a payload key and a sketch)."""

    at: float
    author: str  # agent name; "" for humans and bots
    kind: AuthorKind
    message: int  # 64-bit hash of the message id (what replies point at)
    depth: int  # agent reply depth: 0 for humans, parent depth + 1 for an agent's reply
    key: int  # hash of the payload's matching form (0 when not an agent payload)
    sketch: tuple[int, ...]  # bottom-k shingle sketch (empty unless near-duplicates are checked)


class SketchColumn(Protocol):
    """The sketches of a room's messages by position (a tuple, or a store's reader that decodes on access)."""

    def __getitem__(self, index: int, /) -> tuple[int, ...]: ...


class History:
    """A room's recent messages as columns, oldest first: what the rules scan on every message, read without
    building an object per message. ``sketch`` may decode on access, so that only the messages a near-duplicate
    check compares are decoded. ``History.of`` turns ``Recent`` entries into columns."""

    __slots__ = ("at", "author", "depth", "key", "kind", "message", "sketch")

    def __init__(
        self,
        at: Sequence[float],
        author: Sequence[str],
        kind: Sequence[int],
        message: Sequence[int],
        depth: Sequence[int],
        key: Sequence[int],
        sketch: SketchColumn,
    ) -> None:
        self.at = at
        self.author = author
        self.kind = kind  # AuthorKind values
        self.message = message
        self.depth = depth
        self.key = key
        self.sketch = sketch

    @classmethod
    def of(cls, entries: Iterable[Recent]) -> History:
        columns = tuple(zip(*entries, strict=True))
        if not columns:
            return cls((), (), (), (), (), (), ())
        at, author, kind, message, depth, key, sketch = columns
        return cls(at, author, kind, message, depth, key, sketch)

    def __len__(self) -> int:
        return len(self.at)

    def entry(self, index: int) -> Recent:
        return Recent(
            self.at[index],
            self.author[index],
            AuthorKind(self.kind[index]),
            self.message[index],
            self.depth[index],
            self.key[index],
            self.sketch[index],
        )

    def find(self, message: int) -> Recent | None:
        """The newest message whose id hash is ``message``, or None."""
        messages = self.message
        for index in range(len(messages) - 1, -1, -1):
            if messages[index] == message:
                return self.entry(index)
        return None


def as_history(history: History | Iterable[Recent]) -> History:
    return history if isinstance(history, History) else History.of(history)


_HUMAN = int(AuthorKind.HUMAN)
_AGENT = int(AuthorKind.AGENT)


# --- duplicate payloads -------------------------------------------------------------------------------------------


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
) -> str | None:
    """Reject a payload the agent (or, with ``any_agent``, any agent) already posted in the room within ``window``."""
    history = as_history(history)
    times, authors, kinds, keys = history.at, history.author, history.kind, history.key
    if not any_agent and author not in authors:
        return None  # (one C-level scan: the agent has posted nothing here lately)
    since = at - window
    near = _NearMatch(sketch, near_threshold) if mode is MatchMode.NEAR and sketch else None
    for index in range(len(times) - 1, -1, -1):
        if times[index] < since:
            break
        if (not any_agent and authors[index] != author) or kinds[index] != _AGENT or not keys[index]:
            continue
        if keys[index] == key:
            return _duplicate_text(mode, 1.0, near_threshold, author, authors[index], at - times[index], window)
        similarity = near.similarity(history.sketch[index]) if near is not None else 0.0
        if similarity:
            return _duplicate_text(None, similarity, near_threshold, author, authors[index], at - times[index], window)
    return None


class _NearMatch:
    """One message's sketch against the room's: the cheap bound first (unrelated texts share no hash, and one
    C-level set intersection says so), the similarity estimate only when the bound allows the threshold."""

    __slots__ = ("limit", "mine", "sketch", "threshold")

    def __init__(self, sketch: tuple[int, ...], threshold: float) -> None:
        self.sketch = sketch
        self.threshold = threshold
        self.limit = min(SKETCH_SIZE, len(sketch))
        self.mine: set[int] | None = None  # built on the first candidate that needs it: most rooms offer none

    def similarity(self, theirs: tuple[int, ...]) -> float:
        """The estimated similarity when it reaches the threshold, else 0."""
        if not theirs:
            return 0.0
        mine = self.mine
        if mine is None:
            mine = self.mine = set(self.sketch)
        shared = len(mine.intersection(theirs))
        if shared < self.threshold * min(SKETCH_SIZE, self.limit + len(theirs) - shared):
            return 0.0
        similarity = sketch_similarity(self.sketch, theirs)
        return similarity if similarity >= self.threshold else 0.0


_SAME = {
    MatchMode.EXACT: "the same message",
    MatchMode.CASE_INSENSITIVE: "the same message (ignoring case)",
}


def _duplicate_text(
    mode: MatchMode | None, similarity: float, threshold: float, author: str, theirs: str, ago: float, window: float
) -> str:
    """The reason for a repeat (``mode``: the payloads matched exactly under it; None: a near-duplicate)."""
    who = "it" if theirs == author else f"agent {theirs}"
    ago = max(0.0, ago)
    if mode is not None:
        how = _SAME.get(mode, "the same message once normalised")
        return f"{how} as {who} posted {ago:.0f}s ago (window {window:.0f}s)"
    return (
        f"a near-duplicate ({similarity:.0%} similar, threshold {threshold:.0%}) of a message "
        f"{who} posted {ago:.0f}s ago (window {window:.0f}s)"
    )


# --- cooldown (token buckets, ``policy.ratelimit``) ----------------------------------------------------------------


def spend(bucket: TokenBucket | None, now: float, rate: float, capacity: float) -> TokenBucket:
    """The bucket after a message was posted at ``now`` (``None``: the agent's first, from a full bucket). A posted
    message takes a token; one posted while none was left (log-only, or around the gate) empties the bucket.

    This is ``take(bucket, now=now, rate=rate, capacity=capacity)``'s bucket (zeroed when refused) worked out
    without the ``Take`` around it: every posted message pays for it (``test_spend_is_take``)."""
    if bucket is None:
        return TokenBucket(float(capacity) - 1.0, now)
    then = bucket.at
    tokens = bucket.tokens
    if now > then:
        tokens += (now - then) * rate
        then = now
    if tokens > capacity:
        tokens = float(capacity)
    return TokenBucket(tokens - 1.0 if tokens >= 1.0 else 0.0, then)


def replay_bucket(times: Sequence[float], rate: float, capacity: float) -> TokenBucket | None:
    """``spend`` over posts at ``times`` (oldest first) from a full bucket, in one tight loop: the per-room
    cooldown replays the agent's recent messages in the room on every submission. None without messages."""
    if not times:
        return None
    tokens, last = float(capacity), times[0]
    for t in times:
        if t > last:
            tokens += (t - last) * rate
            last = t
        if tokens > capacity:
            tokens = float(capacity)
        tokens = tokens - 1.0 if tokens >= 1.0 else 0.0
    return TokenBucket(tokens, last)


def cooldown_reason(retry_after: float, interval: float, burst: int, scope: str) -> str:
    """Why a message the bucket refused waits (``retry_after``: ``Take.retry_after``)."""
    return (
        f"too many messages {scope}: at most {burst} in a burst, then one every {interval:g}s "
        f"(next allowed in {retry_after:.1f}s)"
    )


# --- agent loops --------------------------------------------------------------------------------------------------


def loop_reason(
    *,
    author: str,
    replying_to_agent: str | None,
    at: float,
    history: History | Sequence[Recent],
    max_exchanges: int,
    window: float,
) -> str | None:
    """Reject the next agent-to-agent exchange once ``max_exchanges`` happened within ``window`` with no human
    message in between. An exchange is an agent message whose predecessor (the message it replies to, or else the
    previous agent message in the room) came from a different agent, so A→B→A and A→B→C→A both count."""
    run = _agent_run(as_history(history), at - window)
    previous = replying_to_agent or (run[0] if run else None)
    if previous is None or previous == author or len(run) <= max_exchanges:
        return None  # (n messages hold at most n - 1 exchanges)
    exchanges = sum(1 for newer, older in itertools.pairwise(run) if newer != older)
    if exchanges < max_exchanges:
        return None
    return (
        f"agent loop: {exchanges} agent-to-agent exchanges ({_loop_shape(run, author)}) within {window:.0f}s "
        f"without a human message (limit {max_exchanges})"
    )


def _agent_run(history: History, since: float) -> list[str]:
    """The authors of the agent messages since the last human one (and within the window), newest first."""
    run: list[str] = []
    times, authors, kinds = history.at, history.author, history.kind
    for index in range(len(times) - 1, -1, -1):
        kind = kinds[index]
        if kind == _HUMAN or times[index] < since:
            break
        if kind == _AGENT:
            run.append(authors[index])
    return run


def _loop_shape(run: list[str], author: str) -> str:
    """The agents in the order they joined the loop: ``a ↔ b`` for two, ``a→b→c→a`` for a cycle."""
    order: list[str] = []
    for name in [*reversed(run), author]:
        if name not in order:
            order.append(name)
    return "→".join([*order, order[0]]) if len(order) > 2 else " ↔ ".join(order)


# --- reply depth ----------------------------------------------------------------------------------------------------


def reply_depth(reply_to: str | None, parent: Recent | None) -> int:
    """The depth of an agent's new message in a reply chain: 0 when it replies to nothing, 1 when it answers a human
    (or a message no longer remembered), the parent's depth + 1 when it answers an agent."""
    if reply_to is None:
        return 0
    if parent is None or parent.kind is not AuthorKind.AGENT:
        return 1
    return parent.depth + 1


def depth_reason(depth: int, max_depth: int) -> str | None:
    if depth <= max_depth:
        return None
    return (
        f"reply chain too deep: this reply would be {depth} agent replies deep without human input (limit {max_depth})"
    )


# --- escalation -----------------------------------------------------------------------------------------------------


def within_window(times: Iterable[float], at: float, window: float) -> list[float]:
    """The times no older than ``window`` before ``at`` (what an escalation counter keeps)."""
    since = at - window
    return [t for t in times if t >= since]


class LadderStep(NamedTuple):
    points: float
    action: str  # "warn" or "timeout"
    seconds: int = 0


def held_points(points: float) -> float:
    """Warning points as they are kept, compared and shown: to the nearest tenth, never below zero (what a person
    is told, "3.0", is what the ladder reads, though a sliver of earlier points faded: 2.9997 is 3.0)."""
    return max(0.0, math.floor(points * 10 + 0.5) / 10)


def decayed_points(points: float, updated_at: float, at: float, decay_per_hour: float) -> float:
    """Warning points left at ``at``: they fall linearly by ``decay_per_hour``, never below zero, held to a tenth."""
    if points <= 0:
        return 0.0
    return held_points(points - max(0.0, at - updated_at) / 3600.0 * decay_per_hour)


def ladder_step(points: float, steps: Sequence[LadderStep]) -> LadderStep | None:
    """The highest step of the warning ladder that ``points`` (held to a tenth) reach, or None below the first."""
    held = held_points(points)
    reached = None
    for step in sorted(steps, key=lambda s: s.points):
        if held + 1e-9 >= step.points:
            reached = step
    return reached
