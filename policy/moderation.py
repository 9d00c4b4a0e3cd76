"""The moderator's history rules as plain functions over plain data: duplicates, cooldowns, loops, reply depth,
and the escalation arithmetic.

Each check takes what the room's recent history holds (``History`` columns, oldest first) and the message at hand,
and answers with a reason to reject (``str``) or ``None``. Nothing here does I/O, reads a clock or keeps state: the
caller passes the event time, so a replay gives the same answers. The history's shape is
``policy.moderation_history``, the duplicate check ``policy.moderation_duplicates``, the filters and the editing
rules' text surgery ``policy.moderation_filters`` (all re-exported here); the rule objects over these are in
``policy.moderation_rules``.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from policy.moderation_duplicates import (
    WORDS_KEPT,
    MatchMode,
    Payload,
    duplicate_reason,
    make_payload,
    payload_form,
    payload_key,
    word_similarity,
)
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
from policy.moderation_history import AuthorKind, History, Recent, SketchColumn, as_history
from policy.ratelimit import TokenBucket

__all__ = [
    "WORDS_KEPT",
    "AuthorKind",
    "CompiledFilters",
    "FilterHit",
    "History",
    "LadderStep",
    "MatchMode",
    "Payload",
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
    "make_payload",
    "payload_form",
    "payload_key",
    "re2_options",
    "replay_bucket",
    "reply_depth",
    "spend",
    "strip_mass_mentions",
    "within_window",
    "word_similarity",
]


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


_HUMAN = int(AuthorKind.HUMAN)
_AGENT = int(AuthorKind.AGENT)


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
