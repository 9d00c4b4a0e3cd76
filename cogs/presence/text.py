"""How the presence cog writes rooms and durations in what it tells people."""

from __future__ import annotations

from domain import Room


def where(room: Room) -> str:
    return f"#{room.channel}" + (f" ({room.server})" if room.server else "")


def duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    if whole >= 3600 and whole % 3600 == 0:
        return f"{whole // 3600}h"
    if whole >= 60:
        return f"{whole // 60}m"
    return f"{whole}s"
