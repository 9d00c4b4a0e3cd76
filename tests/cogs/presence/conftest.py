from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.actions import SendApprovalPrompt
from bot.app import StewardApp
from bot.commands import CommandInvocation, CommandReply
from bot.events import Event
from domain import Actor, ActorKind, Room
from tests.support import RecordingAdapter

ROOM = Room("test", "g1", "general")
OTHER_ROOM = Room("test", "g1", "random")
THIRD_ROOM = Room("test", "g1", "help")
ALICE = Actor("test", "alice", ActorKind.HUMAN, "Alice")  # owns the agents
BOB = Actor("test", "bob", ActorKind.HUMAN, "Bob")
ADMIN = Actor("test", "root", ActorKind.HUMAN, "Root")


def presence_settings(make_settings, **presence: Any):
    base = {"default_join_cooldown_seconds": 0}
    base.update(presence)
    return make_settings(cogs={"enabled": ["presence"]}, presence=base)


@pytest.fixture
async def papp(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    app = StewardApp(presence_settings(make_settings), adapters=[adapter], clock=clock)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def run(
    app: StewardApp, line: str, actor: Actor = ALICE, room: Room | None = ROOM, admin: bool = False
) -> CommandReply:
    reply = await app.commands.invoke(CommandInvocation.parse(line, actor=actor, room=room, is_admin=admin))
    await app.bus.join()
    return reply


def collect(app: StewardApp, event_type: type[Event]) -> list[Any]:
    seen: list[Any] = []

    async def keep(event: Any) -> None:
        seen.append(event)

    app.bus.subscribe(event_type, keep, owner="test")
    return seen


async def register(app: StewardApp, name: str = "helper", *settings: str, owner: Actor = ALICE) -> None:
    reply = await run(app, f"agent register {name}", actor=owner)
    assert reply.ok, reply.text
    for pair in settings:
        key, value = pair.split("=", 1)
        reply = await run(app, f"agent set {name} {key} {value}", actor=owner)
        assert reply.ok, reply.text


def last_prompt(adapter: RecordingAdapter, kind: str = "invite") -> SendApprovalPrompt:
    prompts = [p for p in adapter.of(SendApprovalPrompt) if p.kind == kind]
    assert prompts, "no approval prompt was sent"
    return prompts[-1]
