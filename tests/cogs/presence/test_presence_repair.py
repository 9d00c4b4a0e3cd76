"""The start-up repair: what a crash or an older version left (an open invitation or a pending draft without its
timer, a timer with nothing left to end) is put right, and the invitation then expires as any other would."""

from __future__ import annotations

import sqlite3

from bot.actions import SendApprovalPrompt, SendMessage
from bot.app import StewardApp
from bot.events import InvitationDecided
from storage.presence import DraftStatus, InvitationStatus
from tests.support import RecordingAdapter

from .conftest import ALICE, BOB, OTHER_ROOM, ROOM, THIRD_ROOM, collect, presence_settings, register, run


def timers_of(db_path) -> set[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return {(kind, key) for kind, key in conn.execute("SELECT kind, key FROM timers")}


def tamper(db_path, *statements: str) -> None:
    """Edit the database by hand, as a crash between two writes (or an older Steward) would have left it."""
    with sqlite3.connect(db_path) as conn:
        for sql in statements:
            conn.execute(sql)


async def build(settings, clock) -> None:
    """Two pending invitations (#1 to ROOM, #2 to OTHER_ROOM), an accepted one (#3), and a pending draft (#1)."""
    first = StewardApp(settings, adapters=[RecordingAdapter()], clock=clock)
    await first.start()
    try:
        await register(first, "helper", "messages=owner_each_draft")
        for room in (ROOM, OTHER_ROOM, THIRD_ROOM):
            await run(first, f"invite helper {room.key}", actor=BOB)
        assert "joined" in (await run(first, "approve 3")).text
        assert (await first.publisher.submit("helper", ROOM, "held for the owner")).held == "draft:1"
    finally:
        await first.stop()


async def test_missing_timers_are_added_and_orphaned_ones_deleted_at_start(make_settings, clock):
    settings = presence_settings(make_settings)
    db_path = settings.database.path
    await build(settings, clock)
    assert timers_of(db_path) == {
        ("presence.invite_expiry", "1"),
        ("presence.invite_expiry", "2"),
        ("presence.draft_expiry", "1"),
    }
    tamper(
        db_path,
        "DELETE FROM timers WHERE kind = 'presence.invite_expiry' AND key = '1'",
        "DELETE FROM timers WHERE kind = 'presence.draft_expiry'",
        # timers whose invitation was decided (#3), or whose invitation or draft never existed
        "INSERT INTO timers (kind, key, due_at, payload) VALUES ('presence.invite_expiry', '3', 1, '{}')",
        "INSERT INTO timers (kind, key, due_at, payload) VALUES ('presence.invite_retry', '99', 1, '{}')",
        "INSERT INTO timers (kind, key, due_at, payload) VALUES ('presence.draft_expiry', '42', 1, '{}')",
    )

    adapter = RecordingAdapter()
    second = StewardApp(settings, adapters=[adapter], clock=clock)
    await second.start()
    try:
        assert timers_of(db_path) == {
            ("presence.invite_expiry", "1"),
            ("presence.invite_expiry", "2"),
            ("presence.draft_expiry", "1"),
        }
        [timer] = [t for t in await second.scheduler.timers.all() if t.key == "1" and t.kind.endswith("invite_expiry")]
        store = second.cogs.cogs["presence"].store
        assert timer.due_at == (await store.invitations.get(1)).expires_at
        # The repaired invitation ends like any other: it expires, the inviter is told, the room is free again.
        decided = collect(second, InvitationDecided)
        clock.advance(3601)
        await second.scheduler.fire_due()
        await second.bus.join()
        assert sorted((d.invitation_id, d.outcome) for d in decided) == [(1, "expired"), (2, "expired")]
        assert any("Invitation #1" in m.text and "expired" in m.text for m in adapter.of(SendMessage))
        assert (await store.drafts.get(1)).status is DraftStatus.EXPIRED
        await run(second, f"invite helper {ROOM.key}", actor=BOB)
        assert (await store.invitations.get(4)).status is InvitationStatus.PENDING
        assert [p.key for p in adapter.of(SendApprovalPrompt) if p.kind == "invite"] == ["4"]
    finally:
        await second.stop()


async def test_an_invitation_whose_expiry_passed_while_it_had_no_timer_expires_at_once(make_settings, clock):
    settings = presence_settings(make_settings)
    await build(settings, clock)
    tamper(settings.database.path, "DELETE FROM timers WHERE kind = 'presence.invite_expiry' AND key = '1'")
    clock.advance(7200)  # down for two hours: the stored expiry is in the past
    adapter = RecordingAdapter()
    second = StewardApp(settings, adapters=[adapter], clock=clock)
    decided = collect(second, InvitationDecided)
    await second.start()
    try:
        assert await second.scheduler.fire_due() == 3  # both invitations and the draft, without moving the clock
        await second.bus.join()
        assert sorted((d.invitation_id, d.outcome) for d in decided) == [(1, "expired"), (2, "expired")]
        assert not await second.scheduler.timers.all()
        reply = await run(second, f"invite helper {ROOM.key}", actor=ALICE)
        assert "duplicate" not in reply.text and "already open" not in reply.text
    finally:
        await second.stop()
