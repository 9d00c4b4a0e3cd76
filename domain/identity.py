"""Who speaks and where: the identity values shared by every layer.

Adapters normalise platform payloads into these frozen values at the boundary; nothing past the adapter sees a
platform SDK object.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActorKind(enum.StrEnum):
    HUMAN = "human"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone who speaks or acts in a room.

    ``id`` is the platform's id for a human or bot user; for an agent registered with Steward it is the agent's
    Steward name, so that the same agent is one actor whichever way its messages arrive.
    """

    platform: str
    id: str
    kind: ActorKind = ActorKind.HUMAN
    display_name: str = ""
    roles: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.kind}:{self.id}"

    @property
    def is_agent(self) -> bool:
        return self.kind is ActorKind.AGENT

    @property
    def name(self) -> str:
        return self.display_name or self.id


SYSTEM_ACTOR = Actor(platform="steward", id="steward", kind=ActorKind.SYSTEM, display_name="Steward")


@dataclass(frozen=True, slots=True)
class Room:
    """A place messages are posted: a Discord guild channel, a Slack channel, a console room.

    ``server`` is the guild or workspace id ("" for DMs and the console's single space).
    """

    platform: str
    server: str
    channel: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.server}:{self.channel}"

    @property
    def server_key(self) -> str:
        """The server as ``platform:server``: cases and suspensions are kept per server, and ids of different
        platforms must not meet."""
        return f"{self.platform}:{self.server}"

    @classmethod
    def parse(cls, key: str) -> Room:
        parts = key.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise ValueError(f"room key must look like 'platform:server:channel', got {key!r}")
        return cls(platform=parts[0], server=parts[1], channel=parts[2])

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """How an agent appears when Steward posts for it."""

    name: str
    display_name: str = ""
    avatar_url: str | None = None
    platform_user_id: str | None = None

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name
