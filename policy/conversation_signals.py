"""The conversation moderator's signals: what a room as a whole shows, read from its window of turns.

``detect_signals`` looks at a ``RoomView`` (a snapshot of one room: its turns, toxicity scores, trend shifts, open
questions, who is present) and reports each ``Signal``: an idle stretch, an action item, an unanswered question, a
conflict between two speakers, agents dominating the room (or no longer), one agent monopolising it, a topic an
absent agent covers. Each signal carries the clause that explains it ("because ...") and its evidence.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from policy.conversation_actions import Mode
from policy.conversation_features import AuthorKind, Turn


class SignalKind(enum.StrEnum):
    IDLE = "idle"
    ACTION_ITEM = "action_item"
    UNRESOLVED_QUESTION = "unresolved_question"
    CONFLICT = "conflict"
    AGENT_DOMINANCE = "agent_dominance"
    AGENTS_BALANCED = "agents_balanced"  # the agents' share fell back: what ends a dominance-driven focus
    AGENT_MONOPOLY = "agent_monopoly"  # one agent alone writes most of the room
    TOPIC_MATCH = "topic_match"
    LLM = "llm"  # an action an LLM policy proposed
    SCHEDULED = "scheduled"  # a command the moderator scheduled earlier has come due


# Signals that describe a lasting condition: they must hold on consecutive evaluations before anything is done.
CONDITION_SIGNALS = frozenset(
    {SignalKind.CONFLICT, SignalKind.AGENT_DOMINANCE, SignalKind.AGENTS_BALANCED, SignalKind.AGENT_MONOPOLY}
)


# --- thresholds and the room as the rules see it -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Thresholds:
    window_messages: int = 20
    idle_seconds: float = 1800.0
    question_timeout_seconds: float = 600.0
    dominance_threshold: float = 0.7
    dominance_release: float = 0.4
    dominance_min_messages: int = 8
    monopoly_threshold: float = 0.5
    monopoly_rate_per_minute: int = 2
    reply_weight: float = 0.5
    conflict_threshold: float = 0.6
    conflict_min_hot: int = 2
    conflict_window_seconds: float = 300.0
    conflict_mode: Mode = Mode.REVIEW
    trend_drop: float = 0.4
    trend_falling_metrics: frozenset[str] = frozenset({"sentiment"})
    trend_rising_metrics: frozenset[str] = frozenset({"anger", "frustration", "toxicity"})
    topic_min_hits: int = 2
    revert_after_seconds: float = 900.0


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    message_id: str
    asker: str
    at: float


@dataclass(frozen=True, slots=True)
class Trend:
    at: float
    metric: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class RoomView:
    """A snapshot of one room for the rules."""

    now: float
    mode: Mode
    mode_set_by: str  # "moderator", "default", or the id of the human who set it
    mode_signal: str  # the signal kind behind a moderator-set mode ("" otherwise)
    turns: tuple[Turn, ...]
    last_activity: float
    toxicity: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))  # message id -> score
    trends: tuple[Trend, ...] = ()
    open_questions: tuple[OpenQuestion, ...] = ()
    present_agents: frozenset[str] = frozenset()
    topics: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    action_items: tuple[str, ...] = ()  # who raised them, in order
    styled_agents: frozenset[str] = frozenset()  # agents whose style or rate the moderator limited here
    human_override: bool = False  # a human set the mode recently: the moderator leaves the mode alone


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    because: str  # the clause after "because ..."
    subject: str = ""  # what it is about (a speaker pair, an agent, a question id): the debounce key
    evidence: Mapping[str, float | str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def post_weight(turn: Turn, reply_weight: float) -> float:
    """What an agent's message weighs in shares and rates: an answer to a person ``reply_weight``, any other 1."""
    return reply_weight if turn.answers_person else 1.0


def agent_share(turns: Sequence[Turn], reply_weight: float = 1.0) -> float:
    """The agents' weighted share of ``turns`` (answers to people weigh ``reply_weight``)."""
    weight = sum(post_weight(t, reply_weight) for t in turns if t.author_kind is AuthorKind.AGENT)
    return weight / len(turns) if turns else 0.0


def _unprompted(count: int, answers: int) -> str:
    return f" ({count - answers} unprompted, {answers} answering people)" if answers else ""


