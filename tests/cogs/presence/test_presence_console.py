"""The whole approval flow on the console adapter: what a person at the terminal types and sees."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest

from adapters.console import ConsoleAdapter
from adapters.console.config import ConsoleSettings
from bot.app import StewardApp
from bot.events import ButtonPressed, InvitationRequested
from domain import SYSTEM_ACTOR, Actor, ActorKind, Room

GENERAL = Room("console", "console", "general")
RANDOM = Room("console", "console", "random")


class Console:
    def __init__(self, app: StewardApp, adapter: ConsoleAdapter, out: io.StringIO) -> None:
        self.app, self.adapter, self.out = app, adapter, out

    async def type(self, line: str) -> str:
        """Type a line; return what the console printed for it."""
        start = len(self.out.getvalue())
        assert await self.adapter.handle_line(line)
        await self.app.bus.join()
        return self.out.getvalue()[start:]

    async def event(self, event) -> str:
        start = len(self.out.getvalue())
        await self.app.bus.publish(event)
        await self.app.bus.join()
        return self.out.getvalue()[start:]


@pytest.fixture
async def console(make_settings, clock) -> AsyncIterator[Console]:
    out = io.StringIO()
    adapter = ConsoleAdapter(ConsoleSettings(), stdin=io.StringIO(""), stdout=out)
    settings = make_settings(cogs={"enabled": ["presence"]}, presence={"default_join_cooldown_seconds": 0})
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    try:
        yield Console(app, adapter, out)
    finally:
        await app.stop()


async def test_invitation_approved_with_a_button_press_on_the_console(console):
    said = await console.type("/agent register helper Helper Bot")
    assert "Registered managed agent helper, owned by you" in said
    await console.type("/agent set helper policy anyone")

    said = await console.event(InvitationRequested(agent="helper", room=GENERAL, inviter=SYSTEM_ACTOR, reason="sql"))
    assert "✉ to you: Invitation #1: Steward (system) invites your agent helper to #general" in said
    assert "[Approve: /press steward:invite:1:approve]" in said

    # Someone else pressing the owner's button is told off and nothing happens.
    bob = Actor("console", "bob", ActorKind.HUMAN, "bob")
    said = await console.event(ButtonPressed(actor=bob, custom_id="steward:invite:1:approve", interaction_id="x"))
    assert "→ Only you can decide this invitation." in said
    assert "can now speak" not in said

    said = await console.type("/press steward:invite:1:approve")
    assert "+ Helper Bot can now speak in #general" in said
    assert "steward: Helper Bot joined (invited by Steward)." in said
    assert "now reads) Invitation #1: helper joined #general" in said
    assert "→ Approved: helper joined #general" in said

    said = await console.type("/press steward:invite:1:approve")
    assert "already decided" in said
    assert "can now speak" not in said

    said = await console.type("/presence")
    assert "helper in #general (console) for 0s (invitation #1)" in said


async def test_decline_by_command_and_drafts_on_the_console(console):
    await console.type("/agent register helper")
    await console.type("/agent set helper policy anyone")
    await console.event(InvitationRequested(agent="helper", room=RANDOM, inviter=SYSTEM_ACTOR))
    said = await console.type("/invitations")
    assert "#1 helper -> #random (console) by Steward (system), pending" in said
    said = await console.type("/decline 1 not that room")
    assert "Declined invitation #1" in said and "declined: not that room" in said

    await console.type("/invite helper")  # its owner: joins at once
    await console.type("/agent set helper messages owner_each_draft")
    said = await console.type("/as helper the answer is 42")
    assert "… held (draft:1)" in said
    assert "Draft #1 from your agent helper for #general" in said
    assert "[Edit: /press steward:draft:1:edit]" in said
    assert "Helper" not in said.split("held")[0]  # not posted

    said = await console.type("/press steward:draft:1:edit")
    assert "draft edit 1 <new text>" in said
    said = await console.type("/draft edit 1 the answer is 42, see the docs")
    assert "helper (agent): the answer is 42, see the docs" in said
    assert "replaced by your text and posted" in said

    said = await console.type("/leave helper")
    assert "- helper removed from #general" in said  # the platform action
    assert "helper left #general" in said
