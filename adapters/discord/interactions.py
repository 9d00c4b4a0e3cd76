"""Button clicks and slash commands: acknowledged at once (Discord's 3-second rule), then turned into a
``ButtonPressed`` event or a platform-neutral command run; clicks wait, bounded and expiring, for the owning cog's
answer (an ``AnswerInteraction`` naming the interaction id). Discord's interaction tokens live 15 minutes."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from typing import TypeVar

import discord
from cachetools import TTLCache
from discord import app_commands

from adapters.discord.common import Counters, Host, app_of, chunks, clip, room_of
from adapters.discord.config import DiscordSettings
from adapters.discord.identities import Identities
from bot.commands import Command, CommandError, CommandInvocation
from bot.events import ButtonPressed
from bot.logging import get_logger

log = get_logger("steward.discord")

T = TypeVar("T")
Interaction = discord.Interaction[discord.Client]


class ExpiringStore(TTLCache[str, T]):
    """Entries forgotten ``ttl`` seconds after they were put, at most ``max_size`` of them (the least recently
    used go first); ``evicted`` counts those pushed out by the size bound before they expired."""

    def __init__(self, *, ttl: float, max_size: int, now: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_size < 1:
            raise ValueError("an expiring store needs a positive ttl and room for at least one entry")
        super().__init__(maxsize=max_size, ttl=ttl, timer=now)
        self.evicted = 0

    def popitem(self) -> tuple[str, T]:
        item = super().popitem()
        self.evicted += 1
        return item


class Interactions:
    """Answers button clicks and runs slash commands for the adapter."""

    def __init__(self, host: Host, settings: DiscordSettings, counters: Counters) -> None:
        self._host = host
        self._settings = settings
        self._counters = counters
        self.pending: ExpiringStore[Interaction] = ExpiringStore(
            ttl=settings.interaction_ttl, max_size=settings.max_pending_interactions
        )

    async def on_button(self, interaction: Interaction, custom_id: str) -> None:
        """A click on a Steward button: acknowledge it at once, then let the owning cog decide and answer."""
        try:
            await interaction.response.defer(ephemeral=True)
        except discord.HTTPException as exc:
            # Too late (the 3 seconds passed) or already answered: the click cannot be answered any more.
            log.warning("discord_button_defer_failed", custom_id=custom_id, status=exc.status, error=exc.text)
            self._counters.interaction("button", "late")
            return
        self.pending[str(interaction.id)] = interaction
        self._counters.interaction("button", "ok")
        channel_id = interaction.channel_id
        self._counters.event("ButtonPressed")
        await app_of(self._host).publish(
            ButtonPressed(
                actor=Identities.of_interaction(interaction),
                custom_id=custom_id,
                room=room_of(interaction.guild_id, channel_id) if channel_id else None,
                message_id=str(interaction.message.id) if interaction.message else None,
                interaction_id=str(interaction.id),
            )
        )

    def _is_admin(self, interaction: Interaction) -> bool:
        if interaction.guild_id is None:
            return False
        permissions = interaction.permissions
        return bool(permissions.administrator or getattr(permissions, self._settings.admin_permission))

    async def on_command(
        self, interaction: Interaction, cmd: Command, values: list[str | None], *, free_text: bool
    ) -> None:
        """Run a platform-neutral command from its slash command; the reply is shown to the caller only.

        ``free_text``: the command has one ``args`` option, read like a console line (quotes group words)."""
        app = app_of(self._host)
        await interaction.response.defer(ephemeral=True, thinking=True)
        is_admin = self._is_admin(interaction)
        try:
            invocation = CommandInvocation.parse(
                command_line(cmd.name, values, free_text=free_text),
                actor=Identities.of_interaction(interaction),
                room=room_of(interaction.guild_id, interaction.channel_id) if interaction.channel_id else None,
                is_admin=is_admin,
            )
        except CommandError as exc:
            await interaction.followup.send(clip(f"{cmd.name}: {exc}"), ephemeral=True)
            return
        reply = await app.commands.invoke(invocation)
        self._counters.interaction("command", "ok" if reply.ok else "refused")
        log.info("discord_command", command=cmd.name, user=invocation.actor.id, ok=reply.ok, admin=is_admin)
        for chunk in chunks(reply.text):
            await interaction.followup.send(chunk, ephemeral=True)
        if reply.actions:
            await app.router.perform_all(reply.actions)

    async def on_command_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        command = interaction.command
        log.error("discord_command_failed", command=command.name if command else None, error=repr(error))
        self._counters.interaction("command", "error")
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


def command_line(name: str, values: list[str | None], *, free_text: bool) -> str:
    """The console line a slash command's option values stand for (trailing empty options dropped)."""
    values = list(values)
    while values and values[-1] is None:
        values.pop()
    words = [v or "" for v in values]
    if free_text:
        return f"{name} {words[0] if words else ''}"
    return shlex.join([name, *words])
