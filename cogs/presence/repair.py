"""The start-up repair of what a crash or an older version left inconsistent in presence's rows and timers.

Today an open invitation and its timers, and a pending draft and its expiry, are written in one transaction; a
database written before that, or by a process killed between two writes, may hold an open invitation or a pending
draft without a timer (it would never end, and the invitation would make every later one of the agent to the room
a duplicate), or a timer whose invitation or draft is gone or already decided. At load the cog gives each open row
the timers it lacks, due at its stored expiry (one whose expiry passed fires at once after the start, and the owner
and the inviter are told as usual), and deletes the timers that have nothing left to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cog import CogContext
from cogs.presence.config import PresenceSettings
from cogs.presence.drafts import DRAFT_TIMER
from cogs.presence.notify import EXPIRY_TIMER, RETRY_TIMER
from storage.presence import InvitationStatus, PresenceStore

TIMER_KINDS = (EXPIRY_TIMER, RETRY_TIMER, DRAFT_TIMER)

_Key = tuple[str, str]  # (timer kind, key)


@dataclass(frozen=True, slots=True)
class Repaired:
    invitation_timers_added: int
    draft_timers_added: int
    timers_deleted: int


async def expected_timers(store: PresenceStore) -> dict[_Key, tuple[float, dict[str, Any]]]:
    """The timers presence's open rows must have: due when and with what payload, by (kind, key)."""
    wanted: dict[_Key, tuple[float, dict[str, Any]]] = {}
    for inv in await store.invitations.open_all():
        key, payload = str(inv.id), {"agent": inv.agent}
        wanted[(EXPIRY_TIMER, key)] = (inv.expires_at, payload)
        if inv.status is InvitationStatus.DEFERRED:
            wanted[(RETRY_TIMER, key)] = (min(inv.retry_at or inv.created_at, inv.expires_at), payload)
    for draft in await store.drafts.pending():
        wanted[(DRAFT_TIMER, str(draft.id))] = (draft.expires_at, {"agent": draft.agent})
    return wanted


async def repair(ctx: CogContext[PresenceSettings], store: PresenceStore) -> Repaired:
    """Give open invitations and pending drafts their missing timers and delete the timers left without a row
    (the handlers must be registered first)."""
    scheduler = ctx.scheduler
    wanted = await expected_timers(store)
    stored = {(t.kind, t.key) for kind in TIMER_KINDS for t in await scheduler.timers.of_kind(kind)}
    missing = sorted(wanted.keys() - stored)
    stale = sorted(stored - wanted.keys())
    if missing or stale:
        async with ctx.db.transaction() as conn:
            for kind, key in missing:
                due_at, payload = wanted[(kind, key)]
                await scheduler.schedule_in(conn, kind, key, due_at, payload)
            for kind, key in stale:
                await scheduler.cancel_in(conn, kind, key)
    drafts = sum(1 for kind, _ in missing if kind == DRAFT_TIMER)
    done = Repaired(len(missing) - drafts, drafts, len(stale))
    ctx.log.info(
        "repaired",
        component="presence",
        invitation_timers_added=done.invitation_timers_added,
        draft_timers_added=done.draft_timers_added,
        timers_deleted=done.timers_deleted,
    )
    return done
