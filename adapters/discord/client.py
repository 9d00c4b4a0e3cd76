"""The discord.py side of the adapter: the client classes, the persistent button, and the slash commands.

Everything that touches discord.py's class hierarchy lives here; the client only forwards gateway events to the
adapter, which normalises them into core events.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any, Optional

import discord
from discord import app_commands

from bot.actions import Button, ButtonStyle
from bot.commands import Command
from bot.logging import get_logger

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

log = get_logger("steward.discord")

BUTTON_TEMPLATE = r"steward:(?P<kind>[a-z_]+):(?P<key>[A-Za-z0-9_.-]+):(?P<choice>[a-z_]+)"
BUTTON_PATTERN = re.compile(BUTTON_TEMPLATE)

_STYLES = {
    ButtonStyle.PRIMARY: discord.ButtonStyle.primary,
    ButtonStyle.SECONDARY: discord.ButtonStyle.secondary,
    ButtonStyle.SUCCESS: discord.ButtonStyle.success,
    ButtonStyle.DANGER: discord.ButtonStyle.danger,
}

# Discord's limits for application commands.
_SUBCOMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
MAX_SUBCOMMANDS = 25
MAX_DESCRIPTION = 100


class StewardButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_TEMPLATE):
    """Every Steward button. Its state is its custom id, so clicks are understood after a restart."""

    def __init__(self, custom_id: str, label: str = "", style: discord.ButtonStyle = discord.ButtonStyle.secondary):
        super().__init__(
            discord.ui.Button(label=label or custom_id.rsplit(":", 1)[-1], style=style, custom_id=custom_id)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> StewardButton:
        return cls(match.group(0), item.label or "", item.style)

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "steward", None)
        if adapter is None:
            return
        await adapter.on_button(interaction, self.custom_id)


def build_view(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The components for ``buttons``; a custom id Discord could not route back raises ValueError."""
    if not buttons:
        return None
    if len(buttons) > 25:
        raise ValueError(f"a message holds at most 25 buttons, got {len(buttons)}")
    view = discord.ui.View(timeout=None)
    for button in buttons:
        if not BUTTON_PATTERN.fullmatch(button.custom_id):
            raise ValueError(f"button id {button.custom_id!r} does not match {BUTTON_TEMPLATE}")
        if len(button.custom_id) > 100:
            raise ValueError(f"button id {button.custom_id!r} is longer than Discord's 100 characters")
        view.add_item(StewardButton(button.custom_id, button.label[:80], _STYLES[button.style]))
    # The dynamic item answers every click; a stopped view is not also stored in discord.py's view store (where it
    # would live forever and receive each click a second time).
    view.stop()
    return view


class _StewardEvents:
    """Gateway events forwarded to the adapter (mixed into both client classes)."""

    steward: DiscordAdapter

    async def setup_hook(self) -> None:
        await self.steward.on_setup_hook(self)  # type: ignore[arg-type]

    async def on_ready(self) -> None:
        self.steward.on_gateway("ready")

    async def on_resumed(self) -> None:
        self.steward.on_gateway("resumed")

    async def on_connect(self) -> None:
        self.steward.on_gateway("connect")

    async def on_disconnect(self) -> None:
        self.steward.on_gateway("disconnect")

    # Gateway events are queued in arrival order and normalised one at a time (see ``DiscordAdapter.receive``).
    async def on_message(self, message: discord.Message) -> None:
        self.steward.receive("message", self.steward.on_message, message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self.steward.receive("message_edit", self.steward.on_message_edit, payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        ids = (payload.message_id,)
        self.steward.receive(
            "message_delete", self.steward.on_message_delete, payload.guild_id, payload.channel_id, ids
        )

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        ids = tuple(payload.message_ids)
        self.steward.receive(
            "message_delete", self.steward.on_message_delete, payload.guild_id, payload.channel_id, ids
        )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.steward.receive("reaction", self.steward.on_reaction, payload)

    async def on_member_join(self, member: discord.Member) -> None:
        self.steward.receive("member_join", self.steward.on_member_join, member)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.steward.receive("member_remove", self.steward.on_member_remove, payload)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        self.steward.on_listener_error(event_method)


class StewardClient(_StewardEvents, discord.Client):
    pass


class StewardShardedClient(_StewardEvents, discord.AutoShardedClient):
    pass


class StewardCommandTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        adapter = getattr(interaction.client, "steward", None)
        if adapter is not None:
            await adapter.on_command_error(interaction, error)


def _subcommand_name(name: str) -> str | None:
    lowered = name.lower()
    return lowered if _SUBCOMMAND_NAME.match(lowered) else None


def _description(text: str, fallback: str) -> str:
    text = " ".join((text or fallback).split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _command_options(cmd: Command) -> list[tuple[str, str]]:
    """The slash options of ``cmd``: its declared named options, or one free-text ``args``."""
    options = [(n.lower(), d) for n, d in cmd.options if _SUBCOMMAND_NAME.match(n.lower())]
    if len(options) != len(cmd.options) or not options or len(options) > 25:
        if cmd.options:
            log.warning("discord_command_options_unusable", command=cmd.name, options=[n for n, _ in cmd.options])
        return [("args", cmd.usage or "arguments")]
    return options


def make_app_command(cmd: Command, adapter: DiscordAdapter, name: str) -> app_commands.Command:
    options = _command_options(cmd)
    option_names = [n for n, _ in options]
    free_text = option_names == ["args"] and [n for n, _ in cmd.options] != ["args"]

    async def run(interaction: discord.Interaction, **values: Optional[str]) -> None:  # noqa: UP045
        await adapter.on_command(interaction, cmd, [values.get(n) for n in option_names], free_text=free_text)

    # discord.py reads the options from the callback's signature: give it one optional string per option.
    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Optional[str])  # noqa: UP045
        for n in option_names
    ]
    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        n: _description(d, n) for n, d in options
    }
    return app_commands.Command(name=name, description=_description(cmd.help, cmd.name), callback=run)


