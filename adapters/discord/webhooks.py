"""Steward's webhooks: one per channel, through which agents' approved messages are posted.

A channel's webhook is found among the channel's webhooks or created once, then cached; the ids of all of
Steward's webhooks are kept so that their echoes (and interaction follow-ups) are recognised as Steward's own.
"""

from __future__ import annotations

import asyncio

import discord

from adapters.discord.common import BadInput, Host, client_of, me_of
from bot.logging import get_logger

log = get_logger("steward.discord")

# Channel kinds that can hold webhooks.
WEBHOOK_CHANNELS = (discord.TextChannel, discord.ForumChannel, discord.VoiceChannel, discord.StageChannel)

Channel = discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel


class Webhooks:
    """Steward's webhook per channel, and which webhook ids are Steward's."""

    def __init__(self, host: Host, *, name: str) -> None:
        self._host = host
        self.name = name
        self._by_channel: dict[int, discord.Webhook] = {}
        self._own_ids: set[int] = set()
        # Channels whose webhook list was read, so an unknown webhook is looked up once.
        self._scanned: set[int] = set()
        self._locks: dict[int, asyncio.Lock] = {}

    async def channel(self, channel_id: int) -> Channel:
        client = client_of(self._host)
        channel = client.get_channel(channel_id)
        if channel is None:
            return await client.fetch_channel(channel_id)
        return channel

    async def for_channel(self, channel_id: int, *, create: bool = True) -> discord.Webhook | None:
        """Steward's webhook in a channel: found among the channel's webhooks or created once, then cached."""
        cached = self._by_channel.get(channel_id)
        if cached is not None:
            return cached
        async with self._locks.setdefault(channel_id, asyncio.Lock()):
            cached = self._by_channel.get(channel_id)
            if cached is not None:
                return cached
            channel = await self.channel(channel_id)
            if not isinstance(channel, WEBHOOK_CHANNELS):
                raise BadInput(f"channel {channel_id} cannot have webhooks ({type(channel).__name__})")
            await self._scan(channel)
            found = self._by_channel.get(channel_id)
            if found is None and create:
                found = await channel.create_webhook(name=self.name, reason="Steward posts for agents")
                self._by_channel[channel_id] = found
                self._own_ids.add(found.id)
                log.info("discord_webhook_created", channel=str(channel_id), webhook=str(found.id))
            return found

    async def _scan(
        self, channel: discord.TextChannel | discord.ForumChannel | discord.VoiceChannel | discord.StageChannel
    ) -> None:
        me = me_of(self._host)
        for webhook in await channel.webhooks():
            if webhook.user is not None and webhook.user.id == me and webhook.token:
                self._own_ids.add(webhook.id)
                if webhook.name == self.name and channel.id not in self._by_channel:
                    self._by_channel[channel.id] = webhook
        self._scanned.add(channel.id)

    def forget(self, channel_id: int) -> None:
        """Someone deleted the channel's webhook: the next post makes a new one."""
        self._by_channel.pop(channel_id, None)

    async def is_own(self, message: discord.Message) -> bool:
        """Whether ``message`` came through one of Steward's webhooks (or the application's own)."""
        webhook_id = message.webhook_id
        if webhook_id is None:
            return False
        client = self._host.client
        if client is not None and webhook_id == client.application_id:
            return True  # interaction follow-ups come from the application's own webhook
        if webhook_id in self._own_ids:
            return True
        channel = message.channel
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else channel.id
        if parent_id is None or parent_id in self._scanned:
            return False
        self._scanned.add(parent_id)
        try:
            await self.for_channel(parent_id, create=False)
        except discord.HTTPException as exc:
            log.warning("discord_webhook_scan_failed", channel=str(parent_id), error=exc.text, status=exc.status)
        except BadInput as exc:
            log.warning("discord_webhook_scan_failed", channel=str(parent_id), error=str(exc))
        return webhook_id in self._own_ids
