"""Presence with the real moderator cog: the gate runs before drafts are held, rejections cost rewards, and the
moderator's suspension takes the agent out of the room."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.actions import PostAsAgent, RemoveAgentFromChannel, SendApprovalPrompt
from bot.app import StewardApp
from bot.events import AgentSuspended, FeedbackRecorded

from .conftest import OTHER_ROOM, ROOM, collect, register, run


@pytest.fixture
async def modapp(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    settings = make_settings(
        cogs={"enabled": ["moderator", "presence"]},
        presence={"default_join_cooldown_seconds": 0},
        moderator={
            "filters": {"words": ["forbidden"], "agent_action": "reject"},
            "escalation": {"rejections": 2, "window_seconds": 600, "suspend_seconds": 3600, "scope": "room"},
        },
    )
    app = StewardApp(settings, adapters=[adapter], clock=clock)
    await app.start()
    assert {"moderator", "presence"} <= set(app.cogs.cogs), app.cogs.failed
    try:
        yield app
    finally:
        await app.stop()


async def test_rejections_escalate_to_a_suspension_that_removes_the_agent(modapp, adapter):
    rewards, suspensions = collect(modapp, FeedbackRecorded), collect(modapp, AgentSuspended)
    await register(modapp)
    await run(modapp, "invite helper")
    await run(modapp, f"invite helper {OTHER_ROOM.key}")
    first = await modapp.publisher.submit("helper", ROOM, "this is forbidden talk")
    second = await modapp.publisher.submit("helper", ROOM, "more forbidden words here")
    await modapp.bus.join()
    assert not first.decision.allowed and not second.decision.allowed
    assert len(suspensions) == 1
    assert [r.room for r in adapter.of(RemoveAgentFromChannel)] == [ROOM]  # the room scope only
    sources = sorted(r.source for r in rewards)
    assert sources.count("presence.blocked_message") == 2
    assert sources.count("presence.suspension") == 1 and sources.count("presence.forced_leave") == 1
    assert "suspended" in (await run(modapp, "invite helper")).text
    assert (await run(modapp, f"presence {OTHER_ROOM.key}")).text.startswith("helper in #random")


async def test_the_gate_runs_before_a_draft_is_held(modapp, adapter):
    await register(modapp, "helper", "messages=owner_each_draft")
    await run(modapp, "invite helper")
    rejected = await modapp.publisher.submit("helper", ROOM, "forbidden stuff")
    assert not rejected.decision.allowed and rejected.held is None
    assert not [p for p in adapter.of(SendApprovalPrompt) if p.kind == "draft"]
    held = await modapp.publisher.submit("helper", ROOM, "a fine answer")
    assert held.held == "draft:1"
    assert "approved and posted" in (await run(modapp, "draft approve 1")).text
    assert [p.text for p in adapter.of(PostAsAgent)] == ["a fine answer"]
