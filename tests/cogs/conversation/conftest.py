"""A started Steward with the conversation moderator on a real SQLite file and the recording adapter, plus helpers
to speak in a room as a human or as an agent."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.actions import SendMessage
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.events import Event, MessageCreated
from bot.publisher import PublishResult
from cogs.conversation.cog import ConversationCog
from domain import Actor, ActorKind, Room
from storage.conversation import AuditEntry
from storage.core import AgentRecord
from tests.support import RecordingAdapter

ROOM = Room("test", "guild1", "general")
AGENTS = ("helper", "critic", "ops")

# Small numbers so that a test speaks a dozen messages, not hundreds; the rules are the defaults otherwise.
TEST_CONFIG: dict[str, Any] = {
    "window_messages": 10,
    "dominance_min_messages": 6,
    "debounce_evaluations": 2,
    "cooldown_seconds": 300,
    "idle_seconds": 1800,
    "evict_after_seconds": 3600,
    "question_timeout_seconds": 600,
    "topics": {"ops": ["deploy", "rollback", "outage"]},
}


@dataclass
class Chat:
    """Speaks in rooms of a started app and reads what Steward did."""

    app: StewardApp
    adapter: RecordingAdapter
    clock: ManualClock
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    authors: dict[str, Actor] = field(default_factory=dict)

    @property
    def cog(self) -> ConversationCog:
        return self.app.cogs.cogs["conversation"]  # type: ignore[return-value]

    def human(self, name: str) -> Actor:
        return Actor("test", name, ActorKind.HUMAN, name)

    async def say(
        self,
        author: str,
        text: str,
        *,
        room: Room = ROOM,
        reply_to: str | None = None,
        kind: ActorKind = ActorKind.HUMAN,
        advance: float = 5.0,
        mentions: tuple[str, ...] = (),
    ) -> str:
        self.clock.advance(advance)
        message_id = f"h{next(self._ids)}"
        actor = Actor("test", author, kind, author)
        self.authors[message_id] = actor
        await self.app.bus.dispatch(
            MessageCreated(
                at=self.clock.now(),
                room=room,
                message_id=message_id,
                author=actor,
                text=text,
                reply_to=reply_to,
                reply_to_author=self.authors.get(reply_to) if reply_to else None,
                mentions=mentions,
            )
        )
        await self.app.bus.join()
        return message_id

    async def agent(
        self, name: str, text: str, *, room: Room = ROOM, reply_to: str | None = None, advance: float = 5.0
    ) -> PublishResult:
        self.clock.advance(advance)
        result = await self.app.publisher.submit(name, room, text, reply_to=reply_to, at=self.clock.now())
        if result.message_id:
            self.authors[result.message_id] = Actor("test", name, ActorKind.AGENT, name)
        await self.app.bus.join()
        return result

    def notices(self, room: Room = ROOM) -> list[str]:
        return [a.text for a in self.adapter.of(SendMessage) if a.room == room and a.system]

    async def audit(self, room: Room = ROOM, **kw: Any) -> list[AuditEntry]:
        return list(reversed(await self.cog.store.audit_entries(room.key, **kw)))

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def metric(self, name: str, **labels: str) -> float:
        return self.app.metrics.value(name, **labels)


ChatFactory = Callable[..., Awaitable[Chat]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
async def start_chat(make_settings, clock) -> AsyncIterator[ChatFactory]:
    """Start an app with only the conversation cog; keyword arguments override the [conversation] section."""
    started: list[StewardApp] = []

    async def start(
        *,
        adapter: RecordingAdapter | None = None,
        cogs: tuple[str, ...] = ("conversation",),
        sections: dict[str, Any] | None = None,
        **conversation: Any,
    ) -> Chat:
        settings = make_settings(
            cogs={"enabled": list(cogs)}, conversation={**TEST_CONFIG, **conversation}, **(sections or {})
        )
        adapter = adapter or RecordingAdapter()
        app = StewardApp(settings, adapters=[adapter], clock=clock)
        await app.start()
        started.append(app)
        assert not app.cogs.failed, app.cogs.failed
        chat = Chat(app, adapter, clock)
        for name in AGENTS:
            if await app.agents.get(name) is None:
                await app.agents.register(AgentRecord(name=name, platform="test", owner_id=f"owner-of-{name}"))

        async def collect(event: Event) -> None:
            chat.events.append(event)

        app.bus.subscribe(Event, collect, owner="test", name="test.collect")
        return chat

    yield start
    for app in started:
        if app.started_at is not None and app.db._conn is not None:
            await app.stop()


@pytest.fixture
async def chat(start_chat) -> Chat:
    return await start_chat()
