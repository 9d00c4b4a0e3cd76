"""Agent registry commands: ``agent register|set|show|token|revoke|unregister`` and ``agents``."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.commands import CommandError, CommandInvocation, CommandReply, command
from cogs.presence.commands.base import PresenceParts
from cogs.presence.impersonation import ImpersonationRefused, NameGuard
from cogs.presence.roster import Leave
from cogs.presence.text import owner, where
from domain import Actor
from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval
from storage.core import AgentExists, AgentRecord


def _choice(key: str, kind: type[enum.StrEnum]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            return kind(value.lower().replace("-", "_"))
        except ValueError:
            raise CommandError(f"{key} must be one of: {', '.join(e.value for e in kind)}") from None

    return parse


def _max_rooms(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise CommandError("max_rooms must be a whole number from 1 to 1000")
    return int(value)


def _cooldown(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise CommandError("cooldown is a number of seconds") from None
    if not 0 <= seconds <= 7 * 86400:
        raise CommandError("cooldown must be between 0 and 604800 seconds")
    return seconds


def _topics(value: str) -> tuple[str, ...]:
    topics = tuple(dict.fromkeys(t.strip().lower() for t in value.split(",") if t.strip()))
    if len(topics) > 50 or any(len(t) > 60 for t in topics):
        raise CommandError("at most 50 topics of at most 60 characters each")
    return topics


# `agent set <name> <key> <value>`: the key, the settings field it changes, and how to read the value.
SETTINGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "policy": ("invitation_policy", _choice("policy", InvitationPolicy)),
    "approval": ("approval_mode", _choice("approval", ApprovalMode)),
    "messages": ("message_approval", _choice("messages", MessageApproval)),
    "max_rooms": ("max_rooms", _max_rooms),
    "cooldown": ("join_cooldown_seconds", _cooldown),
    "topics": ("topics", _topics),
}


def parse_setting(key: str, value: str) -> tuple[str, Any]:
    """The settings field ``key`` names and ``value`` read for it; a ``CommandError`` names what is wrong."""
    found = SETTINGS.get(key)
    if found is None:
        raise CommandError(f"unknown setting {key!r}; settings: {', '.join(SETTINGS)}, display")
    field, parse = found
    return field, parse(value)


def _register_args(args: list[str]) -> tuple[str | None, str | None, str]:
    """``[--bot <user id>] [--avatar <url>] [display name]`` -> (bot user, avatar, display name)."""
    rest, bot_user, avatar, words = list(args), None, None, []
    while rest:
        word = rest.pop(0)
        if word not in ("--bot", "--avatar"):
            words.append(word)
            continue
        if not rest:
            raise CommandError(f"{word} needs a value")
        value = rest.pop(0)
        if word == "--bot":
            bot_user = value
        elif not value.startswith(("http://", "https://")):
            raise CommandError("--avatar must be an http(s) URL")
        else:
            avatar = value
    return bot_user, avatar, " ".join(words)[:80]


class AgentCommands(PresenceParts):
    names: NameGuard  # the presence cog's impersonation check

    @command(
        "agent",
        "register an agent and manage its settings and API token",
        usage="register <name> [--bot <user id>] [--avatar <url>] [display name] | set <name> <key> <value> | "
        "show <name> | token <name> | revoke <name> | unregister <name>",
    )
    async def agent_command(self, inv: CommandInvocation) -> CommandReply | str:
        if not inv.args:
            raise CommandError("say what to do")
        sub, args = inv.args[0].lower(), list(inv.args[1:])
        if sub == "register":
            return await self._register(inv, args)
        if not args:
            raise CommandError(f"'{sub}' needs an agent name")
        handlers: dict[str, Callable[[CommandInvocation, list[str]], Awaitable[CommandReply | str]]] = {
            "set": self._set,
            "show": self._show,
            "token": self._token,
            "revoke": self._revoke,
            "unregister": self._unregister_command,
        }
        handler = handlers.get(sub)
        if handler is None:
            raise CommandError(f"unknown subcommand {sub!r}")
        return await handler(inv, args)

    async def _register(self, inv: CommandInvocation, args: list[str]) -> str:
        if not args:
            raise CommandError("register needs a name")
        bot_user, avatar, display = _register_args(args[1:])
        try:
            await self.names.check(
                name=args[0],
                display_name=display,
                server_key=inv.room.server_key if inv.room else None,
                requester=inv.actor,
            )
            record = await self.ctx.agents.register(
                AgentRecord(
                    name=args[0],
                    platform=inv.actor.platform,
                    owner_id=inv.actor.id,
                    display_name=display,
                    kind="bot_user" if bot_user else "managed",
                    platform_user_id=bot_user,
                    avatar_url=avatar,
                    created_at=self.ctx.clock.now(),
                )
            )
        except (AgentExists, ValueError) as exc:
            raise CommandError(str(exc)) from None
        settings = await self.store.settings.put(self.coordinator.facts.defaults(record.name, self.ctx.clock.now()))
        self.ctx.log.info("agent_registered", agent=record.name, owner=inv.actor.key, kind=record.kind)
        return (
            f"Registered {record.kind} agent {record.name}, owned by {inv.actor.name}. "
            f"Invitations: {settings.invitation_policy.value}, approval: {settings.approval_mode.value}, "
            f"messages: {settings.message_approval.value}, max rooms: {settings.max_rooms}."
        )

    async def _token(self, inv: CommandInvocation, args: list[str]) -> CommandReply:
        record = await self._agent_for(inv, args[0])
        token = await self.store.tokens.issue(record.name, by=inv.actor.key, at=self.ctx.clock.now())
        self.outbox.api_agents.add(record.name)
        self.ctx.log.info("agent_token_issued", agent=record.name, by=inv.actor.key)
        return CommandReply(
            f"API token for {record.name} (shown once; earlier tokens are revoked):\n{token}", ephemeral=True
        )

    async def _revoke(self, inv: CommandInvocation, args: list[str]) -> str:
        record = await self._agent_for(inv, args[0])
        count = await self.store.tokens.revoke(record.name, at=self.ctx.clock.now())
        self.outbox.api_agents.discard(record.name)
        return f"Revoked {count} token(s) of {record.name}."

    async def _unregister_command(self, inv: CommandInvocation, args: list[str]) -> str:
        record = await self._agent_for(inv, args[0])
        summary = await self._unregister(record, by=inv.actor)
        return f"Unregistered {record.name}: {summary}."

    async def _unregister(self, record: AgentRecord, *, by: Actor) -> str:
        """Take the agent out of every room, close what is open for it, and forget it (its history stays)."""
        reason = f"the agent was unregistered by {by.name}"
        rooms = 0
        for stay in await self.store.presence.of_agent(record.name):
            rooms += await self.coordinator.roster.leave(record.name, stay.room_obj, Leave(reason, by=by.key))
        invitations = 0
        for open_inv in await self.store.invitations.open_of_agent(record.name):
            invitations += await self.coordinator.close_open(open_inv, rule="unregistered", reason=reason)
        drafts = 0
        for draft in await self.store.drafts.pending(agents=[record.name]):
            drafts += await self.drafts.drop(draft, reason, by=by.key)
        await self.store.tokens.revoke(record.name, at=self.ctx.clock.now())
        await self.store.tokens.delete_webhook(record.name)
        self.outbox.forget(record.name)
        await self.store.settings.delete(record.name)
        await self.ctx.agents.delete(record.name)
        self.ctx.log.info("agent_unregistered", agent=record.name, by=by.key, rooms=rooms, invitations=invitations)
        return f"left {rooms} room(s), closed {invitations} invitation(s) and {drafts} draft(s)"

    async def _set(self, inv: CommandInvocation, args: list[str]) -> str:
        if len(args) < 3:
            raise CommandError("set needs <name> <key> <value>")
        record = await self._agent_for(inv, args[0])
        if args[1].lower() == "display":
            return await self._set_display(inv, record, " ".join(args[2:])[:80])
        field, value = parse_setting(args[1].lower(), " ".join(args[2:]))
        current = await self.coordinator.facts.settings_of(record.name)
        await self.store.settings.put(replace(current, **{field: value}, updated_at=self.ctx.clock.now()))
        self.ctx.log.info("agent_settings_changed", agent=record.name, key=field, by=inv.actor.key)
        shown = ", ".join(value) if isinstance(value, tuple) else getattr(value, "value", value)
        return f"{record.name}: {args[1].lower()} = {shown}"

    async def _set_display(self, inv: CommandInvocation, record: AgentRecord, display: str) -> str:
        """``agent set <name> display <display name>``: how the agent is shown, held to the impersonation check."""
        server = inv.room.server_key if inv.room else None
        try:
            await self.names.check(
                name="", display_name=display, server_key=server, requester=inv.actor, renaming=record.name
            )
        except ImpersonationRefused as exc:
            raise CommandError(str(exc)) from None
        await self.ctx.agents.update(record.name, display_name=display)
        self.ctx.log.info("agent_settings_changed", agent=record.name, key="display_name", by=inv.actor.key)
        return f"{record.name}: display = {display or record.name}"

    async def _show(self, inv: CommandInvocation, args: list[str]) -> str:
        record = await self._agent_for(inv, args[0], owner_or_admin=False)
        s = await self.coordinator.facts.settings_of(record.name)
        stays = await self.store.presence.of_agent(record.name)
        rooms = ", ".join(where(st.room_obj) for st in stays) or "none"
        return (
            f"{record.name} ({record.kind} on {record.platform}, owner {owner(record)})\n"
            f"invitations: {s.invitation_policy.value}; approval: {s.approval_mode.value}; "
            f"messages: {s.message_approval.value}\n"
            f"max rooms: {s.max_rooms}; cooldown: {s.join_cooldown_seconds:g}s; "
            f"topics: {', '.join(s.topics) or 'none'}\nin rooms: {rooms}"
        )

    @command("agents", "list the registered agents")
    async def agents_command(self, inv: CommandInvocation) -> str:
        records = await self.ctx.agents.list()
        if not records:
            return "No agents are registered."
        lines = []
        for record in records:
            s = await self.coordinator.facts.settings_of(record.name)
            rooms = len(await self.store.presence.of_agent(record.name))
            lines.append(
                f"{record.name} - owner {owner(record)}, {record.kind}, {s.invitation_policy.value}/"
                f"{s.approval_mode.value}, in {rooms}/{s.max_rooms} rooms"
                + (f", topics: {', '.join(s.topics)}" if s.topics else "")
            )
        return "\n".join(lines)
