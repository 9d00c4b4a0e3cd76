"""The conversation moderator's rules: pure functions over plain data.

The cog turns each message into a ``Turn`` (features only, never the text), keeps a window of them per room, and
asks ``detect_signals`` what the conversation as a whole shows: an idle stretch, an action item, an unanswered
question, a conflict between two speakers, agents dominating the room, a topic an absent agent covers. ``propose``
maps each signal to typed actions. The actions are pydantic models (``ActionProposal``), the same schema an
optional LLM policy must answer in, so that whatever proposes an action, it is validated the same way before
anything is done.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Mode(enum.StrEnum):
    OPEN = "open"  # agents speak freely (their other gates still apply)
    FOCUSED = "focused"  # agents speak only when addressed: mentioned by name or replied to
    REVIEW = "review"  # agents' messages need their owner's approval before they are posted
    QUIET = "quiet"  # agents are silent


MODE_EFFECT: Mapping[Mode, str] = MappingProxyType(
    {
        Mode.OPEN: "Agents may speak freely again.",
        Mode.FOCUSED: "Agents now speak only when someone addresses them by name or replies to them.",
        Mode.REVIEW: "Agents' messages now need their owner's approval before they are posted.",
        Mode.QUIET: "Agents are silent here until the mode changes.",
    }
)


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


class AuthorKind(enum.StrEnum):
    HUMAN = "human"
    AGENT = "agent"


# --- the action schema (what rules and an LLM may propose) ----------------------------------------------------------


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1, max_length=300, description="why, in words shown to the room")


class SetModeProposal(_Proposal):
    kind: Literal["set_mode"] = "set_mode"
    mode: Mode


class AgentStyle(enum.StrEnum):
    NORMAL = "normal"
    BRIEF = "brief"  # short messages only (``brief_max_chars``)


class SetAgentStyleProposal(_Proposal):
    kind: Literal["set_agent_style"] = "set_agent_style"
    agent: str = Field(min_length=1, max_length=100)
    style: AgentStyle | None = None
    max_per_minute: int | None = Field(default=None, ge=0, le=60, description="0 lifts the limit")


class AddParticipantProposal(_Proposal):
    kind: Literal["add_participant"] = "add_participant"
    agent: str = Field(min_length=1, max_length=100)


class RemoveParticipantProposal(_Proposal):
    kind: Literal["remove_participant"] = "remove_participant"
    agent: str = Field(min_length=1, max_length=100)


class ScheduleCommandProposal(_Proposal):
    kind: Literal["schedule_command"] = "schedule_command"
    command: str = Field(min_length=1, max_length=200, description="a Steward command line, e.g. 'mode open'")
    delay_seconds: float = Field(ge=1, le=7 * 24 * 3600)


class PostMessageProposal(_Proposal):
    kind: Literal["post_message"] = "post_message"
    text: str = Field(min_length=1, max_length=500)


ActionProposal = Annotated[
    SetModeProposal
    | SetAgentStyleProposal
    | AddParticipantProposal
    | RemoveParticipantProposal
    | ScheduleCommandProposal
    | PostMessageProposal,
    Field(discriminator="kind"),
]
ACTION_ADAPTER: TypeAdapter[ActionProposal] = TypeAdapter(ActionProposal)


class ProposalBatch(BaseModel):
    """What an LLM policy must answer: ``{"actions": [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[ActionProposal] = Field(default_factory=list, max_length=10)


ActionKind = Literal[
    "set_mode", "set_agent_style", "add_participant", "remove_participant", "schedule_command", "post_message"
]


# --- observations -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextFeatures:
    is_question: bool = False
    action_item: bool = False
    mentioned_agents: frozenset[str] = frozenset()
    topic_hits: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Turn:
    """One message, reduced to what the rules need (no text)."""

    at: float
    message_id: str
    author: str
    author_kind: AuthorKind
    reply_to: str | None = None
    reply_to_author: str | None = None
    features: TextFeatures = TextFeatures()


@dataclass(frozen=True, slots=True)
class AgentName:
    """A registered agent and the words that name it in text (its name and display name)."""

    name: str
    aliases: tuple[str, ...] = ()


_QUESTION_START = re.compile(
    r"^\s*(who|what|when|where|why|how|which|can|could|would|should|does|do|did|is|are|will|anyone)\b", re.I
)
_WORD = re.compile(r"[a-z0-9][a-z0-9_\-]*", re.I)

DEFAULT_ACTION_ITEM_PATTERNS: tuple[str, ...] = (
    r"\btodo\b",
    r"\baction item\b",
    r"\bi(?:'?ll| will)\s+(?:take|handle|do|follow up|look into|write|fix|send|draft|own)\b",
    r"\b(?:can|could) (?:someone|somebody|you)\s+(?:please\s+)?(?:take|handle|write|fix|look into|follow up)\b",
    r"\bwe (?:need|have) to\b",
    r"\bby (?:monday|tuesday|wednesday|thursday|friday|tomorrow|eod|end of (?:day|week))\b",
)


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile action-item patterns; a bad pattern raises ``re.error`` naming it (config validation uses this)."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.I))
        except re.error as exc:
            raise ValueError(f"action item pattern {pattern!r} is not a valid regular expression: {exc}") from None
    return tuple(compiled)


def _mentions_word(text_lower: str, word: str) -> bool:
    word = word.strip().lower()
    if not word:
        return False
    return re.search(rf"(?<![a-z0-9_\-]){re.escape(word)}(?![a-z0-9_\-])", text_lower) is not None


def extract_features(
    text: str,
    *,
    agents: Sequence[AgentName] = (),
    mentions: Iterable[str] = (),
    topics: Mapping[str, Sequence[str]] | None = None,
    action_patterns: Sequence[re.Pattern[str]] = (),
) -> TextFeatures:
    """What a message says about the conversation, without keeping the message."""
    stripped = text.strip()
    lower = stripped.lower()
    is_question = stripped.endswith("?") or (bool(_QUESTION_START.match(stripped)) and "?" in stripped)
    action_item = any(p.search(stripped) for p in action_patterns)
    mention_ids = {m.lower().lstrip("@") for m in mentions}
    mentioned = set()
    for agent in agents:
        names = (agent.name, *agent.aliases)
        if any(n.lower() in mention_ids for n in names if n) or any(_mentions_word(lower, n) for n in names if n):
            mentioned.add(agent.name)
    hits: dict[str, frozenset[str]] = {}
    if topics:
        words = set(_WORD.findall(lower))
        for agent_name, keywords in topics.items():
            found = frozenset(
                k.lower() for k in keywords if (k.lower() in words if " " not in k else _mentions_word(lower, k))
            )
            if found:
                hits[agent_name] = found
    return TextFeatures(
        is_question=is_question,
        action_item=action_item,
        mentioned_agents=frozenset(mentioned),
        topic_hits=MappingProxyType(hits),
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


@dataclass(frozen=True, slots=True)
class Proposal:
    action: ActionProposal
    signal: Signal


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def agent_share(turns: Sequence[Turn]) -> float:
    return sum(1 for t in turns if t.author_kind is AuthorKind.AGENT) / len(turns) if turns else 0.0


def dominance_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    turns = view.turns[-th.window_messages :]
    if len(turns) < th.dominance_min_messages:
        return []
    share = agent_share(turns)
    agent_turns = [t for t in turns if t.author_kind is AuthorKind.AGENT]
    out: list[Signal] = []
    evidence = MappingProxyType({"agent_share": round(share, 3), "window": len(turns)})
    if share >= th.dominance_threshold:
        out.append(
            Signal(
                SignalKind.AGENT_DOMINANCE,
                f"agents wrote {len(agent_turns)} of the last {len(turns)} messages ({_pct(share)})",
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
    if agent_turns:
        top, count = Counter(t.author for t in agent_turns).most_common(1)[0]
        top_share = count / len(turns)
        if top_share >= th.monopoly_threshold:
            out.append(
                Signal(
                    SignalKind.AGENT_MONOPOLY,
                    f"{top} wrote {count} of the last {len(turns)} messages",
                    subject=top,
                    evidence=MappingProxyType({"share": round(top_share, 3), "window": len(turns)}),
                )
            )
    return out


def _exchange_partner(turn: Turn, previous: Turn | None) -> str | None:
    """Whom a turn answers: the author it replies to, else the author of the message just before it."""
    if turn.reply_to_author and turn.reply_to_author != turn.author:
        return turn.reply_to_author
    if previous is not None and previous.author != turn.author:
        return previous.author
    return None


def conflict_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    """Two speakers trading hot messages (toxicity at or above the threshold), or a falling mood while two
    speakers go back and forth."""
    recent = [t for t in view.turns if view.now - t.at <= th.conflict_window_seconds]
    if len(recent) < 2:
        return []
    kinds = {t.author: t.author_kind for t in recent}
    pairs: dict[frozenset[str], list[Turn]] = {}
    previous: Turn | None = None
    for turn in recent:
        partner = _exchange_partner(turn, previous)
        if partner is not None:
            pairs.setdefault(frozenset({turn.author, partner}), []).append(turn)
        previous = turn
    mood_falling = any(
        view.now - tr.at <= th.conflict_window_seconds
        and (
            (tr.metric in th.trend_falling_metrics and tr.after - tr.before <= -th.trend_drop)
            or (tr.metric in th.trend_rising_metrics and tr.after - tr.before >= th.trend_drop)
        )
        for tr in view.trends
    )
    best: tuple[int, float, frozenset[str], list[Turn]] | None = None
    for pair, exchange in pairs.items():
        if len(pair) != 2:
            continue
        scored = [view.toxicity[t.message_id] for t in exchange if t.message_id in view.toxicity]
        hot = [s for s in scored if s >= th.conflict_threshold]
        by_toxicity = len(hot) >= th.conflict_min_hot
        by_mood = mood_falling and len({t.author for t in exchange}) == 2
        if not (by_toxicity or by_mood):
            continue
        peak = max(scored, default=0.0)
        rank = (len(hot), peak, pair, exchange)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        return []
    hot_count, peak, pair, exchange = best
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


def topic_signals(view: RoomView, th: Thresholds) -> list[Signal]:
    turns = view.turns[-th.window_messages :]
    out = []
    for agent in sorted(view.topics):
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


def propose(signals: Sequence[Signal], view: RoomView, th: Thresholds) -> list[Proposal]:
    """The rule-based policy: what to do about each signal."""
    out: list[Proposal] = []
    may_set_mode = not view.human_override
    for s in signals:
        if s.kind is SignalKind.CONFLICT:
            agents = [a for a in str(s.evidence.get("agents", "")).split(",") if a]
            if agents:
                for agent in agents:
                    out.append(Proposal(RemoveParticipantProposal(agent=agent, reason=s.because), s))
            elif may_set_mode and view.mode in (Mode.OPEN, Mode.FOCUSED) and th.conflict_mode is not view.mode:
                out.append(Proposal(SetModeProposal(mode=th.conflict_mode, reason=s.because), s))
                out.append(
                    Proposal(
                        ScheduleCommandProposal(
                            command="mode open",
                            delay_seconds=th.revert_after_seconds,
                            reason=f"{th.conflict_mode} mode is meant as a pause, not a new normal",
                        ),
                        s,
                    )
                )
        elif s.kind is SignalKind.AGENT_DOMINANCE:
            if may_set_mode and view.mode is Mode.OPEN:
                out.append(Proposal(SetModeProposal(mode=Mode.FOCUSED, reason=s.because), s))
        elif s.kind is SignalKind.AGENTS_BALANCED:
            if may_set_mode:
                out.append(Proposal(SetModeProposal(mode=Mode.OPEN, reason=s.because), s))
        elif s.kind is SignalKind.AGENT_MONOPOLY:
            out.append(
                Proposal(
                    SetAgentStyleProposal(
                        agent=s.subject,
                        style=AgentStyle.BRIEF,
                        max_per_minute=th.monopoly_rate_per_minute,
                        reason=s.because,
                    ),
                    s,
                )
            )
        elif s.kind is SignalKind.TOPIC_MATCH:
            out.append(Proposal(AddParticipantProposal(agent=s.subject, reason=s.because), s))
        elif s.kind is SignalKind.ACTION_ITEM:
            out.append(
                Proposal(
                    PostMessageProposal(text="Noted an action item", reason=s.because),
                    s,
                )
            )
        elif s.kind is SignalKind.UNRESOLVED_QUESTION:
            out.append(
                Proposal(
                    PostMessageProposal(text="A question here is still waiting for an answer", reason=s.because),
                    s,
                )
            )
        elif s.kind is SignalKind.IDLE:
            if may_set_mode and view.mode is not Mode.OPEN and view.mode_set_by == "moderator":
                out.append(Proposal(SetModeProposal(mode=Mode.OPEN, reason=s.because), s))
            for agent in sorted(view.styled_agents):
                out.append(
                    Proposal(
                        SetAgentStyleProposal(agent=agent, style=AgentStyle.NORMAL, max_per_minute=0, reason=s.because),
                        s,
                    )
                )
            if view.action_items:
                who = ", ".join(sorted(set(view.action_items)))
                out.append(
                    Proposal(
                        PostMessageProposal(
                            text=f"Reminder: {len(view.action_items)} action item(s) were raised here (by {who})",
                            reason=s.because,
                        ),
                        s,
                    )
                )
    return out


def cooled_down(last_at: float | None, now: float, cooldown_seconds: float) -> bool:
    return last_at is None or now - last_at >= cooldown_seconds


def debounced(streak: int, required: int) -> bool:
    """A lasting condition acts only once it has been seen on ``required`` consecutive evaluations."""
    return streak >= required
