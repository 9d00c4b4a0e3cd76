"""How the presence cog writes rooms, people and durations in what it tells people: platform mentions where the
platform renders them as names (``domain.mentions``), names elsewhere, never a bare platform id."""

from __future__ import annotations

from domain import MENTION_PLATFORMS, Room, room_ref, user_ref
from storage.core import AgentRecord
from storage.presence import InvitationRecord

# Inviters that are not platform users: an agent (its id is its Steward name) and the system.
_NAMED_INVITERS = frozenset({"agent", "system"})


def where(room: Room) -> str:
    if room.platform in MENTION_PLATFORMS:
        return room_ref(room)
    return f"#{room.channel}" + (f" ({room.server})" if room.server else "")


def owner(record: AgentRecord) -> str:
    """The owner of an agent, as a mention (they are a platform user whose display name is not kept)."""
    return user_ref(record.platform, record.owner_id)


def inviter(inv: InvitationRecord, *, in_dm: bool = False) -> str:
    """Who sent an invitation: a person as a mention (their name in a DM), an agent or the system by name."""
    if inv.inviter_kind in _NAMED_INVITERS:
        return inv.inviter_name or inv.inviter_id
    return user_ref(inv.inviter_platform, inv.inviter_id, inv.inviter_name, in_dm=in_dm)


def duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    if whole >= 3600 and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole >= 60:
        return f"{whole // 60}m"
    return f"{whole}s"
