"""Implicit feedback bookkeeping: the open *turns* of the agents who spoke in a room.

When an agent speaks, a turn opens with the room's window just before it (the baseline). The human messages
that follow are attributed to one open turn each (``policy.feedback.attribute``: a reply to an agent's message
goes to that agent, otherwise to the most recent agent to speak), as do people leaving. A turn closes when the
window's span T has passed since the agent spoke, when it gathered N responses, when the same agent speaks again,
or when too many turns are open; its response is then scored by ``policy.feedback.reward``.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.feedback import ResponseStats, TurnRef, attribute
from policy.sentiment import WindowSummary


class AgentTurn:
    __slots__ = (
        "agent",
        "at",
        "baseline",
        "last_at",
        "left",
        "message_id",
        "messages",
        "n",
        "n_tox",
        "s_anger",
        "s_conf",
        "s_frus",
        "s_joy",
        "s_sent",
        "s_tox",
        "users",
    )

    def __init__(self, agent: str, message_id: str, at: float, baseline: WindowSummary | None) -> None:
        self.agent = agent
        self.message_id = message_id
        self.at = at
        self.baseline = baseline
        self.last_at = at
        self.n = 0
        self.users: dict[str, None] = {}  # responders in order of first response
        self.messages: dict[int, bool] = {}  # message hash -> toxicity known
        self.s_sent = self.s_joy = self.s_anger = self.s_frus = self.s_conf = self.s_tox = 0.0
        self.n_tox = 0
        self.left = 0

    @property
    def ref(self) -> TurnRef:
        return TurnRef(self.agent, self.message_id)

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
        self.users.setdefault(user, None)
        self.s_sent += compound
        self.s_joy += joy
        self.s_anger += anger
        self.s_frus += frustration
        self.s_conf += confusion
        self.messages[message] = toxicity is not None
        if toxicity is not None:
            self.s_tox += toxicity
            self.n_tox += 1

    def add_toxicity(self, message: int, toxicity: float) -> bool:
        if self.messages.get(message) is not False:
            return False
        self.messages[message] = True
        self.s_tox += toxicity
        self.n_tox += 1
        return True

    def stats(self, end: float) -> ResponseStats:
        n = self.n
        return ResponseStats(
            messages=n,
            speakers=len(self.users),
            span=max(end - self.at, 0.0),
            sentiment=self.s_sent / n if n else 0.0,
            joy=self.s_joy / n if n else 0.0,
            anger=self.s_anger / n if n else 0.0,
            frustration=self.s_frus / n if n else 0.0,
            confusion=self.s_conf / n if n else 0.0,
            toxicity=self.s_tox / self.n_tox if self.n_tox else None,
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
