"""What every presence command mixin may use: the cog's parts, and reading agent, room and number arguments."""

from __future__ import annotations

import re

from bot.actions import FindChannel
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

    async def _room(self, inv: CommandInvocation, value: str | None) -> Room:
        """The room ``value`` names, else the current one. ``platform:server:channel`` in full; a channel link
        (``<#C0123|general>``, ``<#1234>``) or id; or a channel name (``#general``, ``general``), looked up on the
        platform where names are not ids (an unknown name is refused, never taken for an id)."""
        if not value:
            if inv.room is None:
                raise CommandError("name the room (platform:server:channel); there is no current room here")
            return inv.room
        platform, server = inv.actor.platform, inv.room.server if inv.room else ""
        mention = _CHANNEL_MENTION.match(value)
        if mention:
            return Room(platform, server, mention.group(1))
        if ":" in value:
            try:
                return Room.parse(value)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        name = value.removeprefix("#")
        id_shape = _CHANNEL_IDS.get(platform)
        if not name or (id_shape and id_shape.match(name)):
            return Room(platform, server, name or value)
        return Room(platform, server, await self._channel_named(platform, server, name))

    async def _channel_named(self, platform: str, server: str, name: str) -> str:
        lookup = FindChannel(room_platform=platform, server=server, name=name)
        if not self.ctx.router.supports(lookup):
            return name  # the console's and other platforms' channel names are their ids
        found = await self.ctx.router.perform(lookup)
        if found.ok and found.channel_id:
            return found.channel_id
        raise CommandError(
            f"no channel named #{name} here ({found.error or 'not found'}); "
            "link the channel (type # and pick it) or give its id"
        )

    async def _split_room(self, inv: CommandInvocation, rest: list[str]) -> tuple[Room, list[str]]:
        """The room if the first word names one (the current room otherwise), and the words after it."""
        if rest and names_room(inv.actor.platform, rest[0]):
            return await self._room(inv, rest[0]), rest[1:]
        return await self._room(inv, None), rest

    async def _agent_for(self, inv: CommandInvocation, name: str, *, owner_or_admin: bool = True) -> AgentRecord:
        record = await self.ctx.agents.get(name)
        if record is None:
            raise CommandError(f"no agent named {name!r} is registered")
        if owner_or_admin and not (is_owner(record, inv.actor) or inv.is_admin):
            raise CommandError(f"only the owner of {name} ({owner(record)}) or an admin can do that")
        return record


# A channel as the platform's client links it: Slack's <#C0123|general> (or <#C0123>), Discord's <#1234>.
_CHANNEL_MENTION = re.compile(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$")
# A channel id typed as is, by platform (a word of another shape is a name, or the start of a reason).
_CHANNEL_IDS = {"slack": re.compile(r"^[CG][A-Z0-9]{8,}$"), "discord": re.compile(r"^[0-9]{17,20}$")}


def names_room(platform: str, word: str) -> bool:
    """Whether ``word`` names a room: ``platform:server:channel``, ``#channel``, a channel link or a channel id."""
    if _CHANNEL_MENTION.match(word) or word.startswith("#"):
        return True
    id_shape = _CHANNEL_IDS.get(platform)
    return ":" in word or bool(id_shape and id_shape.match(word))


def int_arg(value: str, what: str) -> int:
    try:
        return int(value.lstrip("#"))
    except ValueError:
        raise CommandError(f"{what} must be a number, got {value!r}") from None
