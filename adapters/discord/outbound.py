"""Core actions out: each action the Discord adapter performs, through discord.py.

A Discord error (Forbidden, NotFound, any HTTP error) or an action naming something Discord cannot have becomes a
failed ``ActionResult`` with the reason, logged and counted; nothing raises out of ``perform``. discord.py's HTTP
client does the rate limiting (it waits on 429s and per-route buckets).
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import discord

from adapters.discord.client import build_view
from adapters.discord.common import (
    DM_FALLBACK_NOTE,
    PLATFORM,
    BadInput,
    Counters,
    client_of,
    clip,
    snowflake,
)
from adapters.discord.config import DiscordSettings
from adapters.discord.identities import Identities
from adapters.discord.interactions import Interactions
from adapters.discord.webhooks import Webhooks
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
from bot.logging import get_logger
from domain import Room

log = get_logger("steward.discord")

MAX_TIMEOUT_SECONDS = 28 * 24 * 3600  # Discord's longest timeout
MAX_REASON = 512  # the audit log reason
# What an agent may be given in a channel, and what removing it takes away.
AGENT_CHANNEL_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True, read_message_history=True
)
# Nobody is pinged by accident; an agent can never ping @everyone or a role, whatever its text says.
AGENT_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True)


class _SendOptions(TypedDict, total=False):
    view: discord.ui.View
    reference: discord.MessageReference
    allowed_mentions: discord.AllowedMentions


MISSING_PERMISSIONS = 50013
# What an operator changes when Discord answers an action with 50013 Missing Permissions.
PERMISSION_FIXES = {
    "DeleteMessage": "Discord refuses to delete people's messages: give Steward's role Manage Messages in the channel",
    "TimeoutMember": "Discord refuses to time members out: give Steward's role Moderate Members and place it above "
    "their roles (the server owner and administrators cannot be timed out)",
}


def _code(exc: Exception) -> str | None:
    """Discord's JSON error code (``50013``), or the HTTP status when it gave none."""
    if isinstance(exc, discord.HTTPException):
        return str(exc.code or exc.status)
    return None


def _fix(action: str, exc: Exception) -> str | None:
    if isinstance(exc, discord.Forbidden) and exc.code == MISSING_PERMISSIONS:
        return PERMISSION_FIXES.get(action)
    return None


def _failure(exc: Exception) -> tuple[str, str]:
    """The error kind (a metric label) and the reason of an action that raised."""
    if isinstance(exc, discord.Forbidden):
        return "forbidden", f"Discord refused ({exc.code}): {exc.text or 'missing permissions'}"
    if isinstance(exc, discord.NotFound):
        return "not_found", f"not found on Discord ({exc.code}): {exc.text or 'unknown'}"
    if isinstance(exc, discord.HTTPException):
        return "http", f"Discord error {exc.status} ({exc.code}): {exc.text}"
    if isinstance(exc, ValueError):  # BadInput, or e.g. a button id Discord could not route back
        return "invalid", str(exc)
    return "error", f"{type(exc).__name__}: {exc}"


