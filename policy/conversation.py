"""The conversation moderator's rules: pure functions over plain data.

The cog turns each message into a ``Turn`` (``conversation_features``: features only, never the text), keeps a
window of them per room, and asks ``detect_signals`` (``conversation_signals``) what the conversation as a whole
shows. ``propose``, here, maps each signal to typed actions (``conversation_actions``: the same schema an optional
LLM policy must answer in). This module is also the one import path for all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from policy.conversation_actions import (
    ACTION_ADAPTER,
    MODE_EFFECT,
    ActionKind,
    ActionProposal,
    AddParticipantProposal,
    AgentStyle,
    Mode,
    PostMessageProposal,
    ProposalBatch,
    RemoveParticipantProposal,
    ScheduleCommandProposal,
    SetAgentStyleProposal,
    SetModeProposal,
)
from policy.conversation_features import (
    DEFAULT_ACTION_ITEM_PATTERNS,
    AgentName,
    AuthorKind,
    TextFeatures,
    Turn,
    compile_patterns,
    extract_features,
)
from policy.conversation_signals import (
    CONDITION_SIGNALS,
    OpenQuestion,
    RoomView,
    Signal,
    SignalKind,
    Thresholds,
    Trend,
    action_item_signal,
    agent_share,
    conflict_signals,
    detect_signals,
    dominance_signals,
    idle_signal,
    question_signals,
    topic_signals,
)

__all__ = [
    "ACTION_ADAPTER",
    "CONDITION_SIGNALS",
    "DEFAULT_ACTION_ITEM_PATTERNS",
    "MODE_EFFECT",
    "ActionKind",
    "ActionProposal",
    "AddParticipantProposal",
    "AgentName",
    "AgentStyle",
    "AuthorKind",
    "Mode",
    "OpenQuestion",
    "PostMessageProposal",
    "Proposal",
    "ProposalBatch",
    "RemoveParticipantProposal",
    "RoomView",
    "ScheduleCommandProposal",
    "SetAgentStyleProposal",
    "SetModeProposal",
    "Signal",
    "SignalKind",
    "TextFeatures",
    "Thresholds",
    "Trend",
    "Turn",
    "action_item_signal",
    "agent_share",
    "compile_patterns",
    "conflict_signals",
    "cooled_down",
    "debounced",
    "detect_signals",
    "dominance_signals",
    "extract_features",
    "idle_signal",
    "propose",
    "question_signals",
    "topic_signals",
]


@dataclass(frozen=True, slots=True)
class Proposal:
    action: ActionProposal
    signal: Signal


_Rule = Callable[[Signal, RoomView, Thresholds], list[ActionProposal]]


def _on_conflict(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    """An agent in the fight is asked to leave; between humans, the room pauses in ``conflict_mode`` for a while."""
    agents = [a for a in str(s.evidence.get("agents", "")).split(",") if a]
    if agents:
        return [RemoveParticipantProposal(agent=agent, reason=s.because) for agent in agents]
    if view.human_override or view.mode not in (Mode.OPEN, Mode.FOCUSED) or th.conflict_mode is view.mode:
        return []
    revert = ScheduleCommandProposal(
        command="mode open",
        delay_seconds=th.revert_after_seconds,
        reason=f"{th.conflict_mode} mode is meant as a pause, not a new normal",
    )
    return [SetModeProposal(mode=th.conflict_mode, reason=s.because), revert]


def _on_dominance(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    if view.human_override or view.mode is not Mode.OPEN:
        return []
    return [SetModeProposal(mode=Mode.FOCUSED, reason=s.because)]


def _on_balanced(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    return [] if view.human_override else [SetModeProposal(mode=Mode.OPEN, reason=s.because)]


def _on_monopoly(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    style = SetAgentStyleProposal(
        agent=s.subject, style=AgentStyle.BRIEF, max_per_minute=th.monopoly_rate_per_minute, reason=s.because
    )
    return [style]


def _on_topic(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    return [AddParticipantProposal(agent=s.subject, reason=s.because)]


def _post(text: str) -> _Rule:
    def rule(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
        return [PostMessageProposal(text=text, reason=s.because)]

    return rule


def _on_idle(s: Signal, view: RoomView, th: Thresholds) -> list[ActionProposal]:
    """An idle stretch lifts what the moderator set (a mode, agents' limits) and recalls the action items raised."""
    out: list[ActionProposal] = []
    if not view.human_override and view.mode is not Mode.OPEN and view.mode_set_by == "moderator":
        out.append(SetModeProposal(mode=Mode.OPEN, reason=s.because))
    out += [
        SetAgentStyleProposal(agent=agent, style=AgentStyle.NORMAL, max_per_minute=0, reason=s.because)
        for agent in sorted(view.styled_agents)
    ]
    if view.action_items:
        who = ", ".join(sorted(set(view.action_items)))
        text = f"Reminder: {len(view.action_items)} action item(s) were raised here (by {who})"
        out.append(PostMessageProposal(text=text, reason=s.because))
    return out


RULES: Mapping[SignalKind, _Rule] = MappingProxyType(
    {
        SignalKind.CONFLICT: _on_conflict,
        SignalKind.AGENT_DOMINANCE: _on_dominance,
        SignalKind.AGENTS_BALANCED: _on_balanced,
        SignalKind.AGENT_MONOPOLY: _on_monopoly,
        SignalKind.TOPIC_MATCH: _on_topic,
        SignalKind.ACTION_ITEM: _post("Noted an action item"),
        SignalKind.UNRESOLVED_QUESTION: _post("A question here is still waiting for an answer"),
        SignalKind.IDLE: _on_idle,
    }
)


def propose(signals: Sequence[Signal], view: RoomView, th: Thresholds) -> list[Proposal]:
    """The rule-based policy: what to do about each signal (signals no rule covers propose nothing)."""
    out: list[Proposal] = []
    for s in signals:
        rule = RULES.get(s.kind)
        if rule is not None:
            out += [Proposal(action, s) for action in rule(s, view, th)]
    return out


def cooled_down(last_at: float | None, now: float, cooldown_seconds: float) -> bool:
    return last_at is None or now - last_at >= cooldown_seconds


def debounced(streak: int, required: int) -> bool:
    """A lasting condition acts only once it has been seen on ``required`` consecutive evaluations."""
    return streak >= required
