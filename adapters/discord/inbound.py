"""Gateway events in: Discord's messages, edits, deletions, reactions, joins and leaves as core events, in order.

discord.py runs each gateway event in a task of its own; recognising an author takes a database read, so a later
message could overtake an earlier one. Events are put into one bounded queue as they arrive and normalised one at a
time, so each room's events reach the bus in Discord's order. Steward's own messages and the echoes of its agent
webhooks are ignored: the publisher has already dispatched the agent's message with ``via_steward=True``.

A message's time is Discord's timestamp when it is plausible: not before Discord existed and not more than
``MAX_FUTURE_SKEW`` seconds ahead of this machine's clock. Otherwise the message is timed when it was received, and
the rejected timestamp is logged and counted (rate limits, cooldowns and windows run on event time, so one absurd
timestamp must not move them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import discord

from adapters.discord.common import PLATFORM, Counters, Host, app_of, me_of, room_of
from adapters.discord.identities import Identities
from adapters.discord.webhooks import Webhooks
from bot.events import (
    Event,
    MemberJoined,
    MemberLeft,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    ReactionAdded,
)
from bot.logging import get_logger
from domain import Actor, ActorKind, Room

log = get_logger("steward.discord")

InboundHandler = Callable[..., Awaitable[None]]
SPOKEN_TYPES = (discord.MessageType.default, discord.MessageType.reply)
DISCORD_EPOCH = 1420070400.0  # 2015-01-01T00:00:00Z: no Discord message is older
MAX_FUTURE_SKEW = 300.0


class InboundQueue:
    """Gateway events waiting to be normalised, in arrival order; beyond ``size`` they are dropped and counted."""

    def __init__(self, size: int, counters: Counters, on_error: Callable[[str], None]) -> None:
        self._queue: asyncio.Queue[tuple[str, InboundHandler, tuple[object, ...]]] = asyncio.Queue(maxsize=size)
        self._counters = counters
        self._on_error = on_error

    def qsize(self) -> int:
        return self._queue.qsize()

    def put(self, kind: str, handler: InboundHandler, args: tuple[object, ...]) -> None:
        try:
            self._queue.put_nowait((kind, handler, args))
        except asyncio.QueueFull:
            log.warning("discord_inbound_dropped", kind=kind, pending=self._queue.qsize())
            self._counters.count(
                "steward_discord_inbound_dropped_total", "Gateway events dropped: inbound queue full", kind=kind
            )

    async def drain(self) -> None:
        """Normalise queued events one at a time, forever; a handler that raises is logged and counted."""
        while True:
            kind, handler, args = await self._queue.get()
            try:
                await handler(*args)
            except Exception:
                self._on_error(kind)
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        await self._queue.join()


class Inbound:
    """Normalises gateway events into core events and publishes them on the bus."""

    def __init__(self, host: Host, identities: Identities, webhooks: Webhooks, counters: Counters) -> None:
        self._host = host
        self._identities = identities
        self._webhooks = webhooks
        self._counters = counters

    async def _publish(self, event: Event) -> None:
        self._counters.event(type(event).__name__)
        await app_of(self._host).publish(event)

    async def _ignored(self, message: discord.Message) -> str | None:
        """Why ``message`` is Steward's own and must not be published again, or None."""
        if message.author.id == me_of(self._host):
            return "own_message"
        if message.webhook_id is not None and await self._webhooks.is_own(message):
            return "own_webhook"
        return None

    async def on_message(self, message: discord.Message) -> None:
        reason = await self._ignored(message)
        if reason is None and message.type not in SPOKEN_TYPES:
            reason = "system_message"
        if reason is not None:
            self._counters.ignored(reason)
            return
        author = await self._identities.actor_of(message.author, webhook_id=message.webhook_id)
        reply_to, reply_author = await self._reply_of(message)
        channel = message.channel
        await self._publish(
            MessageCreated(
                at=self._event_time(message),
                room=room_of(message.guild.id if message.guild else None, channel.id),
                message_id=str(message.id),
                author=author,
                text=message.content,
                reply_to=reply_to,
                reply_to_author=reply_author,
                thread_id=str(channel.id) if isinstance(channel, discord.Thread) else None,
                mentions=tuple(str(u.id) for u in message.mentions),
            )
        )

    def _event_time(self, message: discord.Message) -> float:
        """Discord's timestamp of ``message`` when plausible, else the time it was received (logged, counted)."""
        at = message.created_at.timestamp()
        now = app_of(self._host).clock.now()
        if DISCORD_EPOCH <= at <= now + MAX_FUTURE_SKEW:
            return at
        reason = "before_discord_epoch" if at < DISCORD_EPOCH else "future"
        log.warning(
            "discord_timestamp_rejected",
            message_id=str(message.id),
            timestamp=message.created_at.isoformat(),
            reason=reason,
        )
        self._counters.count(
            "steward_discord_timestamps_rejected_total",
            "Message timestamps replaced by the receive time: before Discord existed or in the future",
            reason=reason,
        )
        return now

    async def _reply_of(self, message: discord.Message) -> tuple[str | None, Actor | None]:
        """The id of the message ``message`` answers, and that message's author when Discord sent it along."""
        reference = message.reference
        if reference is None or reference.message_id is None:
            return None, None
        parent = reference.resolved
        author = await self._identities.author_of(parent) if isinstance(parent, discord.Message) else None
        return str(reference.message_id), author

    async def on_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        message = payload.message
        reason = await self._ignored(message)
        if reason is None and (
            "content" not in payload.data
            or (payload.cached_message is not None and payload.cached_message.content == message.content)
        ):
            reason = "edit_without_text_change"  # link previews and pins update messages too
        if reason is not None:
            self._counters.ignored(reason)
            return
        await self._publish(
            MessageEdited(
                room=room_of(payload.guild_id, payload.channel_id),
                message_id=str(payload.message_id),
                author=await self._identities.actor_of(message.author, webhook_id=message.webhook_id),
                text=message.content,
            )
        )

    async def on_message_delete(self, guild_id: int | None, channel_id: int, message_ids: Sequence[int]) -> None:
        room = room_of(guild_id, channel_id)
        for message_id in message_ids:
            await self._publish(MessageDeleted(room=room, message_id=str(message_id)))

    async def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.user_id == me_of(self._host):
            self._counters.ignored("own_reaction")
            return
        user: discord.abc.User | discord.Member | None = payload.member
        client = self._host.client
        if user is None and client is not None:
            user = client.get_user(payload.user_id)
        actor = (
            await self._identities.actor_of(user)
            if user is not None
            else Actor(PLATFORM, str(payload.user_id), ActorKind.HUMAN, str(payload.user_id))
        )
        message_author = None
        if payload.message_author_id is not None:
            message_author = await self._identities.of_message_author(payload.message_id, payload.message_author_id)
        await self._publish(
            ReactionAdded(
                room=room_of(payload.guild_id, payload.channel_id),
                message_id=str(payload.message_id),
                actor=actor,
                emoji=str(payload.emoji),
                message_author=message_author,
            )
        )

    async def on_member_join(self, member: discord.Member) -> None:
        await self._publish(MemberJoined(room=guild_room(member.guild), member=await self._identities.actor_of(member)))

    async def on_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        client = self._host.client
        guild = client.get_guild(payload.guild_id) if client is not None else None
        room = guild_room(guild) if guild is not None else Room(PLATFORM, str(payload.guild_id), "")
        await self._publish(MemberLeft(room=room, member=await self._identities.actor_of(payload.user)))


def guild_room(guild: discord.Guild) -> Room:
    """Joins and leaves belong to the server; its system channel (where Discord greets) is their room."""
    channel = guild.system_channel
    return Room(PLATFORM, str(guild.id), str(channel.id) if channel else "")
