"""Implicit feedback bookkeeping: the open *turns* of the agents who spoke in a room.

When an agent speaks, a turn opens with the room's window just before it (the baseline). The human messages
that follow are attributed to one open turn each (``policy.feedback.attribute``: a reply to an agent's message
goes to that agent, otherwise to the most recent agent to speak), as do people leaving. A turn closes when the
window's span T has passed since the agent spoke, when it gathered N responses, when the same agent speaks again,
or when too many turns are open; its response is then scored by ``policy.feedback.reward`` and becomes a
``FeedbackRecorded`` (``reward_event``) unless it is neutral.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from bot.events import FeedbackRecorded
from cogs.sentiment.config import SentimentSettings
from domain import Room
from policy.feedback import ResponseStats, TurnRef, attribute, reward
from policy.sentiment import WindowSummary

IMPLICIT_SOURCE = "implicit.sentiment"

# What a turn keeps of the window before the agent spoke: the fields the reward compares (policy.feedback.signals).
BASELINE_FIELDS = ("messages", "humans", "sentiment", "joy", "anger", "frustration", "confusion", "rate")
# Running sums of the responses, in one float array: compound, joy, anger, frustration, confusion, toxicity.
S_SENT, S_JOY, S_ANGER, S_FRUS, S_CONF, S_TOX = range(6)


class AgentTurn:
    """One agent message awaiting the room's response. Compact (a room with a turn open must stay small): the
    baseline and the sums are float arrays, responders a tuple (most turns have one or two), the responses still
    without a toxicity score an int array made when the first one comes."""

    __slots__ = ("agent", "at", "base", "last_at", "left", "message_id", "n", "n_tox", "sums", "unscored", "users")

    def __init__(self, agent: str, message_id: str, at: float, baseline: WindowSummary | None) -> None:
        self.agent = agent
        self.message_id = message_id
        self.at = at
        self.base = None if baseline is None else array("f", [getattr(baseline, f) for f in BASELINE_FIELDS])
        self.last_at = at
        self.n = 0
        self.users: tuple[str, ...] = ()  # responders in order of first response
        self.unscored: array[int] | None = None  # hashes of responses whose toxicity has not arrived
        self.sums = array("d", bytes(8 * 6))
        self.n_tox = 0
        self.left = 0

    @property
    def ref(self) -> TurnRef:
        return TurnRef(self.agent, self.message_id)

    @property
    def baseline(self) -> WindowSummary | None:
        if self.base is None:
            return None
        messages, humans, sentiment, joy, anger, frustration, confusion, rate = self.base  # BASELINE_FIELDS
        return WindowSummary(
            start=self.at,
            end=self.at,
            messages=int(messages),
            humans=int(humans),
            sentiment=float(sentiment),
            joy=float(joy),
            anger=float(anger),
            frustration=float(frustration),
            confusion=float(confusion),
            rate=float(rate),
        )

    def add(
        self,
        *,
        at: float,
        user: str,
        message: int,
        compound: float,
        joy: float,
        anger: float,
        frustration: float,
        confusion: float,
        toxicity: float | None,
    ) -> None:
        self.n += 1
        self.last_at = max(self.last_at, at)
        if user not in self.users:
            self.users = (*self.users, user)
        sums = self.sums
        sums[S_SENT] += compound
        sums[S_JOY] += joy
        sums[S_ANGER] += anger
        sums[S_FRUS] += frustration
        sums[S_CONF] += confusion
        if toxicity is None:
            if self.unscored is None:
                self.unscored = array("i")
            self.unscored.append(message)
        else:
            sums[S_TOX] += toxicity
            self.n_tox += 1

    def add_toxicity(self, message: int, toxicity: float) -> bool:
        if self.unscored is None or message not in self.unscored:
            return False
        self.unscored.remove(message)
        self.sums[S_TOX] += toxicity
        self.n_tox += 1
        return True

    def stats(self, end: float) -> ResponseStats:
        n = self.n
        sums = self.sums
        return ResponseStats(
            messages=n,
            speakers=len(self.users),
            span=max(end - self.at, 0.0),
            sentiment=sums[S_SENT] / n if n else 0.0,
            joy=sums[S_JOY] / n if n else 0.0,
            anger=sums[S_ANGER] / n if n else 0.0,
            frustration=sums[S_FRUS] / n if n else 0.0,
            confusion=sums[S_CONF] / n if n else 0.0,
            toxicity=sums[S_TOX] / self.n_tox if self.n_tox else None,
            left=self.left,
        )


@dataclass(frozen=True, slots=True)
class ClosedTurn:
    turn: AgentTurn
    end: float
    why: str  # "time", "count", "spoke_again", "crowded", "evicted"


class TurnBook:
    """The open turns of one room (kept on its ``RoomWindow.turns``), oldest first."""

    def __init__(self, *, span: float, responses: int, max_open: int) -> None:
        self.span = span
        self.responses = responses
        self.max_open = max_open

    def expire(self, turns: list[AgentTurn], now: float) -> list[ClosedTurn]:
        """Close turns whose time is up or that gathered their N responses."""
        closed = []
        keep = []
        for turn in turns:
            if now - turn.at >= self.span:
                closed.append(ClosedTurn(turn, turn.at + self.span, "time"))
            elif turn.n >= self.responses:
                closed.append(ClosedTurn(turn, turn.last_at, "count"))
            else:
                keep.append(turn)
        turns[:] = keep
        return closed

    def open(
        self, turns: list[AgentTurn], agent: str, message_id: str, at: float, baseline: WindowSummary | None
    ) -> list[ClosedTurn]:
        """An agent spoke: its previous turn here closes, and a new one opens."""
        if any(t.message_id == message_id for t in turns):
            return []  # the same message seen twice (an echo and the platform's copy)
        closed = [ClosedTurn(t, at, "spoke_again") for t in turns if t.agent == agent]
        turns[:] = [t for t in turns if t.agent != agent]
        while len(turns) >= self.max_open:
            closed.append(ClosedTurn(turns.pop(0), at, "crowded"))
        turns.append(AgentTurn(agent, message_id, at, baseline))
        return closed

    @staticmethod
    def answer(
        turns: list[AgentTurn],
        *,
        reply_to: str | None,
        reply_to_agent: str | None,
        mentions: tuple[str, ...],
    ) -> AgentTurn | None:
        index = attribute([t.ref for t in turns], reply_to=reply_to, reply_to_agent=reply_to_agent, mentions=mentions)
        return None if index is None else turns[index]

    def close_all(self, turns: list[AgentTurn], now: float, why: str) -> list[ClosedTurn]:
        closed = [ClosedTurn(t, min(max(now, t.last_at), t.at + self.span), why) for t in turns]
        turns.clear()
        return closed


def reward_event(room: Room, closed: ClosedTurn, cfg: SentimentSettings) -> tuple[FeedbackRecorded | None, str]:
    """The feedback a closed turn earned, or None and why not ("no_response", "neutral")."""
    turn = closed.turn
    stats = turn.stats(closed.end)
    result = reward(
        turn.baseline,
        stats,
        cfg.feedback.weights.model_dump(),
        neutral_band=cfg.feedback.neutral_band,
        min_responses=cfg.feedback.min_responses,
    )
    if result is None:
        return None, "no_response" if stats.messages == 0 and stats.left == 0 else "neutral"
    event = FeedbackRecorded(
        at=closed.end,
        agent=turn.agent,
        reward=result.value,
        source=IMPLICIT_SOURCE,
        room=room,
        users=tuple(turn.users),
        context={
            "emotion": result.emotion,
            "intensity": result.intensity,
            "message_id": turn.message_id,
            "responses": stats.messages,
            "speakers": stats.speakers,
            "left": stats.left,
            "closed_by": closed.why,
            "signals": dict(result.signals),
        },
    )
    return event, ""
