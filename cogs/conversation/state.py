"""Per-room hot state of the conversation moderator: a window of message features (never the text), open
questions, toxicity of recent messages, who is present, who was addressed, the agents' rate buckets, the debounce
streaks and cooldowns.

It lives in memory, keyed by the room's key, and is evicted when the room has been idle for
``evict_after_seconds``; what must survive a restart (modes, agent styles, the audit log, scheduled commands) is in
the database.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain import Room
from policy.conversation import AuthorKind, OpenQuestion, Trend, Turn
from policy.ratelimit import Take, TokenBucket, take

RATE_WINDOW_SECONDS = 60.0
_NOTICE_MEMORY = 50
TREND_MEMORY = 20
_SWEEP_EARLY = 1e-3  # seconds: a room is swept this much before its due time, so rounding never makes it late
ANSWERS_BUCKET = "\x00answers"


# The value of a set nothing was put in yet: one shared empty frozenset (an empty set takes 216 bytes, and most
# rooms never fill most of their sets). ``with_item`` puts a real set in its place on the first item.
_NONE: frozenset[Any] = frozenset()
T = TypeVar("T")


def with_item(items: set[T] | frozenset[T], item: T) -> set[T]:
    """``items`` with ``item`` added: the same set, or a new one in place of the shared empty value."""
    if isinstance(items, set):
        items.add(item)
        return items
    return {*items, item}


def without_item(items: set[T] | frozenset[T], item: T) -> None:
    if isinstance(items, set):
        items.discard(item)


def _bucket_key(agent: str, answers: bool) -> str:
    return agent + ANSWERS_BUCKET if answers else agent


def answers_limit(limit: int, reply_weight: float) -> int:
    """An agent's budget of answers to people a minute when its unprompted posts are held to ``limit``: each
    answer weighs ``reply_weight`` of a post, so ``limit / reply_weight`` of them (no limit at weight 0)."""
    if reply_weight <= 0:
        return 0
    return max(limit, math.floor(limit / reply_weight))


@dataclass(slots=True)
class RoomState:
    """One room's state. Compact, as there is one per active room: slots, and lists trimmed to their length
    rather than deques (a deque takes a 64-item block however few it holds)."""

    room: Room
    window: int
    last_activity: float
    turns: list[Turn] = field(default_factory=list)  # the last ``window`` turns, oldest first
    toxicity: dict[str, float] = field(default_factory=dict)
    trends: list[Trend] = field(default_factory=list)  # the last TREND_MEMORY shifts
    open_questions: dict[str, OpenQuestion] = field(default_factory=dict)
    action_items: list[str] = field(default_factory=list)
    present: set[str] | frozenset[str] = _NONE
    addressed: dict[str, float] = field(default_factory=dict)  # agent -> when it was last addressed
    asked: dict[str, tuple[float, str]] = field(default_factory=dict)  # agent -> (when, message) a person addressed it
    answered: set[tuple[str, str]] | frozenset[tuple[str, str]] = _NONE  # (agent, person's message) answers given
    # agent (or agent + ANSWERS_BUCKET, its answers to people) -> (the limit, the bucket)
    rate_buckets: dict[str, tuple[int, TokenBucket]] = field(default_factory=dict)
    message_authors: dict[str, str] = field(default_factory=dict)  # message id -> author id (window only)
    agent_messages: set[str] | frozenset[str] = _NONE  # message ids written by agents (window only)
    seq: int = 0  # messages seen: a debounce streak grows at most once per message
    streaks: dict[str, tuple[int, int]] = field(default_factory=dict)  # signal key -> (streak, last seq counted)
    last_action: dict[str, float] = field(default_factory=dict)  # cooldown key -> when
    handled: set[str] | frozenset[str] = _NONE  # one-shot signals already acted on
    own_notices: list[str] = field(default_factory=list)  # the last _NOTICE_MEMORY notices posted here
    messages_since_llm: int = 0
    llm_running: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Before this time the sweep has nothing to do here (0: look): set by the sweep, reset by every message.
    next_sweep: float = 0.0

    def add_turn(self, turn: Turn) -> None:
        previous = self.turns[-1] if self.turns else None
        self.next_sweep = 0.0  # a message moves the idle clock and may open a question
        if len(self.turns) >= self.window:
            self._forget_window_entry(self.turns[0].message_id)
            del self.turns[: len(self.turns) - self.window + 1]
        self.turns.append(turn)
        self.seq += 1
        self.last_activity = max(self.last_activity, turn.at)
        self.message_authors[turn.message_id] = turn.author
        if turn.author_kind is AuthorKind.AGENT:
            self.agent_messages = with_item(self.agent_messages, turn.message_id)
            self.present = with_item(self.present, turn.author)
            self.addressed.pop(turn.author, None)  # an agent's answer uses up its being addressed
            self.asked.pop(turn.author, None)
        self._resolve_questions(turn, previous)
        if turn.author_kind is AuthorKind.HUMAN and turn.features.is_question:
            self.open_questions[turn.message_id] = OpenQuestion(turn.message_id, turn.author, turn.at)
        if turn.features.action_item:
            self.action_items.append(turn.author)
        self._note_addressed(turn)

    def mark_present(self, agent: str) -> None:
        self.present = with_item(self.present, agent)

    def mark_absent(self, agent: str) -> None:
        without_item(self.present, agent)

    def mark_answered(self, agent: str, message_id: str) -> None:
        self.answered = with_item(self.answered, (agent, message_id))

    def mark_handled(self, key: str) -> None:
        self.handled = with_item(self.handled, key)

    def forget_handled(self) -> None:
        self.handled = _NONE

    def add_trend(self, trend: Trend) -> None:
        self.trends.append(trend)
        if len(self.trends) > TREND_MEMORY:
            del self.trends[0]

    def note_own_notice(self, text: str) -> None:
        self.own_notices.append(text.strip())
        if len(self.own_notices) > _NOTICE_MEMORY:
            del self.own_notices[0]

    def _forget_window_entry(self, message_id: str) -> None:
        if any(pair[1] == message_id for pair in self.answered):
            self.answered = {pair for pair in self.answered if pair[1] != message_id} or _NONE
        self.message_authors.pop(message_id, None)
        without_item(self.agent_messages, message_id)
        self.toxicity.pop(message_id, None)

    def _note_addressed(self, turn: Turn) -> None:
        """The agents a turn addresses: those it names, and the one it replies to (an agent of the room)."""
        for agent in turn.features.mentioned_agents:
            if agent != turn.author:
                self.note_addressed(agent, turn)
        replied = turn.reply_to_author or (self.message_authors.get(turn.reply_to) if turn.reply_to else None)
        if replied and replied != turn.author and (turn.reply_to in self.agent_messages or replied in self.present):
            self.note_addressed(replied, turn)

    def note_addressed(self, agent: str, turn: Turn) -> None:
        """``turn`` addresses ``agent``: it may answer (in focused mode); a person's addressing earns one answer."""
        self.addressed[agent] = turn.at
        if turn.author_kind is AuthorKind.HUMAN:
            self.asked[agent] = (turn.at, turn.message_id)

    def _is_persons(self, message_id: str | None) -> bool:
        return message_id is not None and message_id in self.message_authors and message_id not in self.agent_messages

    def person_answered(self, agent: str, at: float, reply_to: str | None, within: float) -> str | None:
        """The person's message a post by ``agent`` at ``at`` answers, if it answers one not answered by it yet: the
        person's message it replies to; else the latest message of a person who addressed it (by name, mention or
        reply) within ``within`` seconds; else a person's question just before, still open. None: unprompted."""
        if reply_to is not None:
            return reply_to if self._is_persons(reply_to) and (agent, reply_to) not in self.answered else None
        asked = self.asked.get(agent)
        if asked is not None and 0 <= at - asked[0] <= within and (agent, asked[1]) not in self.answered:
            return asked[1]
        last = self.turns[-1] if self.turns else None
        if last is not None and last.message_id in self.open_questions and self._is_persons(last.message_id):
            return last.message_id if (agent, last.message_id) not in self.answered else None
        return None

    def _resolve_questions(self, turn: Turn, previous: Turn | None) -> None:
        if turn.reply_to and turn.reply_to in self.open_questions:
            if self.open_questions[turn.reply_to].asker != turn.author:
                del self.open_questions[turn.reply_to]
        if previous is not None and previous.message_id in self.open_questions and previous.author != turn.author:
            # The next message by someone else, right after a question, is taken as its answer.
            del self.open_questions[previous.message_id]

    def remove(self, message_id: str) -> bool:
        """Forget a deleted message: it no longer counts in shares, questions or conflicts."""
        kept = [t for t in self.turns if t.message_id != message_id]
        if len(kept) == len(self.turns):
            return False
        self.turns = kept
        self._forget_window_entry(message_id)
        self.open_questions.pop(message_id, None)
        return True

    def record_toxicity(self, message_id: str, score: float) -> None:
        self.toxicity[message_id] = score
        if len(self.toxicity) > 4 * self.window:
            keep = {t.message_id for t in self.turns}
            for key in [k for k in self.toxicity if k not in keep]:
                del self.toxicity[key]

    def rate_take(self, agent: str, limit: int, now: float, *, answers: bool = False) -> Take:
        """What one more post by ``agent`` at ``now`` would do to its bucket of ``limit`` messages a minute: the
        bucket of its answers to people when ``answers``, else that of its unprompted posts (two budgets: answering
        never spends what posting unprompted may use, nor the other way). The bucket is kept by the posts the room
        sees (``count_post``), not by this check."""
        bucket = self._bucket(agent, limit, now, answers)
        return take(bucket, now=now, rate=limit / RATE_WINDOW_SECONDS, capacity=limit)

    def count_post(self, agent: str, limit: int, at: float, *, answers: bool = False) -> None:
        """An agent's post under a limit of ``limit`` a minute takes a token from its bucket (of answers or of
        unprompted posts), if one is kept."""
        key = _bucket_key(agent, answers)
        kept = self.rate_buckets.pop(key, None)
        if kept is not None and kept[0] == limit:
            spent = take(kept[1], now=at, rate=limit / RATE_WINDOW_SECONDS, capacity=limit)
            self.rate_buckets[key] = (limit, spent.bucket)

    def _bucket(self, agent: str, limit: int, now: float, answers: bool) -> TokenBucket:
        """The agent's bucket for ``limit``; a new one is filled by replaying its posts of the kind of the last
        minute in the window (a minute refills a whole bucket, so older posts do not matter)."""
        key = _bucket_key(agent, answers)
        kept = self.rate_buckets.get(key)
        if kept is not None and kept[0] == limit:
            return kept[1]
        bucket: TokenBucket | None = None
        for t in self.turns:
            mine = t.author == agent and t.author_kind is AuthorKind.AGENT and t.answers_person == answers
            if mine and 0 <= now - t.at < RATE_WINDOW_SECONDS:
                bucket = take(bucket, now=t.at, rate=limit / RATE_WINDOW_SECONDS, capacity=limit).bucket
        seeded = bucket if bucket is not None else TokenBucket.full(limit, now)
        self.rate_buckets[key] = (limit, seeded)
        return seeded

    def time_signals_due(self, now: float, idle_seconds: float, question_timeout_seconds: float) -> bool:
        """Whether the room is idle at ``now`` or a question in it has waited its timeout (what ``idle_signal`` and
        ``question_signals`` would report on the room's view)."""
        if now - self.last_activity >= idle_seconds:
            return True
        return any(now - q.at >= question_timeout_seconds for q in self.open_questions.values())

    def sweep_after(self, idle_seconds: float, question_timeout_seconds: float, retention_seconds: float) -> float:
        """The earliest time the sweep could find this room idle, a question overdue or the room to forget, a
        little early rather than late (the sweep's own tests decide; this only lets it skip a room before then)."""
        due = min(self.last_activity + idle_seconds, self.last_activity + retention_seconds)
        if self.open_questions:
            due = min(due, min(q.at for q in self.open_questions.values()) + question_timeout_seconds)
        return due - _SWEEP_EARLY

    def was_addressed(self, agent: str, now: float, within: float) -> bool:
        at = self.addressed.get(agent)
        return at is not None and now - at <= within

    def bump_streak(self, key: str) -> int:
        streak, counted = self.streaks.get(key, (0, -1))
        if counted != self.seq:
            streak, counted = streak + 1, self.seq
            self.streaks[key] = (streak, counted)
        return streak

    def reset_streaks(self, keep: set[str]) -> None:
        for key in [k for k in self.streaks if k not in keep]:
            del self.streaks[key]

    def is_own_notice(self, text: str) -> bool:
        stripped = text.strip()
        return bool(stripped) and any(stripped == n or (len(n) > 20 and n in stripped) for n in self.own_notices)
