"""Exactly one outcome under concurrency, and expiry across a restart (two apps on one database file)."""

from __future__ import annotations

import asyncio

from bot.actions import AddAgentToChannel, SendMessage, UpdatePrompt
from bot.app import StewardApp
from bot.events import ButtonPressed, InvitationDecided
from storage.presence import InvitationStatus

from .conftest import ALICE, BOB, OTHER_ROOM, ROOM, THIRD_ROOM, collect, last_prompt, presence_settings, register, run


def cog_of(app: StewardApp):
    return app.cogs.cogs["presence"]


async def test_two_invitations_of_one_agent_to_one_room_make_one_open_invitation(papp, adapter):
    await register(papp)
    coordinator = cog_of(papp).coordinator
    carol = BOB.__class__("test", "carol", BOB.kind, "Carol")
    results = await asyncio.gather(
        *(coordinator.request("helper", ROOM, who) for who in (BOB, carol, BOB, carol, BOB, carol))
    )
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["asked_owner"] + ["duplicate"] * 5
    prompts = [p for p in adapter.of(type(last_prompt(adapter))) if p.kind == "invite"]
    assert len(prompts) == 1
    stored = await cog_of(papp).store.invitations.list(agents=["helper"])
    assert sum(i.status is InvitationStatus.PENDING for i in stored) == 1
    assert len(stored) == 6  # every attempt is stored with its reason


async def test_two_clicks_at_once_join_once(papp, adapter):
    decided = collect(papp, InvitationDecided)
    await register(papp)
    await run(papp, "invite helper", actor=BOB)
    approve = last_prompt(adapter).buttons[0].custom_id
    clicks = [ButtonPressed(actor=ALICE, custom_id=approve, room=ROOM, interaction_id=f"i{n}") for n in range(5)]
    await asyncio.gather(*(papp.bus.dispatch(c) for c in clicks))
    await papp.bus.join()
    assert len(adapter.of(AddAgentToChannel)) == 1
    assert [d.outcome for d in decided] == ["accepted"]


async def test_approve_and_decline_racing_have_one_winner(papp, adapter):
    decided = collect(papp, InvitationDecided)
    await register(papp)
    await run(papp, "invite helper", actor=BOB)
    coordinator = cog_of(papp).coordinator
    answers = await asyncio.gather(coordinator.approve(1, ALICE), coordinator.decline(1, ALICE))
    await papp.bus.join()
    assert len(decided) == 1
    assert sum("already decided" in text for text, _ in answers) == 1
    inv = await cog_of(papp).store.invitations.get(1)
    assert inv.status in (InvitationStatus.ACCEPTED, InvitationStatus.DECLINED)
    assert len(adapter.of(AddAgentToChannel)) == (1 if inv.status is InvitationStatus.ACCEPTED else 0)


async def test_an_approval_racing_the_expiry_has_one_outcome(papp, adapter, clock):
    decided = collect(papp, InvitationDecided)
    await register(papp)
    for room in (ROOM, OTHER_ROOM, THIRD_ROOM):
        await run(papp, f"invite helper {room.key}", actor=BOB)
    clock.advance(3601)
    coordinator = cog_of(papp).coordinator
    await asyncio.gather(
        papp.scheduler.fire_due(),
        coordinator.approve(1, ALICE),
        coordinator.approve(2, ALICE),
        coordinator.approve(3, ALICE),
    )
    await papp.bus.join()
    by_id: dict[int, list[str]] = {}
    for d in decided:
        by_id.setdefault(d.invitation_id, []).append(d.outcome)
    assert sorted(by_id) == [1, 2, 3]
    assert all(len(v) == 1 and v[0] in ("accepted", "expired") for v in by_id.values())
    accepted = sum(v == ["accepted"] for v in by_id.values())
    assert len(adapter.of(AddAgentToChannel)) == accepted
    assert not await papp.scheduler.timers.all()


async def test_concurrent_auto_joins_respect_capacity(papp, adapter):
    await register(papp, "helper", "approval=auto", "max_rooms=1")
    coordinator = cog_of(papp).coordinator
    results = await asyncio.gather(*(coordinator.request("helper", r, BOB) for r in (ROOM, OTHER_ROOM, THIRD_ROOM)))
    assert sorted(r.outcome for r in results) == ["declined", "declined", "joined"]
    assert len(adapter.of(AddAgentToChannel)) == 1
    assert len(await cog_of(papp).store.presence.of_agent("helper")) == 1


async def test_expiry_survives_a_restart_and_the_inviter_is_told(make_settings, adapter, clock):
    settings = presence_settings(make_settings, invitation_ttl_seconds=600)
    first = StewardApp(settings, adapters=[adapter], clock=clock)
    await first.start()
    try:
        await register(first)
        assert "asked the owner" in (await run(first, "invite helper", actor=BOB)).text
    finally:
        await first.stop()

    clock.advance(601)
    from tests.support import RecordingAdapter

    second_adapter = RecordingAdapter()
    second = StewardApp(settings, adapters=[second_adapter], clock=clock)
    decided = collect(second, InvitationDecided)
    await second.start()
    try:
        assert await second.scheduler.fire_due() == 1
        await second.bus.join()
        assert [(d.invitation_id, d.outcome) for d in decided] == [(1, "expired")]
        told = [a.text for a in second_adapter.of(SendMessage)]
        assert any("Invitation #1" in t and "expired" in t for t in told)
        assert any("expired" in a.text for a in second_adapter.of(UpdatePrompt))
        # Approving afterwards changes nothing.
        assert "already decided (expired)" in (await run(second, "approve 1")).text
        assert not second_adapter.of(AddAgentToChannel)
    finally:
        await second.stop()


async def test_a_pending_invitation_is_rearmed_and_still_approvable_after_restart(make_settings, adapter, clock):
    settings = presence_settings(make_settings)
    first = StewardApp(settings, adapters=[adapter], clock=clock)
    await first.start()
    try:
        await register(first)
        await run(first, "invite helper", actor=BOB)
    finally:
        await first.stop()
    from tests.support import RecordingAdapter

    second_adapter = RecordingAdapter()
    second = StewardApp(settings, adapters=[second_adapter], clock=clock)
    await second.start()
    try:
        assert [(t.kind, t.key) for t in await second.scheduler.timers.all()] == [("presence.invite_expiry", "1")]
        approve = "steward:invite:1:approve"
        await second.bus.dispatch(ButtonPressed(actor=ALICE, custom_id=approve, room=ROOM, interaction_id="x"))
        await second.bus.join()
        assert [a.agent.name for a in second_adapter.of(AddAgentToChannel)] == ["helper"]
        assert not await second.scheduler.timers.all()
    finally:
        await second.stop()
