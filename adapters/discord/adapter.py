"""The Discord adapter: gateway events in as core events, core actions out through discord.py.

Inbound, every message, edit, deletion, reaction, member join or leave and button click is normalised into a core
event (``bot/events.py``) and published on the bus. Steward's own messages and the echoes of its agent webhooks are
ignored: the publisher has already dispatched the agent's message with ``via_steward=True``.

Outbound, each core action has a performer. A Discord error (Forbidden, NotFound, any HTTP error) becomes a failed
``ActionResult`` with the reason, logged and counted; nothing raises out of ``perform``. discord.py's HTTP client
does the rate limiting (it waits on 429s and per-route buckets).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.client import (
    StewardButton,
    StewardClient,
    StewardCommandTree,
    StewardShardedClient,
    build_command_groups,
    build_view,
)
from adapters.discord.config import DiscordSettings
from adapters.discord.interactions import ExpiringStore, LruMap
from bot.actions import (
    Action,
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    Button,
    DeleteMessage,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    TimeoutMember,
    UpdatePrompt,
)
from bot.adapter import Adapter, performs
from bot.commands import Command, CommandError, CommandInvocation
from bot.events import (
    ButtonPressed,
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

if TYPE_CHECKING:
    from bot.app import StewardApp

log = get_logger("steward.discord")

PLATFORM = "discord"
MAX_MESSAGE = 2000
MAX_TIMEOUT_SECONDS = 28 * 24 * 3600  # Discord's longest timeout
# What an agent may be given in a channel, and what removing it takes away.
AGENT_CHANNEL_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True, read_message_history=True
)
DM_FALLBACK_NOTE = "dm_failed_fallback"


InboundHandler = Callable[..., Awaitable[None]]


class DiscordStartError(RuntimeError):
    """The gateway connection could not be made ready."""


class _BadInput(ValueError):
    """An action that names something Discord cannot have (a malformed id, a too-long timeout)."""


def _snowflake(value: str | int | None, what: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise _BadInput(f"{what} {value!r} is not a Discord id") from None
    if number <= 0 or number >= 1 << 64:
        raise _BadInput(f"{what} {value!r} is not a Discord id")
    return number


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _chunks(text: str) -> list[str]:
    text = text or "(no output)"
    return [text[i : i + MAX_MESSAGE] for i in range(0, len(text), MAX_MESSAGE)]


class DiscordAdapter(Adapter):
    platform = PLATFORM

    def __init__(self, settings: DiscordSettings) -> None:
        super().__init__()
        self.settings = settings
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree | None = None
        self._runner: asyncio.Task[None] | None = None
        self._connected = False
        self._gateway_counts: dict[str, int] = {}
        self._interactions: ExpiringStore[discord.Interaction] = ExpiringStore(
            ttl=settings.interaction_ttl, max_size=settings.max_pending_interactions
        )
        # Webhooks Steward posts through, by the channel they belong to, and the ids of all of them (to ignore
        # their echoes). Channels whose webhook list was read, so an unknown webhook is looked up once.
        self._webhooks: dict[int, discord.Webhook] = {}
        self._own_webhook_ids: set[int] = set()
        self._scanned_channels: set[int] = set()
        self._webhook_locks: dict[int, asyncio.Lock] = {}
        # Messages Steward posted for agents -> agent name, to name the author of a reply's parent.
        self._agent_posts: LruMap[str] = LruMap(20_000)
        # discord.py runs each gateway event in its own task; an author lookup (a database read) could let a later
        # message overtake an earlier one. One queue, drained in order, keeps the room's order for the bus.
        self._inbound: asyncio.Queue[tuple[str, InboundHandler, tuple[Any, ...]]] = asyncio.Queue(
            maxsize=settings.inbound_queue_size
        )
        self._inbound_worker: asyncio.Task[None] | None = None

    # --- metrics ---------------------------------------------------------------------------------------------------

    def _count(self, name: str, doc: str, **labels: str) -> None:
        if self.app is None:
            return
        self.app.metrics.counter(name, doc, sorted(labels)).labels(**labels).inc()

    def _count_event(self, event: str) -> None:
        self._count("steward_discord_events_total", "Discord gateway events turned into core events", event=event)

    def _count_ignored(self, reason: str) -> None:
        self._count("steward_discord_ignored_total", "Discord messages Steward ignored on purpose", reason=reason)

    # --- lifecycle -------------------------------------------------------------------------------------------------

    def _intents(self) -> discord.Intents:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.guild_reactions = True
        intents.dm_reactions = True
        intents.members = self.settings.members_intent
        intents.message_content = self.settings.message_content_intent
        return intents

    def _make_client(self) -> discord.Client:
        s = self.settings
        options: dict[str, Any] = {
            "intents": self._intents(),
            "guild_ready_timeout": s.guild_ready_timeout,
            "chunk_guilds_at_startup": s.chunk_guilds_at_startup,
            # Nobody gets pinged by accident: @everyone and role pings are off unless an action asks otherwise.
            "allowed_mentions": discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True),
            "member_cache_flags": discord.MemberCacheFlags.from_intents(self._intents()),
        }
        if s.application_id is not None:
            options["application_id"] = int(s.application_id)
        client: discord.Client
        if s.sharded:
            if s.shard_count is not None:
                options["shard_count"] = s.shard_count
            if s.shard_ids is not None:
                options["shard_ids"] = list(s.shard_ids)
            client = StewardShardedClient(**options)
        else:
            client = StewardClient(**options)
        client.steward = self  # type: ignore[attr-defined]
        self.tree = StewardCommandTree(client)
        return client

    async def setup(self, app: StewardApp) -> None:
        await super().setup(app)
        if not self.settings.configured:
            raise DiscordStartError("the Discord adapter needs a bot token: set STEWARD_DISCORD__TOKEN")
        self.client = self._make_client()

    async def start(self, app: StewardApp) -> None:
        self.app = app
        if self.client is None:
            await self.setup(app)
        client = self.client
        assert client is not None and self.settings.token is not None
        if self._inbound_worker is None or self._inbound_worker.done():
            self._inbound_worker = asyncio.create_task(self._drain_inbound(), name="steward-discord-inbound")
        try:
            await client.login(self.settings.token.get_secret_value())
        except discord.LoginFailure as exc:
            await self.stop()
            raise DiscordStartError(f"Discord refused the bot token: {exc}") from None
        self._runner = asyncio.create_task(client.connect(reconnect=True), name="steward-discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready())
        done, _pending = await asyncio.wait(
            {ready, self._runner}, timeout=self.settings.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            error = self._runner.exception() if self._runner in done else None
            await self.stop()
            if error is not None:
                raise DiscordStartError(f"the gateway connection failed: {error!r}") from error
            raise DiscordStartError(f"the gateway was not ready after {self.settings.ready_timeout}s")
        user = client.user
        log.info(
            "discord_ready",
            user_id=str(user.id) if user else None,
            guilds=len(client.guilds),
            shards=self._shard_ids(),
            application_id=str(client.application_id),
        )

    async def on_setup_hook(self, client: discord.Client) -> None:
        """Runs inside ``client.login``: register the button and the slash commands before any event arrives."""
        client.add_dynamic_items(StewardButton)
        assert self.app is not None and self.tree is not None
        groups = build_command_groups(
            self.app.commands.all(),
            self,
            group_name=self.settings.command_name,
            admin_permission=self.settings.admin_permission,
        )
        for group in groups:
            self.tree.add_command(group)
        if not self.settings.sync_commands:
            return
        try:
            if self.settings.sync_commands_guild is not None:
                guild = discord.Object(id=int(self.settings.sync_commands_guild))
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.HTTPException as exc:
            # Commands are a convenience; moderation and prompts work without them.
            log.error("discord_command_sync_failed", status=exc.status, code=exc.code, error=exc.text)
            self._count("steward_discord_command_sync_failures_total", "Slash command syncs Discord refused")
            return
        log.info("discord_commands_synced", commands=[c.name for c in synced], guild=self.settings.sync_commands_guild)

    async def stop(self) -> None:
        client, runner, worker = self.client, self._runner, self._inbound_worker
        if client is not None and not client.is_closed():
            await client.close()
        if worker is not None and not worker.done():
            # What already arrived is still published (the bus drains after the adapters stop).
            try:
                await asyncio.wait_for(self._inbound.join(), 5.0)
            except TimeoutError:
                log.warning("discord_inbound_not_drained", pending=self._inbound.qsize())
        for task in (runner, worker):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        self._connected = False

    def receive(self, kind: str, handler: InboundHandler, *args: Any) -> None:
        """Queue a gateway event for normalisation, in arrival order; a full queue drops it, logged and counted."""
        try:
            self._inbound.put_nowait((kind, handler, args))
        except asyncio.QueueFull:
            log.warning("discord_inbound_dropped", kind=kind, pending=self._inbound.qsize())
            self._count(
                "steward_discord_inbound_dropped_total", "Gateway events dropped: inbound queue full", kind=kind
            )

    async def _drain_inbound(self) -> None:
        while True:
            kind, handler, args = await self._inbound.get()
            try:
                await handler(*args)
            except Exception:
                self.on_listener_error(kind)
            finally:
                self._inbound.task_done()

    async def wait_closed(self) -> None:
        if self._runner is None:
            await super().wait_closed()
            return
        try:
            await asyncio.shield(self._runner)
        except Exception as exc:
            log.error("discord_gateway_ended", error=repr(exc))

    def _shard_ids(self) -> list[int] | None:
        client = self.client
        if isinstance(client, discord.AutoShardedClient):
            return sorted(client.shards)
        return None

    def health(self) -> dict[str, Any]:
        client = self.client
        ready = client is not None and client.is_ready() and not client.is_closed()
        latency = client.latency if client is not None and ready else None
        if isinstance(client, discord.AutoShardedClient):
            connected = bool(client.shards) and all(not shard.is_closed() for shard in client.shards.values())
        else:
            connected = self._connected
        return {
            "up": bool(ready and connected),
            "user_id": str(client.user.id) if client is not None and client.user else None,
            "guilds": len(client.guilds) if client is not None else 0,
            "latency_ms": round(latency * 1000, 1) if latency is not None and latency != float("inf") else None,
            "shards": self._shard_ids(),
            "gateway": dict(self._gateway_counts),
            "pending_interactions": len(self._interactions),
            "inbound_pending": self._inbound.qsize(),
        }

    def on_gateway(self, what: str) -> None:
        self._gateway_counts[what] = self._gateway_counts.get(what, 0) + 1
        self._connected = what != "disconnect"
        self._count("steward_discord_gateway_total", "Gateway connection events", event=what)
        if what == "disconnect":
            log.warning("discord_gateway_disconnected")
        elif what in ("resumed", "ready"):
            log.info("discord_gateway_" + what)

    def on_listener_error(self, event_method: str) -> None:
        log.exception("discord_listener_failed", handler=event_method)
        self._count("steward_discord_listener_errors_total", "Discord event handlers that raised", event=event_method)

    # --- identities ------------------------------------------------------------------------------------------------

    @property
    def _me(self) -> int | None:
        user = self.client.user if self.client is not None else None
        return user.id if user else None

    @staticmethod
    def room_of(guild_id: int | None, channel_id: int) -> Room:
        return Room(PLATFORM, str(guild_id) if guild_id else "", str(channel_id))

    @staticmethod
    def _roles(user: discord.abc.User | discord.Member) -> frozenset[str]:
        roles = getattr(user, "roles", None) or []
        found: set[str] = set()
        for role in roles:
            if role.is_default():
                continue
            found.add(str(role.id))
            found.add(role.name)
        return frozenset(found)

    async def actor_of(self, user: discord.abc.User | discord.Member, *, webhook_id: int | None = None) -> Actor:
        """The core actor for a message author: a registered agent (by bot user id or webhook id), another bot,
        or a human. Role ids and names ride along for exemptions."""
        assert self.app is not None
        roles = self._roles(user)
        if webhook_id is not None:
            record = await self.app.agents.by_platform_user(PLATFORM, str(webhook_id))
            if record is not None:
                return Actor(PLATFORM, record.name, ActorKind.AGENT, record.display_name or record.name, roles)
            return Actor(PLATFORM, str(user.id), ActorKind.BOT, user.display_name, roles)
        if user.bot:
            record = await self.app.agents.by_platform_user(PLATFORM, str(user.id))
            if record is not None:
                return Actor(PLATFORM, record.name, ActorKind.AGENT, record.display_name or record.name, roles)
            return Actor(PLATFORM, str(user.id), ActorKind.BOT, user.display_name, roles)
        return Actor(PLATFORM, str(user.id), ActorKind.HUMAN, user.display_name, roles)

    async def _author_of(self, message: discord.Message) -> Actor:
        """The author of any message, including one Steward posted for an agent (a reply's parent)."""
        if message.webhook_id is not None and await self._is_own_webhook(message):
            assert self.app is not None
            name = self._agent_posts.get(str(message.id))
            if name is None:
                # Posted before this process started: the webhook showed the agent's display name.
                for record in await self.app.agents.list():
                    if message.author.name in (record.display_name, record.name):
                        name = record.name
                        break
            if name is not None:
                return Actor(PLATFORM, name, ActorKind.AGENT, message.author.name)
        return await self.actor_of(message.author, webhook_id=message.webhook_id)

    async def _is_own_webhook(self, message: discord.Message) -> bool:
        webhook_id = message.webhook_id
        if webhook_id is None:
            return False
        if self.client is not None and webhook_id == self.client.application_id:
            return True  # interaction follow-ups come from the application's own webhook
        if webhook_id in self._own_webhook_ids:
            return True
        channel = message.channel
        parent_id = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else channel.id
        if parent_id is None or parent_id in self._scanned_channels:
            return False
        self._scanned_channels.add(parent_id)
        try:
            await self._webhook_for_channel(parent_id, create=False)
        except discord.HTTPException as exc:
            log.warning("discord_webhook_scan_failed", channel=str(parent_id), error=exc.text, status=exc.status)
        except _BadInput as exc:
            log.warning("discord_webhook_scan_failed", channel=str(parent_id), error=str(exc))
        return webhook_id in self._own_webhook_ids

    # --- events in -------------------------------------------------------------------------------------------------

    async def _publish(self, event: Event) -> None:
        assert self.app is not None
        self._count_event(type(event).__name__)
        await self.app.publish(event)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id == self._me:
            self._count_ignored("own_message")
            return
        if message.webhook_id is not None and await self._is_own_webhook(message):
            self._count_ignored("own_webhook")
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            self._count_ignored("system_message")
            return
        author = await self.actor_of(message.author, webhook_id=message.webhook_id)
        reply_to = reply_author = None
        reference = message.reference
        if reference is not None and reference.message_id is not None:
            reply_to = str(reference.message_id)
            if isinstance(reference.resolved, discord.Message):
                reply_author = await self._author_of(reference.resolved)
        thread_id = str(message.channel.id) if isinstance(message.channel, discord.Thread) else None
        await self._publish(
            MessageCreated(
                at=message.created_at.timestamp(),
                room=self.room_of(message.guild.id if message.guild else None, message.channel.id),
                message_id=str(message.id),
                author=author,
                text=message.content,
                reply_to=reply_to,
                reply_to_author=reply_author,
                thread_id=thread_id,
                mentions=tuple(str(u.id) for u in message.mentions),
            )
        )

    async def on_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        message = payload.message
        if message.author.id == self._me:
            self._count_ignored("own_message")
            return
        if message.webhook_id is not None and await self._is_own_webhook(message):
            self._count_ignored("own_webhook")
            return
        if "content" not in payload.data or (
            payload.cached_message is not None and payload.cached_message.content == message.content
        ):
            self._count_ignored("edit_without_text_change")  # link previews and pins update messages too
            return
        await self._publish(
            MessageEdited(
                room=self.room_of(payload.guild_id, payload.channel_id),
                message_id=str(payload.message_id),
                author=await self.actor_of(message.author, webhook_id=message.webhook_id),
                text=message.content,
            )
        )

    async def on_message_delete(self, guild_id: int | None, channel_id: int, message_ids: Sequence[int]) -> None:
        room = self.room_of(guild_id, channel_id)
        for message_id in message_ids:
            await self._publish(MessageDeleted(room=room, message_id=str(message_id)))

    async def on_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.user_id == self._me:
            self._count_ignored("own_reaction")
            return
        user: discord.abc.User | discord.Member | None = payload.member
        if user is None and self.client is not None:
            user = self.client.get_user(payload.user_id)
        actor = (
            await self.actor_of(user)
            if user is not None
            else Actor(PLATFORM, str(payload.user_id), ActorKind.HUMAN, str(payload.user_id))
        )
        message_author = None
        if payload.message_author_id is not None:
            agent_name = self._agent_posts.get(str(payload.message_id))
            if agent_name is not None:
                message_author = Actor(PLATFORM, agent_name, ActorKind.AGENT, agent_name)
            else:
                message_author = await self._actor_by_id(payload.message_author_id)
        await self._publish(
            ReactionAdded(
                room=self.room_of(payload.guild_id, payload.channel_id),
                message_id=str(payload.message_id),
                actor=actor,
                emoji=str(payload.emoji),
                message_author=message_author,
            )
        )

    async def _actor_by_id(self, user_id: int) -> Actor:
        assert self.app is not None
        record = await self.app.agents.by_platform_user(PLATFORM, str(user_id))
        if record is not None:
            return Actor(PLATFORM, record.name, ActorKind.AGENT, record.display_name or record.name)
        user = self.client.get_user(user_id) if self.client is not None else None
        if user is not None:
            return await self.actor_of(user)
        return Actor(PLATFORM, str(user_id), ActorKind.HUMAN, str(user_id))

    @staticmethod
    def _guild_room(guild: discord.Guild) -> Room:
        # Joins and leaves belong to the server; its system channel (where Discord greets) is their room.
        channel = guild.system_channel
        return Room(PLATFORM, str(guild.id), str(channel.id) if channel else "")

    async def on_member_join(self, member: discord.Member) -> None:
        await self._publish(MemberJoined(room=self._guild_room(member.guild), member=await self.actor_of(member)))

    async def on_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        guild = self.client.get_guild(payload.guild_id) if self.client is not None else None
        room = self._guild_room(guild) if guild is not None else Room(PLATFORM, str(payload.guild_id), "")
        await self._publish(MemberLeft(room=room, member=await self.actor_of(payload.user)))

    # --- buttons and commands --------------------------------------------------------------------------------------

    def _interaction_actor(self, interaction: discord.Interaction) -> Actor:
        user = interaction.user
        return Actor(PLATFORM, str(user.id), ActorKind.HUMAN, user.display_name, self._roles(user))

    async def on_button(self, interaction: discord.Interaction, custom_id: str) -> None:
        """A click on a Steward button: acknowledge it at once, then let the owning cog decide and answer."""
        try:
            await interaction.response.defer(ephemeral=True)
        except discord.HTTPException as exc:
            # Too late (the 3 seconds passed) or already answered: the click cannot be answered any more.
            log.warning("discord_button_defer_failed", custom_id=custom_id, status=exc.status, error=exc.text)
            self._count("steward_discord_interactions_total", "Interactions received", kind="button", outcome="late")
            return
        self._interactions.put(str(interaction.id), interaction)
        self._count("steward_discord_interactions_total", "Interactions received", kind="button", outcome="ok")
        channel_id = interaction.channel_id
        await self._publish(
            ButtonPressed(
                actor=self._interaction_actor(interaction),
                custom_id=custom_id,
                room=self.room_of(interaction.guild_id, channel_id) if channel_id else None,
                message_id=str(interaction.message.id) if interaction.message else None,
                interaction_id=str(interaction.id),
            )
        )

    def _is_admin(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            return False
        permissions = interaction.permissions
        return bool(permissions.administrator or getattr(permissions, self.settings.admin_permission))

    async def on_command(
        self, interaction: discord.Interaction, cmd: Command, values: list[str | None], *, free_text: bool
    ) -> None:
        """Run a platform-neutral command from its slash command; the reply is shown to the caller only.

        ``free_text``: the command has one ``args`` option, read like a console line (quotes group words)."""
        assert self.app is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        while values and values[-1] is None:
            values.pop()
        words = [v or "" for v in values]
        room = self.room_of(interaction.guild_id, interaction.channel_id) if interaction.channel_id else None
        is_admin = self._is_admin(interaction)
        try:
            if free_text:
                line = f"{cmd.name} {words[0] if words else ''}"
            else:
                line = shlex.join([cmd.name, *words])
            invocation = CommandInvocation.parse(
                line, actor=self._interaction_actor(interaction), room=room, is_admin=is_admin
            )
        except CommandError as exc:
            await interaction.followup.send(_clip(f"{cmd.name}: {exc}"), ephemeral=True)
            return
        reply = await self.app.commands.invoke(invocation)
        self._count(
            "steward_discord_interactions_total",
            "Interactions received",
            kind="command",
            outcome="ok" if reply.ok else "refused",
        )
        log.info("discord_command", command=cmd.name, user=invocation.actor.id, ok=reply.ok, admin=is_admin)
        for chunk in _chunks(reply.text):
            await interaction.followup.send(chunk, ephemeral=True)
        if reply.actions:
            await self.app.router.perform_all(reply.actions)

    async def on_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("discord_command_failed", command=getattr(interaction.command, "name", None), error=repr(error))
        self._count("steward_discord_interactions_total", "Interactions received", kind="command", outcome="error")
        text = "That command failed inside Steward; the error was logged."
        if isinstance(error, app_commands.CheckFailure):
            text = "You may not use this command here."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            log.warning("discord_command_error_unanswered", interaction=str(interaction.id))

    # --- actions out -----------------------------------------------------------------------------------------------

    async def perform(self, action: Action) -> ActionResult:
        name = type(action).__name__
        reason: str
        try:
            if self.client is None or self.client.is_closed():
                return self._failed(name, "not_connected", "the Discord adapter is not connected")
            return await super().perform(action)
        except discord.Forbidden as exc:
            kind, reason = "forbidden", f"Discord refused ({exc.code}): {exc.text or 'missing permissions'}"
        except discord.NotFound as exc:
            kind, reason = "not_found", f"not found on Discord ({exc.code}): {exc.text or 'unknown'}"
        except discord.HTTPException as exc:
            kind, reason = "http", f"Discord error {exc.status} ({exc.code}): {exc.text}"
        except (_BadInput, ValueError) as exc:
            kind, reason = "invalid", str(exc)  # e.g. a button id Discord could not route back
        except Exception as exc:
            log.exception("discord_action_crashed", action=name)
            kind, reason = "error", f"{type(exc).__name__}: {exc}"
        return self._failed(name, kind, reason)

    def _failed(self, action: str, kind: str, reason: str) -> ActionResult:
        log.warning("discord_action_failed", action=action, kind=kind, reason=reason)
        self._count("steward_discord_action_errors_total", "Discord actions that failed", action=action, reason=kind)
        return ActionResult.failed(reason)

    def _messageable(self, channel_id: int, guild_id: int | None = None) -> discord.PartialMessageable:
        assert self.client is not None
        return self.client.get_partial_messageable(channel_id, guild_id=guild_id)

    async def _send(
        self,
        channel: discord.abc.Messageable,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        reply_to: int | None = None,
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> discord.Message:
        view = build_view(buttons)
        kwargs: dict[str, Any] = {}
        if view is not None:
            kwargs["view"] = view
        if reply_to is not None:
            kwargs["reference"] = discord.MessageReference(
                message_id=reply_to,
                channel_id=channel.id,
                fail_if_not_exists=False,  # type: ignore[attr-defined]
            )
        if allowed_mentions is not None:
            kwargs["allowed_mentions"] = allowed_mentions
        return await channel.send(_clip(text), **kwargs)

    @performs(SendMessage)
    async def _send_message(self, action: SendMessage) -> ActionResult:
        target = action.thread_id or action.room.channel
        guild_id = _snowflake(action.room.server, "server id") if action.room.server else None
        channel = self._messageable(_snowflake(target, "channel id"), guild_id)
        reply_to = _snowflake(action.reply_to, "message id") if action.reply_to else None
        message = await self._send(channel, action.text, buttons=action.buttons, reply_to=reply_to)
        return ActionResult(ok=True, message_id=str(message.id), channel_id=str(message.channel.id))

    async def _channel(self, channel_id: int) -> discord.abc.GuildChannel | discord.Thread | discord.abc.PrivateChannel:
        assert self.client is not None
        channel = self.client.get_channel(channel_id)
        if channel is None:
            channel = await self.client.fetch_channel(channel_id)
        return channel

    async def _webhook_for_channel(self, channel_id: int, *, create: bool = True) -> discord.Webhook | None:
        """Steward's webhook in a channel: found among the channel's webhooks or created once, then cached."""
        cached = self._webhooks.get(channel_id)
        if cached is not None:
            return cached
        lock = self._webhook_locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            cached = self._webhooks.get(channel_id)
            if cached is not None:
                return cached
            channel = await self._channel(channel_id)
            if not isinstance(
                channel, (discord.TextChannel, discord.ForumChannel, discord.VoiceChannel, discord.StageChannel)
            ):
                raise _BadInput(f"channel {channel_id} cannot have webhooks ({type(channel).__name__})")
            me = self._me
            for webhook in await channel.webhooks():
                if webhook.user is not None and webhook.user.id == me and webhook.token:
                    self._own_webhook_ids.add(webhook.id)
                    if webhook.name == self.settings.webhook_name and channel_id not in self._webhooks:
                        self._webhooks[channel_id] = webhook
            self._scanned_channels.add(channel_id)
            found = self._webhooks.get(channel_id)
            if found is None and create:
                found = await channel.create_webhook(name=self.settings.webhook_name, reason="Steward posts for agents")
                self._webhooks[channel_id] = found
                self._own_webhook_ids.add(found.id)
                log.info("discord_webhook_created", channel=str(channel_id), webhook=str(found.id))
            return found

    @performs(PostAsAgent)
    async def _post_as_agent(self, action: PostAsAgent) -> ActionResult:
        channel_id = _snowflake(action.thread_id or action.room.channel, "channel id")
        channel = await self._channel(channel_id)
        thread: discord.abc.Snowflake | None = None
        parent_id = channel_id
        if isinstance(channel, discord.Thread):
            thread, parent_id = channel, channel.parent_id
        text = action.text
        if action.reply_to:
            # Webhook messages cannot be replies; a link to the parent keeps the conversation readable.
            guild = action.room.server or "@me"
            link = f"https://discord.com/channels/{guild}/{channel_id}/{_snowflake(action.reply_to, 'message id')}"
            text = f"-# ↪ {link}\n{text}"
        for attempt in (1, 2):
            webhook = await self._webhook_for_channel(parent_id)
            assert webhook is not None
            try:
                message = await webhook.send(
                    _clip(text),
                    username=action.agent.shown_name[:80],
                    avatar_url=action.agent.avatar_url or discord.utils.MISSING,
                    thread=thread or discord.utils.MISSING,
                    # An agent can never ping @everyone or a role, whatever its text says.
                    allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
                    wait=True,
                )
            except discord.NotFound:
                # Someone deleted the webhook: forget it and make a new one, once.
                self._webhooks.pop(parent_id, None)
                if attempt == 2:
                    raise
                log.warning("discord_webhook_gone", channel=str(parent_id), webhook=str(webhook.id))
                continue
            self._agent_posts.set(str(message.id), action.agent.name)
            return ActionResult(ok=True, message_id=str(message.id), channel_id=str(channel_id))
        raise AssertionError("unreachable")

    @performs(DeleteMessage)
    async def _delete_message(self, action: DeleteMessage) -> ActionResult:
        assert self.client is not None
        channel_id = _snowflake(action.room.channel, "channel id")
        message_id = _snowflake(action.message_id, "message id")
        await self.client.http.delete_message(channel_id, message_id, reason=action.reason[:512] or None)
        return ActionResult(ok=True, message_id=str(message_id), channel_id=str(channel_id))

    @performs(TimeoutMember)
    async def _timeout_member(self, action: TimeoutMember) -> ActionResult:
        assert self.client is not None
        if not action.room.server:
            raise _BadInput("a timeout needs a server; this room is a direct message")
        if not 0 <= action.seconds <= MAX_TIMEOUT_SECONDS:
            raise _BadInput(f"a timeout lasts 0..{MAX_TIMEOUT_SECONDS} seconds, got {action.seconds}")
        guild_id = _snowflake(action.room.server, "server id")
        user_id = _snowflake(action.user_id, "user id")
        until = (discord.utils.utcnow() + dt.timedelta(seconds=action.seconds)).isoformat() if action.seconds else None
        await self.client.http.edit_member(
            guild_id, user_id, reason=action.reason[:512] or None, communication_disabled_until=until
        )
        return ActionResult(ok=True)

    async def _dm(
        self, user_id_text: str, text: str, buttons: tuple[Button, ...], fallback_room: Room | None, what: str
    ) -> ActionResult:
        assert self.client is not None
        user_id = _snowflake(user_id_text, "user id")
        build_view(buttons)  # a bad button fails the action before anything is sent
        try:
            channel = await self.client.create_dm(discord.Object(id=user_id))
            message = await self._send(channel, text, buttons=buttons)
            return ActionResult(ok=True, message_id=str(message.id), channel_id=str(message.channel.id))
        except discord.Forbidden as exc:
            # 50007: the user does not accept DMs from this bot (privacy settings, or no shared server).
            dm_error = f"{exc.code}: {exc.text}"
        room = fallback_room or await self._fallback_room_for(user_id)
        if room is None:
            self._count("steward_discord_dm_fallbacks_total", "DMs that failed and where they went", outcome="lost")
            log.warning("discord_dm_failed_no_fallback", action=what, user=str(user_id), error=dm_error)
            return ActionResult.failed(
                f"cannot DM user {user_id} ({dm_error}) and no fallback channel is configured for a shared server"
            )
        channel_id = _snowflake(room.channel, "fallback channel id")
        guild_id = _snowflake(room.server, "server id") if room.server else None
        message = await self._send(
            self._messageable(channel_id, guild_id),
            f"<@{user_id}> {text}",
            buttons=buttons,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(id=user_id)]),
        )
        self._count("steward_discord_dm_fallbacks_total", "DMs that failed and where they went", outcome="fallback")
        log.warning(
            "discord_dm_failed_fallback",
            action=what,
            user=str(user_id),
            error=dm_error,
            channel=str(channel_id),
            message_id=str(message.id),
        )
        return ActionResult(ok=True, message_id=str(message.id), channel_id=str(channel_id), note=DM_FALLBACK_NOTE)

    async def _fallback_room_for(self, user_id: int) -> Room | None:
        """The configured fallback channel of a server the user shares with the bot."""
        assert self.client is not None
        configured = self.settings.dm_fallback_channels
        if not configured:
            return None
        candidates = []
        for guild_id, channel_id in configured.items():
            guild = self.client.get_guild(int(guild_id))
            if guild is not None and guild.get_member(user_id) is not None:
                return Room(PLATFORM, guild_id, channel_id)
            candidates.append((guild_id, channel_id))
        for guild_id, channel_id in candidates:
            try:
                await self.client.http.get_member(int(guild_id), user_id)
            except discord.HTTPException:
                continue
            return Room(PLATFORM, guild_id, channel_id)
        return None

    @performs(SendDirectMessage)
    async def _send_direct_message(self, action: SendDirectMessage) -> ActionResult:
        return await self._dm(action.user_id, action.text, action.buttons, action.fallback_room, "SendDirectMessage")

    @performs(SendApprovalPrompt)
    async def _send_approval_prompt(self, action: SendApprovalPrompt) -> ActionResult:
        return await self._dm(action.user_id, action.text, action.buttons, action.fallback_room, "SendApprovalPrompt")

    @performs(UpdatePrompt)
    async def _update_prompt(self, action: UpdatePrompt) -> ActionResult:
        channel_id = _snowflake(action.channel_id, "channel id")
        message_id = _snowflake(action.message_id, "message id")
        partial = self._messageable(channel_id).get_partial_message(message_id)
        await partial.edit(content=_clip(action.text), view=None)
        return ActionResult(ok=True, message_id=str(message_id), channel_id=str(channel_id))

    @performs(AnswerInteraction)
    async def _answer_interaction(self, action: AnswerInteraction) -> ActionResult:
        interaction = self._interactions.get(action.interaction_id)
        if interaction is None:
            raise _BadInput(
                f"interaction {action.interaction_id} is unknown or expired (answers must come within "
                f"{int(self.settings.interaction_ttl)}s)"
            )
        if interaction.response.is_done():
            message = await interaction.followup.send(_clip(action.text), ephemeral=action.ephemeral, wait=True)
            return ActionResult(ok=True, message_id=str(message.id), channel_id=str(interaction.channel_id))
        await interaction.response.send_message(_clip(action.text), ephemeral=action.ephemeral)
        return ActionResult(ok=True, channel_id=str(interaction.channel_id))

    async def _agent_overwrite(self, room: Room, agent_user: str | None, *, allow: bool, reason: str) -> ActionResult:
        assert self.client is not None
        if agent_user is None:
            # A managed agent speaks only through Steward's webhook: there is no Discord user to let in or out.
            return ActionResult(ok=True, channel_id=room.channel, note="no_platform_user")
        channel_id = _snowflake(room.channel, "channel id")
        user_id = _snowflake(agent_user, "agent user id")
        value = str(AGENT_CHANNEL_PERMISSIONS.value)
        await self.client.http.edit_channel_permissions(
            channel_id,
            user_id,
            allow=value if allow else "0",
            deny="0" if allow else value,
            type=1,  # a member overwrite
            reason=reason[:512] or None,
        )
        return ActionResult(ok=True, channel_id=str(channel_id))

    @performs(AddAgentToChannel)
    async def _add_agent(self, action: AddAgentToChannel) -> ActionResult:
        return await self._agent_overwrite(
            action.room, action.agent.platform_user_id, allow=True, reason=f"Steward: agent {action.agent.name} joins"
        )

    @performs(RemoveAgentFromChannel)
    async def _remove_agent(self, action: RemoveAgentFromChannel) -> ActionResult:
        reason = f"Steward: agent {action.agent.name} leaves" + (f" ({action.reason})" if action.reason else "")
        return await self._agent_overwrite(action.room, action.agent.platform_user_id, allow=False, reason=reason)
