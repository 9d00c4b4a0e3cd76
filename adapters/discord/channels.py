"""Finding a Discord channel by name (``FindChannel``): a slash command's free-text argument carries ``#general``
as typed when the client did not turn it into a ``<#id>`` link.

The guild's channels come from discord.py's cache (filled by the gateway); a guild not cached is asked over REST.
A name matches case-insensitively; several channels of one name are refused as ambiguous rather than guessed.
"""

from __future__ import annotations

import discord

from adapters.discord.common import client_of, snowflake
from bot.actions import ActionResult, FindChannel
from bot.adapter import performs
from bot.core import Core

# Channel types a message can be posted in (text, announcement, voice text chat, forum, media).
_POSTABLE = (0, 2, 5, 13, 15, 16)


class ChannelLookup:
    """The ``FindChannel`` performer, mixed into the Discord adapter (which sets ``client``)."""

    app: Core | None
    client: discord.Client | None

    async def _channels(self, guild_id: int) -> list[tuple[str, str]]:
        """(id, name) of the guild's channels messages can go to."""
        client = client_of(self)
        guild = client.get_guild(guild_id)
        if guild is not None:
            return [(str(c.id), c.name) for c in guild.channels if int(c.type.value) in _POSTABLE]
        payload = await client.http.get_all_guild_channels(guild_id)
        return [(str(c["id"]), str(c.get("name", ""))) for c in payload if int(c.get("type", 0)) in _POSTABLE]

    @performs(FindChannel)
    async def find_channel(self, action: FindChannel) -> ActionResult:
        guild_id = snowflake(action.server, "server id")
        wanted = action.name.removeprefix("#").strip().lower()
        channels = await self._channels(guild_id)
        found = [cid for cid, name in channels if name.lower() == wanted or cid == wanted]
        if len(found) == 1:
            return ActionResult(ok=True, channel_id=found[0])
        if found:
            return ActionResult.failed(f"{len(found)} channels are named #{wanted}: link the one you mean")
        return ActionResult.failed("not among the server's channels Steward can see")
