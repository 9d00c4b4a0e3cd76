"""Platform-neutral commands. Cogs register them; each adapter exposes them in its own way (console ``/name``,
Discord slash commands, Slack ``/steward name``)."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.actions import Action
from bot.logging import get_logger
from domain import Actor, Room

log = get_logger("steward.commands")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CommandInvocation:
    name: str
    args: tuple[str, ...]
    actor: Actor
    room: Room | None
    is_admin: bool = False
    raw: str = ""

    @classmethod
    def parse(cls, line: str, *, actor: Actor, room: Room | None, is_admin: bool = False) -> CommandInvocation:
        """Parse ``name arg1 "arg two"`` (a leading ``/`` is allowed)."""
        body = line.strip().removeprefix("/")
        try:
            words = shlex.split(body)
        except ValueError as exc:
            raise CommandError(f"cannot read the command: {exc}") from None
        if not words:
            raise CommandError("empty command")
        rest = body[len(body.split(None, 1)[0]) :].strip() if body else ""
        return cls(name=words[0].lower(), args=tuple(words[1:]), actor=actor, room=room, is_admin=is_admin, raw=rest)


@dataclass(frozen=True, slots=True)
class CommandReply:
    text: str
    ephemeral: bool = True
    actions: tuple[Action, ...] = ()
    ok: bool = True


CommandHandler = Callable[[CommandInvocation], Awaitable[CommandReply | str]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    handler: CommandHandler
    usage: str = ""
    admin_only: bool = False
    owner: str = "core"
    # Named arguments for platforms with typed options (Discord slash commands): (name, description) pairs.
    options: tuple[tuple[str, str], ...] = field(default=())


class CommandError(Exception):
    """A user-facing error: its message is shown to the person who ran the command."""


def command(
    name: str, help: str, *, usage: str = "", admin_only: bool = False, options: Iterable[tuple[str, str]] = ()
) -> Callable[[F], F]:
    """Mark a cog method as a command; the cog registry registers it when the cog loads."""

    def mark(func: F) -> F:
        func.__steward_command__ = dict(  # type: ignore[attr-defined]
            name=name, help=help, usage=usage, admin_only=admin_only, options=tuple(options)
        )
        return func

    return mark


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def register(self, cmd: Command) -> None:
        if not cmd.name.isidentifier() and not cmd.name.replace("-", "_").isidentifier():
            raise ValueError(f"command names are single words, got {cmd.name!r}")
        existing = self._commands.get(cmd.name)
        if existing is not None:
            raise ValueError(f"command {cmd.name!r} is already registered by {existing.owner}")
        self._commands[cmd.name] = cmd

    def unregister_owner(self, owner: str) -> None:
        self._commands = {n: c for n, c in self._commands.items() if c.owner != owner}

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def all(self) -> list[Command]:
        return sorted(self._commands.values(), key=lambda c: c.name)

    async def invoke(self, inv: CommandInvocation) -> CommandReply:
        cmd = self._commands.get(inv.name)
        if cmd is None:
            return CommandReply(f"unknown command '{inv.name}'; try 'help'", ok=False)
        if cmd.admin_only and not inv.is_admin:
            return CommandReply(f"'{inv.name}' is for server admins", ok=False)
        try:
            reply = await cmd.handler(inv)
        except CommandError as exc:
            return CommandReply(
                f"{inv.name}: {exc}" + (f"\nusage: {inv.name} {cmd.usage}" if cmd.usage else ""), ok=False
            )
        except Exception as exc:
            log.exception("command_failed", command=inv.name, owner=cmd.owner, error=repr(exc))
            return CommandReply(f"{inv.name} failed: internal error ({type(exc).__name__})", ok=False)
        return CommandReply(reply) if isinstance(reply, str) else reply

    def help_text(self, *, include_admin: bool = True) -> str:
        lines = []
        for cmd in self.all():
            if cmd.admin_only and not include_admin:
                continue
            usage = f" {cmd.usage}" if cmd.usage else ""
            admin = " (admin)" if cmd.admin_only else ""
            lines.append(f"{cmd.name}{usage} - {cmd.help}{admin}")
        return "\n".join(lines)
