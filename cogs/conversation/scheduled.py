"""Commands the conversation moderator schedules for later (``schedule_command``), e.g. ``mode open`` a while
after a conflict paused a room.

Each is a durable timer (``conversation.command``, it survives restarts); when it falls due the command runs
through the command registry as the moderator, and the command can ask ``scheduled_reason`` why it was scheduled.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from bot.commands import CommandError, CommandInvocation
from cogs.conversation.notices import Announcer, ago
from cogs.conversation.rooms import Rooms
from domain import Actor, ActorKind, Room
from storage.conversation import MODERATOR

if TYPE_CHECKING:
    from bot.cog import CogContext

MODERATOR_ACTOR = Actor(platform="steward", id=MODERATOR, kind=ActorKind.SYSTEM, display_name="Steward moderator")
COMMAND_TIMER = "conversation.command"
# The payload of the scheduled command being run, so that the command can say why it was scheduled.
_SCHEDULED: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "conversation_scheduled", default=None
)


def scheduled_reason(now: float) -> str:
    """Why the scheduled command being run was scheduled, and when ("... (scheduled 15 minutes ago)")."""
    scheduled = _SCHEDULED.get() or {}
    why = str(scheduled.get("reason") or "it was scheduled")
    at = scheduled.get("scheduled_at")
    return f"{why} (scheduled {ago(now - float(at))})" if isinstance(at, (int, float)) else why


class ScheduledCommands:
    def __init__(self, ctx: CogContext, rooms: Rooms, announcer: Announcer) -> None:
        self.ctx = ctx
        self.rooms = rooms
        self.announcer = announcer

    async def schedule(self, room: Room, command: str, *, due: float, now: float, audit_id: int, reason: str) -> None:
        payload = {"room": room.key, "command": command, "audit_id": audit_id, "scheduled_at": now, "reason": reason}
        await self.ctx.scheduler.schedule_at(COMMAND_TIMER, f"{room.key}#{audit_id}", due, payload)

    def _parse(self, key: str, payload: Any) -> tuple[Room, str, CommandInvocation] | None:
        try:
            room = Room.parse(str(payload["room"]))
            line = str(payload["command"])
        except (KeyError, ValueError) as exc:
            self.ctx.metrics.rejected_input.labels("conversation_timer", "bad_payload").inc()
            self.ctx.log.error("conversation_scheduled_command_unreadable", key=key, error=repr(exc))
            return None
        try:
            inv = CommandInvocation.parse(line, actor=MODERATOR_ACTOR, room=room, is_admin=True)
        except CommandError as exc:
            self.ctx.log.error("conversation_scheduled_command_unparsable", key=key, command=line, error=str(exc))
            return None
        return room, line, inv

    async def run(self, key: str, payload: Any) -> None:
        """The timer handler: run a command that fell due, as the moderator."""
        parsed = self._parse(key, payload)
        if parsed is None:
            return
        room, line, inv = parsed
        if inv.name not in self.rooms.cfg(room).schedulable_commands:
            self.ctx.log.warning("conversation_scheduled_command_not_allowed", key=key, command=inv.name)
            await self.announcer.announce(
                room, f"Steward did not run the scheduled `{line}`: it is no longer allowed here."
            )
            return
        token = _SCHEDULED.set(dict(payload))
        try:
            reply = await self.ctx.commands.invoke(inv)
        finally:
            _SCHEDULED.reset(token)
        self.ctx.log.info("conversation_scheduled_command_ran", room=room.key, command=line, ok=reply.ok)
        if not reply.ok:
            await self.announcer.announce(room, f"Steward could not run the scheduled `{line}`: {reply.text}")
        elif reply.text and not reply.actions and inv.name != "mode":
            await self.announcer.announce(room, f"Scheduled `{line}`: {reply.text}")