class DiscordPerformers(Adapter):
    """The performers of the Discord adapter; the adapter (``adapters.discord.adapter``) sets the parts below."""

    platform = PLATFORM
    settings: DiscordSettings
    client: discord.Client | None
    counters: Counters
    webhooks: Webhooks
    identities: Identities
    interactions: Interactions

    async def perform(self, action: Action) -> ActionResult:
        name = type(action).__name__
        if self.client is None or self.client.is_closed():
            return self._failed(name, "not_connected", "the Discord adapter is not connected")
        try:
            return await super().perform(action)
        except Exception as exc:
            if not isinstance(exc, discord.HTTPException | ValueError):
                log.exception("discord_action_crashed", action=name)
            kind, reason = _failure(exc)
            return self._failed(name, kind, reason, code=_code(exc), fix=_fix(name, exc))

    def _failed(
        self, action: str, kind: str, reason: str, *, code: str | None = None, fix: str | None = None
    ) -> ActionResult:
        log.warning("discord_action_failed", action=action, kind=kind, reason=reason, code=code)
        self.counters.count(
            "steward_discord_action_errors_total", "Discord actions that failed", action=action, reason=kind
        )
        return ActionResult.failed(reason, code=code or kind, fix=fix)

    def _messageable(self, channel_id: int, guild_id: int | None = None) -> discord.PartialMessageable:
        return client_of(self).get_partial_messageable(channel_id, guild_id=guild_id)

    async def _send(
        self,
        channel: discord.abc.Messageable,
        channel_id: int,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        reply_to: int | None = None,
        allowed_mentions: discord.AllowedMentions | None = None,
    ) -> discord.Message:
        options: _SendOptions = {}
        view = build_view(buttons)
        if view is not None:
            options["view"] = view
        if reply_to is not None:
            options["reference"] = discord.MessageReference(
                message_id=reply_to, channel_id=channel_id, fail_if_not_exists=False
            )
        if allowed_mentions is not None:
            options["allowed_mentions"] = allowed_mentions
        return await channel.send(clip(text), **options)

    @performs(SendMessage)
    async def _send_message(self, action: SendMessage) -> ActionResult:
        channel_id = snowflake(action.thread_id or action.room.channel, "channel id")
        guild_id = snowflake(action.room.server, "server id") if action.room.server else None
        reply_to = snowflake(action.reply_to, "message id") if action.reply_to else None
        channel = self._messageable(channel_id, guild_id)
        message = await self._send(channel, channel_id, action.text, buttons=action.buttons, reply_to=reply_to)
        return ActionResult(ok=True, message_id=str(message.id), channel_id=str(message.channel.id))

    @performs(PostAsAgent)
    async def _post_as_agent(self, action: PostAsAgent) -> ActionResult:
        channel_id = snowflake(action.thread_id or action.room.channel, "channel id")
        channel = await self.webhooks.channel(channel_id)
        thread = channel if isinstance(channel, discord.Thread) else None
        parent_id = channel.parent_id if isinstance(channel, discord.Thread) else channel_id
        text = action.text
        if action.reply_to:
            # Webhook messages cannot be replies; a link to the parent keeps the conversation readable.
            guild = action.room.server or "@me"
            link = f"https://discord.com/channels/{guild}/{channel_id}/{snowflake(action.reply_to, 'message id')}"
            text = f"-# ↪ {link}\n{text}"
        webhook = await self._webhook(parent_id)
        try:
            message = await self._webhook_send(webhook, thread, text, action)
        except discord.NotFound:
            # Someone deleted the webhook: forget it and make a new one, once.
            self.webhooks.forget(parent_id)
            log.warning("discord_webhook_gone", channel=str(parent_id), webhook=str(webhook.id))
            message = await self._webhook_send(await self._webhook(parent_id), thread, text, action)
        self.identities.posted_for(message.id, action.agent.name)
        return ActionResult(ok=True, message_id=str(message.id), channel_id=str(channel_id))

    async def _webhook(self, channel_id: int) -> discord.Webhook:
        webhook = await self.webhooks.for_channel(channel_id)
        if webhook is None:
            raise RuntimeError(f"no webhook in channel {channel_id}")  # for_channel creates a missing one
        return webhook

    @staticmethod
    async def _webhook_send(
        webhook: discord.Webhook, thread: discord.Thread | None, text: str, action: PostAsAgent
    ) -> discord.WebhookMessage:
        return await webhook.send(
            clip(text),
            username=action.agent.shown_name[:80],
            avatar_url=action.agent.avatar_url or discord.utils.MISSING,
            thread=thread or discord.utils.MISSING,
            allowed_mentions=AGENT_MENTIONS,
            wait=True,
        )

    @performs(DeleteMessage)
    async def _delete_message(self, action: DeleteMessage) -> ActionResult:
        channel_id = snowflake(action.room.channel, "channel id")
        message_id = snowflake(action.message_id, "message id")
        await client_of(self).http.delete_message(channel_id, message_id, reason=action.reason[:MAX_REASON] or None)
        return ActionResult(ok=True, message_id=str(message_id), channel_id=str(channel_id))

    @performs(TimeoutMember)
    async def _timeout_member(self, action: TimeoutMember) -> ActionResult:
        if not action.room.server:
            raise BadInput("a timeout needs a server; this room is a direct message")
        if not 0 <= action.seconds <= MAX_TIMEOUT_SECONDS:
            raise BadInput(f"a timeout lasts 0..{MAX_TIMEOUT_SECONDS} seconds, got {action.seconds}")
        guild_id = snowflake(action.room.server, "server id")
        user_id = snowflake(action.user_id, "user id")
        until = (discord.utils.utcnow() + dt.timedelta(seconds=action.seconds)).isoformat() if action.seconds else None
        await client_of(self).http.edit_member(
            guild_id, user_id, reason=action.reason[:MAX_REASON] or None, communication_disabled_until=until
        )
        return ActionResult(ok=True)

    async def _dm(
        self,
        user_id_text: str,
        text: str,
        buttons: tuple[Button, ...],
        fallback_room: Room | None,
        what: str,
        prefer_server: str | None = None,
    ) -> ActionResult:
        user_id = snowflake(user_id_text, "user id")
        build_view(buttons)  # a bad button fails the action before anything is sent
        try:
            channel = await client_of(self).create_dm(discord.Object(id=user_id))
            message = await self._send(channel, channel.id, text, buttons=buttons)
            return ActionResult(ok=True, message_id=str(message.id), channel_id=str(message.channel.id))
        except discord.Forbidden as exc:
            # 50007: the user does not accept DMs from this bot (privacy settings, or no shared server).
            dm_error = f"{exc.code}: {exc.text}"
        room = fallback_room or await self._fallback_room_for(user_id, prefer_server)
        if room is None:
            self.counters.dm_fallback("lost")
            log.warning("discord_dm_failed_no_fallback", action=what, user=str(user_id), error=dm_error)
            return ActionResult.failed(
                f"cannot DM user {user_id} ({dm_error}) and no fallback channel is configured for a shared server"
            )
        channel_id = snowflake(room.channel, "fallback channel id")
        guild_id = snowflake(room.server, "server id") if room.server else None
        message = await self._send(
            self._messageable(channel_id, guild_id),
            channel_id,
            f"<@{user_id}> {text}",
            buttons=buttons,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(id=user_id)]),
        )
        self.counters.dm_fallback("fallback")
        log.warning(
            "discord_dm_failed_fallback",
            action=what,
            user=str(user_id),
            error=dm_error,
            channel=str(channel_id),
            message_id=str(message.id),
        )
        return ActionResult(ok=True, message_id=str(message.id), channel_id=str(channel_id), note=DM_FALLBACK_NOTE)

    async def _fallback_room_for(self, user_id: int, prefer_server: str | None = None) -> Room | None:
        """The configured fallback channel of a server the user shares with the bot: ``prefer_server``'s first."""
        client = client_of(self)
        configured = dict(self.settings.dm_fallback_channels)
        if prefer_server in configured:
            configured = {prefer_server: configured[prefer_server], **configured}
        for guild_id, channel_id in configured.items():
            guild = client.get_guild(int(guild_id))
            if guild is not None and guild.get_member(user_id) is not None:
                return Room(PLATFORM, guild_id, channel_id)
        for guild_id, channel_id in configured.items():
            try:
                await client.http.get_member(int(guild_id), user_id)
            except discord.HTTPException:
                continue
            return Room(PLATFORM, guild_id, channel_id)
        return None

    @performs(SendDirectMessage)
    async def _send_direct_message(self, action: SendDirectMessage) -> ActionResult:
        return await self._dm(action.user_id, action.text, action.buttons, action.fallback_room, "SendDirectMessage")

    @performs(SendApprovalPrompt)
    async def _send_approval_prompt(self, action: SendApprovalPrompt) -> ActionResult:
        return await self._dm(
            action.user_id,
            action.text,
            action.buttons,
            action.fallback_room,
            "SendApprovalPrompt",
            prefer_server=action.fallback_server,
        )

    @performs(UpdatePrompt)
    async def _update_prompt(self, action: UpdatePrompt) -> ActionResult:
        channel_id = snowflake(action.channel_id, "channel id")
        message_id = snowflake(action.message_id, "message id")
        partial = self._messageable(channel_id).get_partial_message(message_id)
        await partial.edit(content=clip(action.text), view=None)
        return ActionResult(ok=True, message_id=str(message_id), channel_id=str(channel_id))

    @performs(AnswerInteraction)
    async def _answer_interaction(self, action: AnswerInteraction) -> ActionResult:
        interaction = self.interactions.pending.get(action.interaction_id)
        if interaction is None:
            raise BadInput(
                f"interaction {action.interaction_id} is unknown or expired (answers must come within "
                f"{int(self.settings.interaction_ttl)}s)"
            )
        if interaction.response.is_done():
            message = await interaction.followup.send(clip(action.text), ephemeral=action.ephemeral, wait=True)
            return ActionResult(ok=True, message_id=str(message.id), channel_id=str(interaction.channel_id))
        await interaction.response.send_message(clip(action.text), ephemeral=action.ephemeral)
        return ActionResult(ok=True, channel_id=str(interaction.channel_id))

    async def _agent_overwrite(self, room: Room, agent_user: str | None, *, allow: bool, reason: str) -> ActionResult:
        if agent_user is None:
            # A managed agent speaks only through Steward's webhook: there is no Discord user to let in or out.
            return ActionResult(ok=True, channel_id=room.channel, note="no_platform_user")
        channel_id = snowflake(room.channel, "channel id")
        user_id = snowflake(agent_user, "agent user id")
        value = str(AGENT_CHANNEL_PERMISSIONS.value)
        await client_of(
            self
        ).http.edit_channel_permissions(
            channel_id,
            user_id,
            allow=value if allow else "0",
            deny="0" if allow else value,
            type=1,  # a member overwrite
            reason=reason[:MAX_REASON] or None,
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
