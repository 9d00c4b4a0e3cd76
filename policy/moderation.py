"""The moderator's rules as plain functions over plain data.

Each check takes what the room's recent history holds (``Recent`` entries, oldest first) and the message at hand,
and answers with a reason to reject (``str``) or ``None``. Editing rules answer with the edited text. Nothing here
does I/O, reads a clock or keeps state: the caller passes the event time, so a replay gives the same answers.
"""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Protocol

import re2

from policy.moderation_text import SKETCH_SIZE, normalize, normalize_with_map, sketch_similarity


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
    since = at - window
    near = mode is MatchMode.NEAR and bool(sketch)
    mine: set[int] | None = None  # built on the first candidate that needs it: most rooms offer none
    limit = min(SKETCH_SIZE, len(sketch))
    times, authors, kinds, keys = history.at, history.author, history.kind, history.key
    if not any_agent and author not in authors:
        return None  # (one C-level scan: the agent has posted nothing here lately)
    for index in range(len(times) - 1, -1, -1):
        if times[index] < since:
            break
        if (not any_agent and authors[index] != author) or kinds[index] != _AGENT or not keys[index]:
            continue
        similarity = 1.0 if keys[index] == key else 0.0
        if not similarity and near:
            theirs = history.sketch[index]
            if theirs:
                # The cheap bound first: unrelated texts share no hash, and one C-level intersection says so.
                if mine is None:
                    mine = set(sketch)
                shared = len(mine.intersection(theirs))
                if shared >= near_threshold * min(SKETCH_SIZE, limit + len(theirs) - shared):
                    similarity = sketch_similarity(sketch, theirs)
                    if similarity < near_threshold:
                        similarity = 0.0
        if not similarity:
            continue
        who = "it" if authors[index] == author else f"agent {authors[index]}"
        ago = max(0.0, at - times[index])
        if keys[index] == key:
            how = {
                MatchMode.EXACT: "the same message",
                MatchMode.CASE_INSENSITIVE: "the same message (ignoring case)",
            }.get(mode, "the same message once normalised")
            return f"{how} as {who} posted {ago:.0f}s ago (window {window:.0f}s)"
        return (
            f"a near-duplicate ({similarity:.0%} similar, threshold {near_threshold:.0%}) of a message "
            f"{who} posted {ago:.0f}s ago (window {window:.0f}s)"
        )
    return None


# --- cooldown (token buckets) ---------------------------------------------------------------------------------------


class Bucket(NamedTuple):
    tokens: float
    updated_at: float


def bucket_level(bucket: Bucket | None, at: float, interval: float, burst: int) -> float:
    """Tokens available at ``at``: one token refills every ``interval`` seconds, up to ``burst``."""
    if bucket is None:
        return float(burst)
    if interval <= 0:
        return float(burst)
    return min(float(burst), bucket.tokens + max(0.0, at - bucket.updated_at) / interval)


def bucket_take(bucket: Bucket | None, at: float, interval: float, burst: int) -> Bucket:
    """The bucket after one message at ``at`` used a token (never below zero: a refused message uses none)."""
    level = bucket_level(bucket, at, interval, burst)
    return Bucket(max(0.0, level - 1.0), at if bucket is None else max(at, bucket.updated_at))


def replay_bucket(times: Iterable[float], interval: float, burst: int) -> Bucket | None:
    """The bucket state after messages at ``times`` (oldest first), starting full."""
    bucket: Bucket | None = None
    for t in times:
        bucket = bucket_take(bucket, t, interval, burst)
    return bucket


def replayed_level(times: Sequence[float], at: float, interval: float, burst: int) -> float:
    """``bucket_level(replay_bucket(times, ...), at, ...)`` in one tight loop: the per-room cooldown replays the
    agent's recent messages in the room on every submission."""
    if not times or interval <= 0:
        return float(burst)
    tokens, last = float(burst), times[0]
    for t in times:
        tokens = min(float(burst), tokens + max(0.0, t - last) / interval) - 1.0
        if tokens < 0.0:
            tokens = 0.0
        if t > last:
            last = t
    return min(float(burst), tokens + max(0.0, at - last) / interval)


