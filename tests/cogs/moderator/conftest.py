from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pytest

from bot.app import StewardApp
from bot.clock import ManualClock
from bot.commands import CommandInvocation, CommandReply
from bot.events import Event, MessageCreated
from bot.scoring import ScorerState, TextAssessment, TextScorer
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord
from tests.support import RecordingAdapter, SettingsFactory

ROOM = Room("test", "s1", "general")


@pytest.fixture
def clock() -> ManualClock:
    # Durable timers are armed on the scheduler's real clock too: start the manual clock at the real time so that
    # a suspension due in an hour is not already "past" for APScheduler. Tests move time with clock.advance.
    return ManualClock(float(int(time.time())))


class WordScorer:
    """A stand-in for the toxicity model: scores a text by the words it contains, judged like the real scorer."""

    def __init__(self, state: ScorerState = ScorerState.READY) -> None:
        self.state = state
        self.calls: list[tuple[str, bool]] = []

    async def assess(self, text: str, room: Room, *, agent: bool, waited: float = 0.0) -> TextAssessment:
        self.calls.append((text, agent))
        toxic = 0.97 if "idiot" in text.lower() else 0.02
        scores = MappingProxyType({"toxicity": toxic, "insult": toxic / 2})
        if toxic < 0.8:
            return TextAssessment(scores=scores)
        return TextAssessment(
            scores=scores,
            label="toxicity",
            action="reject" if agent else "delete",
            reason=f"toxicity {toxic:.2f} is over the threshold 0.80",
        )


@dataclass
class Harness:
    app: StewardApp
    adapter: RecordingAdapter
    clock: ManualClock
    events: list[Event] = field(default_factory=list)
    _ids: int = 0

    async def agent(self, name: str, owner: str = "owner1") -> None:
        await self.app.agents.register(AgentRecord(name=name, platform="test", owner_id=owner))

    async def submit(self, agent: str, text: str, *, room: Room = ROOM, reply_to: str | None = None, gap: float = 5.0):
        self.clock.advance(gap)
        return await self.app.publisher.submit(agent, room, text, reply_to=reply_to)

    async def human(
        self,
        text: str,
        *,
        user: str = "u1",
        room: Room = ROOM,
        roles: frozenset[str] = frozenset(),
        kind: ActorKind = ActorKind.HUMAN,
        reply_to: str | None = None,
        gap: float = 5.0,
    ) -> str:
        self.clock.advance(gap)
        self._ids += 1
        message_id = f"h{self._ids}"
        await self.app.bus.dispatch(
            MessageCreated(
                at=self.clock.now(),
                room=room,
                message_id=message_id,
                author=Actor("test", user, kind, user, roles),
                text=text,
                reply_to=reply_to,
            )
        )
        return message_id

    async def command(self, line: str, *, user: str = "admin", admin: bool = True, room: Room = ROOM) -> CommandReply:
        inv = CommandInvocation.parse(line, actor=Actor("test", user), room=room, is_admin=admin)
        return await self.app.commands.invoke(inv)

    async def settle(self) -> list[Event]:
        await self.app.bus.join()
        return self.events

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(make_settings: SettingsFactory, clock: ManualClock) -> AsyncIterator[MakeHarness]:
    """Start an app with only the moderator (plus ``moderator`` settings given) on the recording adapter.

    Several harnesses made in one test share the database file: a second one is a restart."""
    started: list[StewardApp] = []

    async def make(*, scorer: WordScorer | None = None, **sections: Any) -> Harness:
        sections.setdefault("cogs", {"enabled": ["moderator"]})
        adapter = RecordingAdapter()
        app = StewardApp(make_settings(**sections), adapters=[adapter], clock=clock)
        await app.start()
        started.append(app)
        harness = Harness(app, adapter, clock)

        async def collect(event: Event) -> None:
            harness.events.append(event)

        app.bus.subscribe(Event, collect, owner="test")
        if scorer is not None:
            app.services.provide(TextScorer, scorer, owner="test")
        return harness

    yield make
    for app in reversed(started):
        if app.started_at is not None and app.db._conn is not None:
            await app.stop()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    h = await make_harness()
    await h.agent("alpha")
    await h.agent("beta")
    await h.agent("gamma")
    return h