def dominance_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    turns = view.turns[-th.window_messages :]
    if len(turns) < th.dominance_min_messages:
        return []
    share = agent_share(turns, th.reply_weight)
    agent_turns = [t for t in turns if t.author_kind is AuthorKind.AGENT]
    answers = sum(1 for t in agent_turns if t.answers_person)
    out: list[Signal] = []
    evidence = MappingProxyType({"agent_share": round(share, 3), "window": len(turns)})
    if share >= th.dominance_threshold:
        out.append(
            Signal(
                SignalKind.AGENT_DOMINANCE,
                f"agents wrote {len(agent_turns)} of the last {len(turns)} messages"
                f"{_unprompted(len(agent_turns), answers)} ({_pct(share)})",
                evidence=evidence,
            )
        )
    elif share <= th.dominance_release and view.mode is Mode.FOCUSED and view.mode_signal == SignalKind.AGENT_DOMINANCE:
        out.append(
            Signal(
                SignalKind.AGENTS_BALANCED,
                f"agents now write {_pct(share)} of the last {len(turns)} messages",
                evidence=evidence,
            )
        )
    monopoly = _monopoly(turns, agent_turns, th)
    return [*out, monopoly] if monopoly is not None else out


def _monopoly(turns: Sequence[Turn], agent_turns: Sequence[Turn], th: Thresholds) -> Signal | None:
    """The agent with the largest weighted share of ``turns``, when it reaches ``monopoly_threshold``."""
    weights: dict[str, float] = {}
    for t in agent_turns:
        weights[t.author] = weights.get(t.author, 0.0) + post_weight(t, th.reply_weight)
    if not weights:
        return None
    top = max(weights, key=lambda name: weights[name])
    top_share = weights[top] / len(turns)
    if top_share < th.monopoly_threshold:
        return None
    mine = [t for t in agent_turns if t.author == top]
    count, answered = len(mine), sum(1 for t in mine if t.answers_person)
    return Signal(
        SignalKind.AGENT_MONOPOLY,
        f"{top} wrote {count} of the last {len(turns)} messages{_unprompted(count, answered)}",
        subject=top,
        evidence=MappingProxyType({"share": round(top_share, 3), "window": len(turns)}),
    )


def _exchange_partner(turn: Turn, previous: Turn | None) -> str | None:
    """Whom a turn answers: the author it replies to, else the author of the message just before it."""
    if turn.reply_to_author and turn.reply_to_author != turn.author:
        return turn.reply_to_author
    if previous is not None and previous.author != turn.author:
        return previous.author
    return None


def _exchanges(recent: Sequence[Turn]) -> dict[frozenset[str], list[Turn]]:
    """The recent turns grouped by the pair of speakers each belongs to (see ``_exchange_partner``)."""
    pairs: dict[frozenset[str], list[Turn]] = {}
    previous: Turn | None = None
    for turn in recent:
        partner = _exchange_partner(turn, previous)
        if partner is not None:
            pairs.setdefault(frozenset({turn.author, partner}), []).append(turn)
        previous = turn
    return pairs


def _sours(trend: Trend, th: Thresholds) -> bool:
    """Whether a trend shift sours the mood: a falling metric fell, or a rising one rose, by ``trend_drop``."""
    change = trend.after - trend.before
    if trend.metric in th.trend_falling_metrics and change <= -th.trend_drop:
        return True
    return trend.metric in th.trend_rising_metrics and change >= th.trend_drop


def _mood_falling(view: RoomView, th: Thresholds) -> bool:
    return any(view.now - tr.at <= th.conflict_window_seconds and _sours(tr, th) for tr in view.trends)


def _heat(exchange: Sequence[Turn], view: RoomView, th: Thresholds, mood_falling: bool) -> tuple[int, float] | None:
    """How hot one pair's exchange is (hot messages, peak toxicity), or None when it is no conflict."""
    scored = [view.toxicity[t.message_id] for t in exchange if t.message_id in view.toxicity]
    hot = sum(1 for s in scored if s >= th.conflict_threshold)
    by_mood = mood_falling and len({t.author for t in exchange}) == 2
    if hot < th.conflict_min_hot and not by_mood:
        return None
    return hot, max(scored, default=0.0)


def _hottest(
    pairs: Mapping[frozenset[str], Sequence[Turn]], view: RoomView, th: Thresholds
) -> tuple[int, float, frozenset[str]] | None:
    """The pair in the hottest conflict (most hot messages, then highest peak; the first such pair on a tie)."""
    mood_falling = _mood_falling(view, th)
    best: tuple[int, float, frozenset[str]] | None = None
    for pair, exchange in pairs.items():
        heat = _heat(exchange, view, th, mood_falling) if len(pair) == 2 else None
        if heat is not None and (best is None or heat > best[:2]):
            best = (*heat, pair)
    return best


