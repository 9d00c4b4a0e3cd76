"""Core events: what adapters and cogs publish on the bus.

Every event is a frozen dataclass. Listeners are keyed by event class (a class cannot be misspelt), and a listener
for a base class hears its subclasses too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain import Actor, Room


def _now() -> float:
    return time.time()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    at: float = field(default_factory=_now)

    @property
    def shard_key(self) -> str:
        """Events with the same shard key are delivered in order; different keys may run concurrently."""
        room = getattr(self, "room", None)
        return room.key if isinstance(room, Room) else type(self).__name__


# --- platform events (made by adapters) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCreated(Event):
    room: Room
    message_id: str
    author: Actor
    text: str
    reply_to: str | None = None
    reply_to_author: Actor | None = None
    thread_id: str | None = None
    mentions: tuple[str, ...] = ()
    # True when Steward itself posted it for an agent after the gate approved it: already moderated.
    via_steward: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited(Event):
    room: Room
    message_id: str
    author: Actor
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted(Event):
    room: Room
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Event):
    room: Room
    message_id: str
    actor: Actor
    emoji: str
    message_author: Actor | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Event):
    room: Room
    member: Actor


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Event):
    room: Room
    member: Actor


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPressed(Event):
    """A click on a Steward button. ``custom_id`` is ``steward:<kind>:<key>:<choice>``."""

    actor: Actor
    custom_id: str
    room: Room | None = None
    message_id: str | None = None
    interaction_id: str | None = None

    @property
    def parts(self) -> tuple[str, str, str] | None:
        pieces = self.custom_id.split(":")
        if len(pieces) != 4 or pieces[0] != "steward":
            return None
        return pieces[1], pieces[2], pieces[3]

    @property
    def shard_key(self) -> str:
        parts = self.parts
        return f"button:{parts[0]}:{parts[1]}" if parts else "button"


# --- core events (made by cogs and the runtime) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageScored(Event):
    """Model scores computed for a message (toxicity labels ...), so no other cog runs the model again."""

    room: Room
    message_id: str
    author: Actor
    scores: Mapping[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModerationDecision(Event):
    room: Room
    target: Actor
    verdict: str
    rule: str
    reason: str
    message_id: str | None = None
    case_id: int | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    log_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSuspended(Event):
    agent: str
    platform: str
    server: str
    room: Room | None  # None: suspended across the whole server
    until: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentUnsuspended(Event):
    agent: str
    platform: str
    server: str
    room: Room | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackRecorded(Event):
    agent: str
    reward: float
    source: str
    room: Room | None = None
    users: tuple[str, ...] = ()
    context: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationRequested(Event):
    """Someone (a user, an agent, or the system on a topic or sentiment trigger) wants ``agent`` in ``room``."""

    agent: str
    room: Room
    inviter: Actor
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationDecided(Event):
    invitation_id: int
    agent: str
    room: Room
    outcome: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentJoined(Event):
    agent: str
    room: Room


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLeft(Event):
    agent: str
    room: Room
    reason: str
    forced: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendShifted(Event):
    room: Room
    metric: str
    before: float
    after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRemovalRequested(Event):
    """Someone (a user, or the conversation moderator) wants ``agent`` out of ``room``; the presence coordinator
    decides and performs it (``RemoveAgentFromChannel``) and announces ``AgentLeft``."""

    agent: str
    room: Room
    reason: str
    requested_by: Actor
