"""What the conversation moderator tells people, in words, and how its notices reach a room.

Every action is announced as a Steward system message that says what was done and why; ``Announcer`` posts it and
remembers it in the room's state, so that the moderator never reads its own notice back as conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.actions import SendMessage
from domain import Room, user_ref
from policy.conversation import MODE_EFFECT, AgentStyle, Mode
from storage.conversation import MODERATOR, AuditEntry

if TYPE_CHECKING:
    from bot.cog import CogContext
    from cogs.conversation.rooms import Rooms


def setter(platform: str, set_by: str) -> str:
    """Who set a mode, a style or did an audited action: Steward, or the person as a platform mention (a name
    where mentions do not render), never a bare platform id."""
    return "Steward" if set_by == MODERATOR else user_ref(platform, set_by)


def ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"{int(seconds)} seconds ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes ago"
    return f"{round(seconds / 3600, 1)} hours ago"


def within(seconds: float) -> str:
    if seconds < 90:
        return f"{int(seconds)} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600, 1)} hours"


def sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def effect(mode: Mode) -> str:
    return MODE_EFFECT[mode]


def style_changes(agent: str, style: str | None, rate: int | None, brief_max_chars: int) -> str:
    """What a style change does, in words: "asked helper to keep its replies brief ... and limited helper to ..."."""
    parts = []
    if style is not None:
        parts.append(
            f"asked {agent} to keep its replies brief (at most {brief_max_chars} characters)"
            if style == AgentStyle.BRIEF
            else f"set {agent}'s reply style back to normal"
        )
    if rate is not None:
        parts.append(f"limited {agent} to {rate} message(s) a minute" if rate else f"lifted {agent}'s rate limit")
    return " and ".join(parts)


def audit_line(entry: AuditEntry, now: float, platform: str) -> str:
    """One audit entry as the ``audit`` command lists it."""
    details = ", ".join(
        f"{k}={str(v)[:12] if k == 'text_hash' else v}"
        for k, v in entry.params.items()
        if v is not None and k != "kind"
    )
    signal = f" on {entry.signal}" if entry.signal else ""
    why = f" because {entry.reason}" if entry.reason else ""
    head = f"#{entry.id} {ago(now - entry.at)}: {setter(platform, entry.actor)} ({entry.source}) {entry.action}"
    return f"{head} {details}{signal}{why} [{entry.outcome}]"


class Announcer:
    """Posts the moderator's notices as Steward system messages and remembers them, to ignore their echo."""

    def __init__(self, ctx: CogContext, rooms: Rooms) -> None:
        self.ctx = ctx
        self.rooms = rooms

    async def announce(self, room: Room, text: str) -> str | None:
        state = self.rooms.state(room, self.ctx.clock.now())
        state.note_own_notice(text)
        result = await self.ctx.router.perform(SendMessage(room=room, text=text, system=True))
        if not result.ok:
            self.ctx.log.warning("conversation_notice_failed", room=room.key, error=result.error)
            return None
        message_id: str | None = result.message_id
        return message_id
