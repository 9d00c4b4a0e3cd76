"""The agent rules as objects: one class a rule, one interface, and the loop that runs the text rules in order.

A rule class names itself (``name``: what ``moderator.chain`` lists and what a decision shows), names its settings
section and config model (``key``, ``settings``: ``[moderator.<key>]``), builds itself once per room from that
section (``build``: None when the section turns the rule off, so a rule that is off is not in the chain) and then
checks each message: ``check(subject, state) -> Reject | Edit | None``. An ``Edit`` changes the text and lets the
chain go on; the first ``Reject`` stops it. Pure: the rules read the message, the room's history and in-memory
lookups (``RuleState``), never do I/O and never read a clock. The model rule, which awaits the scorer, and the
registry of every rule are the cog's (``cogs.moderator.rules``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel

from domain import Room
from policy.moderation import (
    AuthorKind,
    CompiledFilters,
    History,
    MatchMode,
    compile_filters,
    cooldown_reason,
    cut_to_limit,
    depth_reason,
    duplicate_reason,
    filter_reason,
    loop_reason,
    replay_bucket,
)
from policy.moderation_duplicates import Payload
from policy.moderation_settings import (
    CooldownSettings,
    DepthSettings,
    DuplicateSettings,
    FilterSettings,
    LengthSettings,
    LoopSettings,
)
from policy.moderation_text import normalize
from policy.ratelimit import TokenBucket, take

SectionT = TypeVar("SectionT", bound="BaseModel | None")


class Reject(NamedTuple):
    reason: str


class Edit(NamedTuple):
    text: str  # the message as it goes on down the chain
    note: str  # what was done, e.g. "defused mass mention @here"


Outcome = Reject | Edit


class Message(Protocol):
    """What the rules read of the message at hand (the cog's ``ModerationContext``): built once per message."""

    @property
    def room(self) -> Room: ...
    @property
    def text(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def normalized(self) -> str: ...
    @property
    def payload(self) -> Payload: ...
    @property
    def history(self) -> History: ...
    @property
    def depth(self) -> int: ...
    @property
    def replying_to_agent(self) -> str | None: ...


class Subject:
    """One agent's message on its way down the chain: ``text`` is the message as the editing rules left it."""

    __slots__ = ("agent", "edits", "message", "text")

    def __init__(self, agent: str, message: Message) -> None:
        self.agent = agent
        self.message = message
        self.text = message.text
        self.edits: list[tuple[str, str]] | None = None  # (rule, note) of every edit so far

    @property
    def normalized(self) -> str:
        """The normalised text (worked out once, in the context, unless a rule edited the text)."""
        message = self.message
        return message.normalized if self.text is message.text else normalize(self.text)


class SuspensionView(Protocol):
    @property
    def until(self) -> float: ...
    @property
    def room(self) -> str | None: ...  # a room key, or None for the whole server
    @property
    def reason(self) -> str: ...


class RuleState(Protocol):
    """What the rules read beyond the message and the room's history: in-memory lookups, no I/O."""

    def suspension(self, agent: str, room: Room, at: float) -> SuspensionView | None: ...

    def global_bucket(self, agent: str) -> TokenBucket | None: ...


class AgentRule(ABC, Generic[SectionT]):
    """What every rule declares: its name, and its settings section and config model (none for a rule without
    settings). ``build`` makes the rule for a room from that section, or None when the section turns it off."""

    name: ClassVar[str]
    key: ClassVar[str | None] = None  # the rule's section of [moderator], e.g. "duplicate"
    settings: ClassVar[type[BaseModel] | None] = None  # the section's model

    @classmethod
    @abstractmethod
    def build(cls, section: SectionT) -> AgentRule[SectionT] | None: ...


class TextRule(AgentRule[SectionT]):
    """A rule over the text and the room's state, decided at once (no I/O)."""

    @abstractmethod
    def check(self, subject: Subject, state: RuleState) -> Outcome | None: ...


def run_text_rules(rules: Sequence[TextRule[Any]], subject: Subject, state: RuleState) -> tuple[str, str] | None:
    """Run ``rules`` in order: the (rule, reason) of the first rejection, or None; edits go into ``subject``."""
    for rule in rules:
        outcome = rule.check(subject, state)
        if outcome is None:
            continue
        if isinstance(outcome, Reject):
            return rule.name, outcome.reason
        if subject.edits is None:
            subject.edits = []
        subject.edits.append((rule.name, outcome.note))
        subject.text = outcome.text
    return None


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class SuspendedRule(TextRule[None]):
    """A suspended agent posts nothing where its suspension holds (this room, or the whole server)."""

    name = "suspended"

    @classmethod
    def build(cls, section: None) -> SuspendedRule:
        return cls()

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        message = subject.message
        suspension = state.suspension(subject.agent, message.room, message.at)
        if suspension is None:
            return None
        where = "in this room" if suspension.room else "in this server"
        return Reject(f"suspended {where} until {_when(suspension.until)}: {suspension.reason}")


class CooldownRule(TextRule[CooldownSettings]):
    """Token buckets per agent: in this room (replayed from the room's history) and across rooms (kept apart)."""

    name = "cooldown"
    key = "cooldown"
    settings = CooldownSettings
    __slots__ = ("global_burst", "global_interval", "global_rate", "room_burst", "room_interval", "room_rate")

    def __init__(self, section: CooldownSettings) -> None:
        self.room_interval = section.room_interval_seconds
        self.room_rate = 1.0 / self.room_interval if self.room_interval > 0 else 0.0
        self.room_burst = section.room_burst
        self.global_interval = section.global_interval_seconds
        self.global_rate = 1.0 / self.global_interval if self.global_interval > 0 else 0.0
        self.global_burst = section.global_burst

    @classmethod
    def build(cls, section: CooldownSettings) -> CooldownRule | None:
        return cls(section) if section.enabled else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        message, agent = subject.message, subject.agent
        history = message.history
        # Each message takes at most one token from a bucket that starts full, so fewer messages than the burst
        # always leave one: the replay can only refuse once the agent has posted ``burst`` of them.
        if self.room_rate and history.author.count(agent) >= self.room_burst:
            reason = self._in_room(agent, history, message.at)
            if reason is not None:
                return Reject(reason)
        if self.global_rate:
            bucket = state.global_bucket(agent)
            # A token left means the level only grows from there: no need to work out the refill.
            if bucket is not None and bucket.tokens < 1.0:
                reason = self._across_rooms(bucket, message.at)
                if reason is not None:
                    return Reject(reason)
        return None

    def _in_room(self, agent: str, history: History, at: float) -> str | None:
        authors, kinds, times, agent_kind = history.author, history.kind, history.at, AuthorKind.AGENT
        mine = [times[i] for i, name in enumerate(authors) if name == agent and kinds[i] == agent_kind]
        bucket = replay_bucket(mine, self.room_rate, self.room_burst)
        if bucket is None:
            return None
        result = take(bucket, now=at, rate=self.room_rate, capacity=self.room_burst)
        if result.allowed:
            return None
        return cooldown_reason(result.retry_after, self.room_interval, self.room_burst, "in this room")

    def _across_rooms(self, bucket: TokenBucket, at: float) -> str | None:
        result = take(bucket, now=at, rate=self.global_rate, capacity=self.global_burst)
        if result.allowed:
            return None
        return cooldown_reason(result.retry_after, self.global_interval, self.global_burst, "across rooms")


class DuplicateRule(TextRule[DuplicateSettings]):
    """The same payload (or a near one) the agent, or any agent, posted in the room within the window."""

    name = "duplicate"
    key = "duplicate"
    settings = DuplicateSettings
    __slots__ = ("any_agent", "match", "threshold", "window")

    def __init__(self, section: DuplicateSettings) -> None:
        self.window = section.window_seconds
        self.any_agent = section.any_agent
        self.threshold = section.near_threshold
        self.match: MatchMode = section.match

    @classmethod
    def build(cls, section: DuplicateSettings) -> DuplicateRule | None:
        return cls(section) if section.enabled else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        message = subject.message
        history = message.history
        if not history.at:
            return None  # (a room with no history: a tuple's truth, not a call)
        payload = message.payload
        reason = duplicate_reason(
            author=subject.agent,
            key=payload.key,
            sketch=payload.sketch,
            at=message.at,
            history=history,
            window=self.window,
            any_agent=self.any_agent,
            near_threshold=self.threshold,
            mode=self.match,
            words=payload.words,
            length=payload.length,
        )
        return None if reason is None else Reject(reason)


class LoopRule(TextRule[LoopSettings]):
    """Agents answering each other ``max_exchanges`` times within the window without a human turn."""

    name = "loop"
    key = "loop"
    settings = LoopSettings
    __slots__ = ("max_exchanges", "window")

    def __init__(self, section: LoopSettings) -> None:
        self.max_exchanges = section.max_exchanges
        self.window = section.window_seconds

    @classmethod
    def build(cls, section: LoopSettings) -> LoopRule | None:
        return cls(section) if section.enabled else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        message = subject.message
        history = message.history
        if not history.at:
            return None
        reason = loop_reason(
            author=subject.agent,
            replying_to_agent=message.replying_to_agent,
            at=message.at,
            history=history,
            max_exchanges=self.max_exchanges,
            window=self.window,
        )
        return None if reason is None else Reject(reason)


class DepthRule(TextRule[DepthSettings]):
    """A reply deeper than ``max_depth`` in a chain of agent replies (a human's message starts it again)."""

    name = "depth"
    key = "depth"
    settings = DepthSettings
    __slots__ = ("max_depth",)

    def __init__(self, section: DepthSettings) -> None:
        self.max_depth = section.max_depth

    @classmethod
    def build(cls, section: DepthSettings) -> DepthRule | None:
        return cls(section) if section.enabled else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        depth = subject.message.depth
        if depth <= self.max_depth:
            return None
        reason = depth_reason(depth, self.max_depth)
        return None if reason is None else Reject(reason)


class FilterRule(TextRule[FilterSettings]):
    """Filtered words and patterns in the normalised text: reject, or mask what matched (``agent_action``)."""

    name = "filters"
    key = "filters"
    settings = FilterSettings
    __slots__ = ("edit", "filters", "mask_char")

    def __init__(self, filters: CompiledFilters, section: FilterSettings) -> None:
        self.filters = filters
        self.edit = section.agent_action == "edit"
        self.mask_char = section.mask_char

    @classmethod
    def build(cls, section: FilterSettings) -> FilterRule | None:
        if not section.enabled:
            return None
        filters = compile_filters(section.words, section.patterns)
        return None if filters.empty else cls(filters, section)

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        message, text = subject.message, subject.text
        hit = self.filters.find(message.normalized if text is message.text else normalize(text))
        if hit is None:
            return None
        reason = filter_reason(hit)
        if self.edit:
            masked = self.filters.mask(text, self.mask_char)
            if masked is not None:
                return Edit(masked, f"masked: {reason}")
        return Reject(reason)


class LengthRule(TextRule[LengthSettings]):
    """Over the platform's length limit: cut at a word boundary (``edit``) or reject."""

    name = "length"
    key = "length"
    settings = LengthSettings
    __slots__ = ("edit", "limits")

    def __init__(self, section: LengthSettings) -> None:
        self.limits: Mapping[str, int] = section.limits
        self.edit = section.action == "edit"

    @classmethod
    def build(cls, section: LengthSettings) -> LengthRule | None:
        return cls(section) if section.limits else None

    def check(self, subject: Subject, state: RuleState) -> Outcome | None:
        platform = subject.message.room.platform
        limit = self.limits.get(platform)
        text = subject.text
        if limit is None or len(text) <= limit:
            return None
        reason = f"{len(text)} characters, over the {platform} limit of {limit}"
        return Edit(cut_to_limit(text, limit), f"cut: {reason}") if self.edit else Reject(reason)