def cooldown_reason(level: float, interval: float, burst: int, scope: str) -> str | None:
    if level >= 1.0:
        return None
    wait = (1.0 - level) * interval
    return (
        f"too many messages {scope}: at most {burst} in a burst, then one every {interval:g}s "
        f"(next allowed in {wait:.1f}s)"
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
    history = as_history(history)
    since = at - window
    run: list[str] = []  # the authors of the agent messages since the last human one, newest first
    times, authors, kinds = history.at, history.author, history.kind
    for index in range(len(times) - 1, -1, -1):
        kind = kinds[index]
        if kind == _HUMAN or times[index] < since:
            break
        if kind == _AGENT:
            run.append(authors[index])
    previous = replying_to_agent or (run[0] if run else None)
    if previous is None or previous == author or len(run) <= max_exchanges:
        return None  # (n messages hold at most n - 1 exchanges)
    exchanges = 0
    for newer, older in itertools.pairwise(run):
        if newer != older:
            exchanges += 1
    if exchanges < max_exchanges:
        return None
    run.reverse()
    order: list[str] = []
    for name in [*run, author]:
        if name not in order:
            order.append(name)
    shape = "→".join([*order, order[0]]) if len(order) > 2 else " ↔ ".join(order)
    return (
        f"agent loop: {exchanges} agent-to-agent exchanges ({shape}) within {window:.0f}s without a human message "
        f"(limit {max_exchanges})"
    )


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


# --- word and regex filters --------------------------------------------------------------------------------------


def re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


def check_pattern(pattern: str) -> str | None:
    """The reason ``pattern`` is not a usable RE2 expression, or None when it is."""
    try:
        re2.compile(pattern, re2_options())
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return detail
    return None


@dataclass(frozen=True, slots=True)
class FilterHit:
    kind: str  # "word" or "pattern"
    source: str  # the configured word or pattern that matched


@dataclass(frozen=True, slots=True)
class CompiledFilters:
    words: tuple[str, ...]
    patterns: tuple[str, ...]
    # Built from escaped literals only (an alternation of fixed strings cannot backtrack badly), so the fast
    # standard engine is safe here; administrators' patterns go to RE2.
    word_regex: re.Pattern[str] | None
    pattern_regexes: tuple[re2._Regexp, ...]
    # Every pattern in one RE2 program (one pass over the text); each in a named group to tell which matched.
    any_pattern: re2._Regexp | None
    # Cheap probes that answer "certainly no hit" for most texts before the matchers above run. A whole word can
    # only be found where the word itself occurs (one alternation without the word-boundary test, which the
    # engine scans for quickly); an RE2 set says whether any pattern matches without building a match object.
    word_probe: re.Pattern[str] | None = None
    pattern_probe: re2.Set | None = None

    @property
    def empty(self) -> bool:
        return self.word_regex is None and not self.pattern_regexes

    def find(self, normalized: str) -> FilterHit | None:
        """The first filter the normalised text trips, or None. Linear time: RE2 never backtracks."""
        if self.word_regex is not None and (self.word_probe is None or self.word_probe.search(normalized)):
            match = self.word_regex.search(normalized)
            if match is not None:
                found = match.group(1)
                source = next((w for w in self.words if normalize(w) == found), found)
                return FilterHit("word", source)
        if self.any_pattern is not None:
            # Bytes spare the wrapper its character-offset bookkeeping; only which group matched is needed here.
            encoded = normalized.encode("utf-8", "surrogatepass")
            if self.pattern_probe is not None and not self.pattern_probe.Match(encoded):
                return None
            match = self.any_pattern.search(encoded)
            if match is not None:
                matched = [name for name, value in match.groupdict().items() if value is not None]
                index = next((int(name[len(_GROUP) :]) for name in matched if name.startswith(_GROUP)), 0)
                return FilterHit("pattern", self.patterns[index])
            return None
        for source, regex in zip(self.patterns, self.pattern_regexes, strict=True):
            if regex.search(normalized) is not None:
                return FilterHit("pattern", source)
        return None

    def mask(self, text: str, mask_char: str = "*") -> str | None:
        """``text`` with every filtered span replaced by ``mask_char``; None when no span maps back to the text."""
        folded, index = normalize_with_map(text)
        spans: list[tuple[int, int]] = []
        if self.word_regex is not None:
            pos = 0
            while pos <= len(folded):
                match = self.word_regex.search(folded, pos)
                if match is None:
                    break
                start, end = match.span(1)
                spans.append((index[start], index[end - 1] + 1))
                # Continue after the word itself, so the separator it shares with the next word is seen again.
                pos = max(end, pos + 1)
        for regex in self.pattern_regexes:
            for match in regex.finditer(folded):
                start, end = match.span()
                if end > start:
                    spans.append((index[start], index[end - 1] + 1))
        if not spans:
            return None
        chars = list(text)
        for start, end in spans:
            for pos in range(start, end):
                if not chars[pos].isspace():
                    chars[pos] = mask_char
        return "".join(chars)


_GROUP = "steward_pattern_"


@lru_cache(maxsize=256)
def compile_filters(words: tuple[str, ...], patterns: tuple[str, ...]) -> CompiledFilters:
    """Compile a server's filters once. Words match whole words of the normalised text; patterns are RE2
    expressions matched against the normalised text (lower case, confusables mapped, whitespace folded)."""
    options = re2_options()
    folded_words = sorted({normalize(w) for w in words if normalize(w)}, key=len, reverse=True)
    word_regex = word_probe = None
    if folded_words:
        alternation = "|".join(re.escape(w) for w in folded_words)
        word_regex = re.compile(rf"(?:^|\W)({alternation})(?:\W|$)")
        word_probe = re.compile(alternation)
    compiled = tuple(re2.compile(p, options) for p in patterns)
    any_pattern = pattern_probe = None
    if patterns:
        try:
            any_pattern = re2.compile("|".join(f"(?P<{_GROUP}{i}>{p})" for i, p in enumerate(patterns)), options)
        except re2.error:
            any_pattern = None  # e.g. two patterns share a group name: match them one by one instead
        try:
            pattern_probe = re2.Set.SearchSet(options)
            for p in patterns:
                pattern_probe.Add(p)
            pattern_probe.Compile()
        except re2.error:
            pattern_probe = None  # no probe: every text goes to the matcher
    return CompiledFilters(
        tuple(words),
        tuple(patterns),
        word_regex,
        compiled,
        any_pattern,
        word_probe=word_probe,
        pattern_probe=pattern_probe,
    )


def filter_reason(hit: FilterHit) -> str:
    if hit.kind == "word":
        return f"contains the filtered word {hit.source!r}"
    return f"matches the filter pattern {hit.source!r}"


# --- edits: mass mentions and length ----------------------------------------------------------------------------

# Discord's @everyone / @here and Slack's <!channel> / <!here> / <!everyone> (with an optional |label).
_MASS_MENTION = re.compile(r"@(everyone|here)\b|<!(channel|here|everyone)(?:\|[^>]*)?>")


def find_mass_mentions(text: str) -> list[str]:
    if "@" not in text and "<!" not in text:
        return []  # every mass mention has one of these: most texts need no regex scan
    return [m.group(0) for m in _MASS_MENTION.finditer(text)]


def strip_mass_mentions(text: str) -> str:
    """Defuse mass mentions, keeping the word so that the sentence still reads: "@here" -> "here"."""
    return _MASS_MENTION.sub(lambda m: m.group(1) or m.group(2), text)


def cut_to_limit(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary near the end when there is one."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(ellipsis))
    cut = text[:room]
    if not text[room].isspace():
        space = cut.rfind(" ")
        if space >= room - 40 and space > 0:
            cut = cut[:space]
    return cut.rstrip() + ellipsis


# --- escalation -----------------------------------------------------------------------------------------------------


def within_window(times: Iterable[float], at: float, window: float) -> list[float]:
    """The times no older than ``window`` before ``at`` (what an escalation counter keeps)."""
    since = at - window
    return [t for t in times if t >= since]


class LadderStep(NamedTuple):
    points: float
    action: str  # "warn" or "timeout"
    seconds: int = 0


def decayed_points(points: float, updated_at: float, at: float, decay_per_hour: float) -> float:
    """Warning points left at ``at``: they fall linearly by ``decay_per_hour`` and never below zero."""
    if points <= 0:
        return 0.0
    return max(0.0, points - max(0.0, at - updated_at) / 3600.0 * decay_per_hour)


def ladder_step(points: float, steps: Sequence[LadderStep]) -> LadderStep | None:
    """The highest step of the warning ladder that ``points`` reach, or None below the first."""
    reached = None
    for step in sorted(steps, key=lambda s: s.points):
        if points + 1e-9 >= step.points:
            reached = step
    return reached
