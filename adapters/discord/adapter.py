"""The Discord adapter: its parts put together, and its life: connect, stay connected, report health, stop.

Gateway events are queued and normalised by ``adapters.discord.inbound``; actions are performed by
``adapters.discord.outbound``; clicks and slash commands are handled by ``adapters.discord.interactions``; the
discord.py classes are in ``adapters.discord.client``; what ends the session and what it survives is in
``adapters.discord.supervision``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.channels import ChannelLookup
from adapters.discord.client import (
    ClientOptions,
    StewardButton,
    StewardClient,
    StewardCommandTree,
    StewardShardedClient,
)
from adapters.discord.commands import Interaction, build_command_groups
from adapters.discord.common import Counters, DiscordStartError, app_of
from adapters.discord.config import DiscordSettings
from adapters.discord.identities import Identities
from adapters.discord.inbound import Inbound, InboundHandler, InboundQueue
from adapters.discord.interactions import Interactions
from adapters.discord.outbound import DiscordPerformers
from adapters.discord.supervision import ConnectionWatch, GatewayGuard, fatal_of
from adapters.discord.webhooks import Webhooks
from bot.commands import Command
from bot.errors import AdapterFatal, ExitCode
from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.core import Core

log = get_logger("steward.discord")

__all__ = ["DiscordAdapter", "DiscordStartError"]

# Nobody gets pinged by accident: @everyone and role pings are off unless an action asks otherwise.
DEFAULT_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=True)
INBOUND_DRAIN_SECONDS = 5.0


class DiscordAdapter(DiscordPerformers, ChannelLookup):
    def __init__(self, settings: DiscordSettings) -> None:
        super().__init__()
        self.settings = settings
        self.client: discord.Client | None = None
        self.tree: StewardCommandTree | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._gateway_counts: dict[str, int] = {}
        self.counters = Counters(self)
        self.guard = GatewayGuard(self.on_payload_rejected)
        self.watch = ConnectionWatch(self.counters)
        self.webhooks = Webhooks(self, name=settings.webhook_name)
        self.identities = Identities(self, self.webhooks)
        self.interactions = Interactions(self, settings, self.counters)
        self.inbound = Inbound(self, self.identities, self.webhooks, self.counters)
        self._inbound = InboundQueue(settings.inbound_queue_size, self.counters, self.on_listener_error)
        self._inbound_worker: asyncio.Task[None] | None = None

    # --- the client ------------------------------------------------------------------------------------------------

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
        if s.api_base_url is not None:  # a local fake Discord or a proxy; discord.py reads these class-wide
            discord.http.Route.BASE = s.api_base_url
        if s.gateway_url is not None:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(s.gateway_url)
        intents = self._intents()
        options: ClientOptions = {
            "intents": intents,
            "guild_ready_timeout": s.guild_ready_timeout,
            "chunk_guilds_at_startup": s.chunk_guilds_at_startup,
            "allowed_mentions": DEFAULT_MENTIONS,
            "member_cache_flags": discord.MemberCacheFlags.from_intents(intents),
        }
        if s.application_id is not None:
            options["application_id"] = int(s.application_id)
        client: discord.Client
        if not s.sharded:
            client = StewardClient(self, **options)
        else:
            if s.shard_count is not None:
                options["shard_count"] = s.shard_count
            shard_ids = list(s.shard_ids) if s.shard_ids is not None else None
            client = StewardShardedClient(self, shard_ids=shard_ids, **options)
        self.tree = StewardCommandTree(client)
        return client

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def setup(self, app: Core) -> None:
        await super().setup(app)
        if not self.settings.configured:
            raise DiscordStartError(
                "the Discord adapter needs a bot token: set STEWARD_DISCORD__TOKEN", code=ExitCode.CONFIG
            )
        self.client = self._make_client()

    async def start(self, app: Core) -> None:
        self.app = app
        if self.client is None:
            await self.setup(app)
        client, token = self.client, self.settings.token
        assert client is not None and token is not None  # setup made the client; it needs a token
        if self._inbound_worker is None or self._inbound_worker.done():
            self._inbound_worker = asyncio.create_task(self._drain_inbound(), name="steward-discord-inbound")
        await self._login(client, token.get_secret_value())
        runner = self._runner = asyncio.create_task(self._run_gateway(client), name="steward-discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready())
        done, _pending = await asyncio.wait(
            {ready, runner}, timeout=self.settings.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            error = runner.exception() if runner in done and not runner.cancelled() else None
            await self.stop()
            if isinstance(error, AdapterFatal):
                raise error  # refused for good while connecting: bad token, disallowed intents ...
            raise DiscordStartError(f"the gateway was not ready after {self.settings.ready_timeout}s")
        user = client.user
        log.info(
            "discord_ready",
            user_id=str(user.id) if user else None,
            guilds=len(client.guilds),
            shards=self._shard_ids(),
            application_id=str(client.application_id),
        )

    async def _login(self, client: discord.Client, token: str) -> None:
        try:
            await client.login(token)
        except discord.LoginFailure as exc:  # 401 on the first REST call
            await self.stop()
            fatal = self.watch.fatal = fatal_of(exc)
            assert fatal is not None
            log.error("discord_session_ended", problem=fatal.problem, exit_code=int(fatal.code))
            raise fatal from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            await self.stop()
            raise DiscordStartError(
                f"could not log in to Discord: {exc}",
                hint="check this host's network, DNS and proxy, or [discord] api_base_url; a supervisor may retry",
            ) from None

    async def _run_gateway(self, client: discord.Client) -> None:
        """The gateway connection: discord.py reconnects after a transient close (with backoff when Discord cannot
        be reached); a close it does not reconnect after ends it with ``AdapterFatal``."""
        try:
            await client.connect(reconnect=True)
        except Exception as exc:
            if self._stopping:
                return
            fatal = fatal_of(exc)
            if fatal is None:  # nothing discord.py or Discord expects: a bug; the traceback is logged
                log.exception("discord_gateway_crashed")
                fatal = AdapterFatal(
                    "discord",
                    f"the gateway connection ended: {exc!r}",
                    hint="the log has the traceback; restarting steward connects anew",
                    code=ExitCode.INTERNAL,
                )
            self.watch.fatal = fatal
            log.error("discord_session_ended", problem=fatal.problem, exit_code=int(fatal.code))
            raise fatal from exc

    async def _run_command(
        self, interaction: Interaction, cmd: Command, values: list[str | None], free_text: bool
    ) -> None:
        await self.interactions.on_command(interaction, cmd, values, free_text=free_text)

    async def on_setup_hook(self) -> None:
        """Runs inside ``client.login``: register the button and the slash commands before any event arrives."""
        client, tree = self.client, self.tree
        assert client is not None and tree is not None  # made together by _make_client
        client.add_dynamic_items(StewardButton)
        groups = build_command_groups(
            app_of(self).commands.all(),
            self._run_command,
            group_name=self.settings.command_name,
            admin_permission=self.settings.admin_permission,
        )
        for group in groups:
            tree.add_command(group)
        if self.settings.sync_commands:
            await self._sync_commands(tree)

    async def _sync_commands(self, tree: StewardCommandTree) -> None:
        guild_id = self.settings.sync_commands_guild
        try:
            if guild_id is not None:
                guild = discord.Object(id=int(guild_id))
                tree.copy_global_to(guild=guild)
                synced = await tree.sync(guild=guild)
            else:
                synced = await tree.sync()
        except discord.HTTPException as exc:
            # Commands are a convenience; moderation and prompts work without them.
            log.error("discord_command_sync_failed", status=exc.status, code=exc.code, error=exc.text)
            self.counters.count("steward_discord_command_sync_failures_total", "Slash command syncs Discord refused")
            return
        log.info("discord_commands_synced", commands=[c.name for c in synced], guild=guild_id)

    async def stop(self) -> None:
        self._stopping = True
        client, runner, worker = self.client, self._runner, self._inbound_worker
        if client is not None and not client.is_closed():
            await client.close()
        if worker is not None and not worker.done():
            # What already arrived is still published (the bus drains after the adapters stop).
            try:
                await asyncio.wait_for(self._inbound.join(), INBOUND_DRAIN_SECONDS)
            except TimeoutError:
                log.warning("discord_inbound_not_drained", pending=self._inbound.qsize())
        for task in (runner, worker):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass

    async def wait_closed(self) -> None:
        """Returns when the gateway connection ended after ``stop()``; raises ``AdapterFatal`` when Discord ended
        the session for good (the app then stops and ``steward run`` exits with its code)."""
        runner = self._runner
        if runner is None:
            await super().wait_closed()
            return
        try:
            await asyncio.shield(runner)
        except asyncio.CancelledError:
            if not runner.cancelled():
                raise

    # --- events in -------------------------------------------------------------------------------------------------

    def receive(self, kind: str, handler: InboundHandler, *args: object) -> None:
        """Queue a gateway event for normalisation, in arrival order; a full queue drops it, logged and counted."""
        self._inbound.put(kind, handler, args)

    async def _drain_inbound(self) -> None:
        await self._inbound.drain()

    def on_gateway(self, what: str) -> None:
        """A connection event of the client (``connect``, ``ready``, ``resumed``, ``disconnect``)."""
        self._gateway_counts[what] = self._gateway_counts.get(what, 0) + 1
        self.counters.count("steward_discord_gateway_total", "Gateway connection events", event=what)
        if not isinstance(self.client, discord.AutoShardedClient):
            self.on_shard(what, None)  # a sharded client reports each shard (``on_shard``)

    def on_shard(self, what: str, shard: int | None) -> None:
        """A connection event of one shard (``None``: the one connection of an unsharded client)."""
        if self._stopping or what == "connect":
            return
        if what == "disconnect":
            if self.watch.down(shard):
                log.warning("discord_gateway_disconnected", shard=shard)
        else:
            reconnected = self.watch.up(shard)
            log.info("discord_gateway_" + what, shard=shard, reconnected=reconnected)

    def on_payload_rejected(self, event: str, error: Exception, data: object) -> None:
        """One gateway payload discord.py could not read: dropped, logged and counted; the connection goes on."""
        fields = sorted(str(k) for k in data)[:30] if isinstance(data, dict) else type(data).__name__
        log.warning(
            "gateway_payload_rejected", event=event, error=f"{type(error).__name__}: {error}"[:300], fields=fields
        )
        self.counters.count(
            "steward_gateway_payload_errors_total",
            "Gateway payloads dropped: the platform library could not read them",
            event=event,
        )

    def on_listener_error(self, event_method: str) -> None:
        log.exception("discord_listener_failed", handler=event_method)
        self.counters.count(
            "steward_discord_listener_errors_total", "Discord event handlers that raised", event=event_method
        )

    # --- health ----------------------------------------------------------------------------------------------------

    def _shard_ids(self) -> list[int] | None:
        client = self.client
        if isinstance(client, discord.AutoShardedClient):
            return sorted(client.shards)
        return None

    def _down_reason(self) -> str | None:
        """Why the adapter is not connected, or None when it is."""
        client = self.client
        if self.watch.fatal is not None:
            return self.watch.fatal.problem
        if client is None:
            return "not started"
        if client.is_closed():
            return "stopped" if self._stopping else "the gateway connection is closed"
        if not client.is_ready():
            return "connecting to the gateway"
        lost = self.watch.reason()
        if lost is not None:
            return lost
        if isinstance(client, discord.AutoShardedClient):
            closed = sorted(i for i, shard in client.shards.items() if shard.is_closed())
            if closed or not client.shards:
                return f"shards {closed} are not connected"
        return None

    def health(self) -> dict[str, Any]:
        client = self.client
        reason = self._down_reason()
        latency = client.latency if client is not None and reason is None else None
        return {
            "up": reason is None,
            **({"reason": reason} if reason is not None else {}),
            "last_event_age_s": self.guard.last_frame_age(),
            "disconnects": self.watch.disconnects,
            "reconnects": self.watch.reconnects,
            "user_id": str(client.user.id) if client is not None and client.user else None,
            "guilds": len(client.guilds) if client is not None else 0,
            "latency_ms": round(latency * 1000, 1) if latency is not None and latency != float("inf") else None,
            "shards": self._shard_ids(),
            "gateway": dict(self._gateway_counts),
            "pending_interactions": len(self.interactions.pending),
            "inbound_pending": self._inbound.qsize(),
        }
