"""Helpers for the sentiment tests: actors, a room that speaks at chosen times, an event collector."""

from __future__ import annotations

import itertools
from typing import Any

from bot.app import StewardApp
from bot.events import Event, MessageCreated
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord

ROOM = Room("test", "g1", "c1")
ALICE = Actor("test", "alice", ActorKind.HUMAN, "Alice")
BOB = Actor("test", "bob", ActorKind.HUMAN, "Bob")
CAROL = Actor("test", "carol", ActorKind.HUMAN, "Carol")
HELPER = Actor("test", "helper", ActorKind.AGENT, "Helper")
SCOUT = Actor("test", "scout", ActorKind.AGENT, "Scout")


class ChatRoom:
    """Speaks into one room at times the test chooses, dispatching each event through the real bus."""

    def __init__(self, app: StewardApp, room: Room = ROOM) -> None:
        self.app = app
        self.room = room
        self._ids = itertools.count(1)

    async def say(self, author: Actor, text: str, at: float, **extra: Any) -> str:
        message_id = extra.pop("message_id", None) or f"msg{next(self._ids)}"
        await self.app.bus.dispatch(
            MessageCreated(at=at, room=self.room, message_id=message_id, author=author, text=text, **extra)
        )
        return message_id


class Collector:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)


async def register_agent(app: StewardApp, name: str, owner: str = "owner1") -> None:
    await app.agents.register(AgentRecord(name=name, platform="test", owner_id=owner, display_name=name.title()))