def make_overflow_command(commands: list[Command], adapter: DiscordAdapter, name: str) -> app_commands.Command:
    """``/<group> <name> command:<command> args:<text>``: the commands beyond Discord's 25 subcommands a group."""
    by_name = {c.name.lower(): c for c in commands}

    async def run(interaction: discord.Interaction, command: str, args: Optional[str] = None) -> None:  # noqa: UP045
        cmd = by_name.get(command.strip().lower())
        if cmd is None:
            known = ", ".join(sorted(by_name))
            await interaction.response.send_message(
                f"unknown command '{command}'; here: {known}"[:2000], ephemeral=True
            )
            return
        await adapter.on_command(interaction, cmd, [args], free_text=True)

    run.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        "command": "the command to run",
        "args": "its arguments",
    }
    overflow = app_commands.Command(
        name=name, description=_description("more commands: " + ", ".join(sorted(by_name)), name), callback=run
    )

    @overflow.autocomplete("command")
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = [n for n in sorted(by_name) if current.lower() in n][:25]
        return [app_commands.Choice(name=n, value=n) for n in found]

    return overflow


def build_command_groups(
    commands: list[Command], adapter: DiscordAdapter, *, group_name: str, admin_permission: str
) -> list[app_commands.Group]:
    """``/<group>`` for everyone's commands and ``/<group>-admin`` (hidden unless the member has the admin
    permission; Discord sets default permissions on top-level commands only) for admin-only ones."""
    public = app_commands.Group(name=group_name, description="Steward: moderation and AI agents")
    admin = app_commands.Group(
        name=f"{group_name}-admin",
        description="Steward administration",
        default_permissions=discord.Permissions(**{admin_permission: True}),
        guild_only=True,
    )
    for group, members in (
        (public, [c for c in commands if not c.admin_only]),
        (admin, [c for c in commands if c.admin_only]),
    ):
        usable = []
        for cmd in members:
            name = _subcommand_name(cmd.name)
            if name is None:
                log.warning("discord_command_name_unusable", command=cmd.name)
                continue
            usable.append((name, cmd))
        usable.sort(key=lambda pair: (pair[1].owner != "core", pair[0]))  # help and status always stay direct
        # Discord allows 25 subcommands a group: past that, the rest are reached through one 'more' subcommand.
        direct = usable if len(usable) <= MAX_SUBCOMMANDS else usable[: MAX_SUBCOMMANDS - 1]
        for name, cmd in direct:
            group.add_command(make_app_command(cmd, adapter, name))
        rest = [cmd for _name, cmd in usable[len(direct) :]]
        if rest:
            taken = {name for name, _cmd in direct}
            overflow_name = next(n for n in ("more", "more-commands", "steward-more") if n not in taken)
            group.add_command(make_overflow_command(rest, adapter, overflow_name))
            log.info("discord_commands_overflow", group=group.name, via=overflow_name, commands=[c.name for c in rest])
    return [g for g in (public, admin) if g.commands]
