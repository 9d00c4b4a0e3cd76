"""What every presence command mixin may use: the cog's parts, and reading agent, room and number arguments."""

from __future__ import annotations

from bot.cog import CogContext
from bot.commands import CommandError, CommandInvocation
from cogs.presence.api import AgentApi
from cogs.presence.config import PresenceSettings
from cogs.presence.coordinator import Coordinator
from cogs.presence.drafts import DraftDesk
from cogs.presence.errors import is_owner
from cogs.presence.outbox import Outbox
from cogs.presence.text import owner
from domain import Room
from storage.core import AgentRecord
from storage.presence import PresenceStore


class PresenceParts:
    """The parts ``PresenceCog`` builds; the command and listener mixins reach them through ``self``."""

    ctx: CogContext[PresenceSettings]
    store: PresenceStore
    coordinator: Coordinator
    drafts: DraftDesk
    outbox: Outbox
    api: AgentApi

    async def _agent_for(self, inv: CommandInvocation, name: str, *, owner_or_admin: bool = True) -> AgentRecord:
        record = await self.ctx.agents.get(name)
        if record is None:
            raise CommandError(f"no agent named {name!r} is registered")
        if owner_or_admin and not (is_owner(record, inv.actor) or inv.is_admin):
            raise CommandError(f"only the owner of {name} ({owner(record)}) or an admin can do that")
        return record


def room_arg(inv: CommandInvocation, value: str | None) -> Room:
    """A room named in full (``platform:server:channel``) or by channel (``#general``), else the current one."""
    if value:
        try:
            return (
                Room.parse(value)
                if ":" in value
                else Room(inv.actor.platform, inv.room.server if inv.room else "", value.lstrip("#"))
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if inv.room is None:
        raise CommandError("name the room (platform:server:channel); there is no current room here")
    return inv.room


def split_room(inv: CommandInvocation, rest: list[str]) -> tuple[Room, list[str]]:
    """The room if the first word names one (the current room otherwise), and the words after it."""
    named = rest[0] if rest and (":" in rest[0] or rest[0].startswith("#")) else None
    return room_arg(inv, named), rest[1:] if named else rest


def int_arg(value: str, what: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise CommandError(f"{what} must be a number, got {value!r}") from None
