"""Steward's platform-neutral commands as Discord slash commands.

``/<group> <command>`` for everyone and ``/<group>-admin <command>`` for admin-only ones. A command takes its
declared named options, or one free-text ``args`` option read like a console line. Discord allows 25 subcommands a
group: past that, ``help``, ``status`` and the first others alphabetically stay direct and the rest are reached
through one ``more`` subcommand whose ``command`` option autocompletes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Optional

import discord
from discord import app_commands

from bot.commands import Command
from bot.logging import get_logger

log = get_logger("steward.discord")

# Discord's limits for application commands.
_SUBCOMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
MAX_SUBCOMMANDS = 25
MAX_DESCRIPTION = 100
OVERFLOW_NAMES = ("more", "more-commands", "steward-more")

Interaction = discord.Interaction[discord.Client]
# Runs ``cmd`` for a slash command's interaction with its option values (see ``Interactions.on_command``).
CommandRunner = Callable[[Interaction, Command, list[str | None], bool], Awaitable[None]]
SlashCommand = app_commands.Command[app_commands.Group, ..., None]


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


def make_app_command(cmd: Command, run_command: CommandRunner, name: str) -> SlashCommand:
    options = _command_options(cmd)
    option_names = [n for n, _ in options]
    free_text = option_names == ["args"] and [n for n, _ in cmd.options] != ["args"]

    async def run(interaction: Interaction, **values: Optional[str]) -> None:  # noqa: UP045
        await run_command(interaction, cmd, [values.get(n) for n in option_names], free_text)

    # discord.py reads the options from the callback's signature: give it one optional string per option.
    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Optional[str])  # noqa: UP045
        for n in option_names
    ]
    setattr(run, "__signature__", inspect.Signature(parameters))  # noqa: B010
    setattr(run, "__discord_app_commands_param_description__", {n: _description(d, n) for n, d in options})  # noqa: B010
    return app_commands.Command(name=name, description=_description(cmd.help, cmd.name), callback=run)


def make_overflow_command(commands: list[Command], run_command: CommandRunner, name: str) -> SlashCommand:
    """``/<group> <name> command:<command> args:<text>``: the commands beyond Discord's 25 subcommands a group."""
    by_name = {c.name.lower(): c for c in commands}

    async def run(interaction: Interaction, command: str, args: Optional[str] = None) -> None:  # noqa: UP045
        cmd = by_name.get(command.strip().lower())
        if cmd is None:
            known = ", ".join(sorted(by_name))
            await interaction.response.send_message(
                f"unknown command '{command}'; here: {known}"[:2000], ephemeral=True
            )
            return
        await run_command(interaction, cmd, [args], True)

    setattr(  # noqa: B010
        run, "__discord_app_commands_param_description__", {"command": "the command to run", "args": "its arguments"}
    )
    overflow: SlashCommand = app_commands.Command(
        name=name, description=_description("more commands: " + ", ".join(sorted(by_name)), name), callback=run
    )

    @overflow.autocomplete("command")
    async def complete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = [n for n in sorted(by_name) if current.lower() in n][:25]
        return [app_commands.Choice(name=n, value=n) for n in found]

    return overflow


def _usable(commands: list[Command]) -> list[tuple[str, Command]]:
    """The commands Discord can show, by their subcommand name; help and status first, then alphabetically."""
    usable = []
    for cmd in commands:
        name = _subcommand_name(cmd.name)
        if name is None:
            log.warning("discord_command_name_unusable", command=cmd.name)
            continue
        usable.append((name, cmd))
    usable.sort(key=lambda pair: (pair[1].owner != "core", pair[0]))
    return usable


def _fill(group: app_commands.Group, commands: list[Command], run_command: CommandRunner) -> None:
    usable = _usable(commands)
    # Discord allows 25 subcommands a group: past that, the rest are reached through one 'more' subcommand.
    direct = usable if len(usable) <= MAX_SUBCOMMANDS else usable[: MAX_SUBCOMMANDS - 1]
    for name, cmd in direct:
        group.add_command(make_app_command(cmd, run_command, name))
    rest = [cmd for _name, cmd in usable[len(direct) :]]
    if not rest:
        return
    taken = {name for name, _cmd in direct}
    overflow_name = next(n for n in OVERFLOW_NAMES if n not in taken)
    group.add_command(make_overflow_command(rest, run_command, overflow_name))
    log.info("discord_commands_overflow", group=group.name, via=overflow_name, commands=[c.name for c in rest])


def build_command_groups(
    commands: list[Command], run_command: CommandRunner, *, group_name: str, admin_permission: str
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
    _fill(public, [c for c in commands if not c.admin_only], run_command)
    _fill(admin, [c for c in commands if c.admin_only], run_command)
    return [g for g in (public, admin) if g.commands]