def _may_conflict(recent: Sequence[Turn], view: RoomView, th: Thresholds) -> bool:
    """Whether any pair could be in conflict: the mood is falling, or the recent turns hold ``conflict_min_hot``
    hot messages in all (each turn counts in one pair at most, so no pair has more than all of them)."""
    scores = view.toxicity
    hot = sum(1 for t in recent if scores.get(t.message_id, 0.0) >= th.conflict_threshold) if scores else 0
    return hot >= th.conflict_min_hot or _mood_falling(view, th)


def conflict_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    """Two speakers trading hot messages (toxicity at or above the threshold), or a falling mood while two
    speakers go back and forth."""
    recent = [t for t in view.turns if view.now - t.at <= th.conflict_window_seconds]
    if len(recent) < 2 or not _may_conflict(recent, view, th):
        return []
    best = _hottest(_exchanges(recent), view, th)
    if best is None:
        return []
    hot_count, peak, pair = best
    kinds = {t.author: t.author_kind for t in recent}
    a, b = sorted(pair)
    agents = sorted(p for p in pair if kinds.get(p) is AuthorKind.AGENT)
    if hot_count >= th.conflict_min_hot:
        because = f"the exchange between {a} and {b} is getting heated (toxicity up to {peak:.2f})"
    else:
        because = f"the mood turned sharply while {a} and {b} go back and forth"
    evidence: dict[str, float | str] = {"hot_messages": hot_count, "peak_toxicity": round(peak, 3)}
    if agents:
        evidence["agents"] = ",".join(agents)
    return [Signal(SignalKind.CONFLICT, because, subject=f"{a}|{b}", evidence=MappingProxyType(evidence))]


def _topic_candidates(view: RoomView, turns: Sequence[Turn], th: Thresholds) -> list[str]:
    """The agents whose topics may be signalled, in name order: those a person's recent message hit (an agent no
    message hit has no signal, so the roster's other agents are not looked at)."""
    if not view.topics or th.topic_min_hits <= 0:
        return sorted(view.topics)
    hit = {a for t in turns if t.author_kind is AuthorKind.HUMAN for a in t.features.topic_hits}
    return sorted(a for a in hit if a in view.topics)


def topic_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    turns = view.turns[-th.window_messages :]
    out = []
    for agent in _topic_candidates(view, turns, th):
        if agent in view.present_agents:
            continue
        words: set[str] = set()
        messages = 0
        for t in turns:
            if t.author_kind is AuthorKind.HUMAN and agent in t.features.topic_hits:
                messages += 1
                words |= t.features.topic_hits[agent]
        if messages >= th.topic_min_hits:
            listed = ", ".join(sorted(words)[:5])
            out.append(
                Signal(
                    SignalKind.TOPIC_MATCH,
                    f"the conversation is about {listed}, which {agent} covers, and {agent} is not here",
                    subject=agent,
                    evidence=MappingProxyType({"messages": messages, "keywords": listed}),
                )
            )
    return out


def question_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    return [
        Signal(
            SignalKind.UNRESOLVED_QUESTION,
            f"{q.asker} asked a question {_minutes(view.now - q.at)} ago that no one has answered",
            subject=q.message_id,
            evidence=MappingProxyType({"asked_at": q.at, "asker": q.asker}),
        )
        for q in view.open_questions
        if view.now - q.at >= th.question_timeout_seconds
    ]


def idle_signal(view: RoomView, th: Thresholds) -> Signal | None:
    idle_for = view.now - view.last_activity
    if idle_for < th.idle_seconds:
        return None
    return Signal(
        SignalKind.IDLE,
        f"the channel has been idle for {_minutes(idle_for)}",
        subject=str(int(view.last_activity)),
        evidence=MappingProxyType({"idle_seconds": round(idle_for, 1)}),
    )


def action_item_signal(view: RoomView, turn: Turn) -> Signal | None:
    if not turn.features.action_item:
        return None
    count = len(view.action_items)
    return Signal(
        SignalKind.ACTION_ITEM,
        f"{turn.author} raised an action item ({count} in this conversation so far)",
        subject=turn.message_id,
        evidence=MappingProxyType({"author": turn.author, "count": count}),
    )


def detect_signals(view: RoomView, th: Thresholds, *, turn: Turn | None = None) -> list[Signal]:
    """Every signal the room shows now. ``turn`` is the message just seen, for the per-message signals."""
    signals: list[Signal] = []
    if turn is not None:
        item = action_item_signal(view, turn)
        if item is not None:
            signals.append(item)
    signals += conflict_signals(view, th)
    signals += dominance_signals(view, th)
    signals += topic_signals(view, th)
    signals += question_signals(view, th)
    idle = idle_signal(view, th)
    if idle is not None:
        signals.append(idle)
    return signals
