"""Invitation commands: ``invite``, ``invitations``, and the owner's ``approve`` / ``decline``."""

from __future__ import annotations

from bot.commands import CommandError, CommandInvocation, command
from cogs.presence.commands.base import PresenceParts, int_arg
from cogs.presence.errors import PresenceError
from cogs.presence.text import duration, inviter, where

# The reply to ``invite``, by the immediate outcome.
INVITE_REPLIES = {
    "joined": "{agent} joined {room} ({reason}).",
    "asked_owner": "Invitation {ref}: asked the owner of {agent} to approve.",
    "owner_unreachable": (
        "Invitation {ref}: {reason}, and no fallback channel is set for it; it stays pending until it expires, and "
        "the owner can still approve or decline it."
    ),
    "deferred": "Invitation {ref} is deferred: {reason}.",
    "declined": "Invitation {ref} declined: {reason}.",
    "duplicate": "Not invited: {reason}.",
    "failed": "Invitation {ref} failed: {reason}.",
}


class InvitationCommands(PresenceParts):
    @command("invite", "invite an agent into this room (or a named one)", usage="<agent> [room] [reason]")
    async def invite_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent to invite")
        name = inv.args[0]
        room, rest = await self._split_room(inv, list(inv.args[1:]))
        try:
            result = await self.coordinator.request(name, room, inv.actor, reason=" ".join(rest), origin_room=inv.room)
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        ref = f"#{result.id}" if result.id is not None else ""
        return INVITE_REPLIES[result.outcome].format(agent=name, room=where(room), reason=result.reason, ref=ref)

    @command("invitations", "list open invitations of your agents ('all' for every agent, admins)", usage="[all]")
    async def invitations_command(self, inv: CommandInvocation) -> str:
        everything = bool(inv.args and inv.args[0].lower() == "all")
        if everything and not inv.is_admin:
            raise CommandError("'invitations all' is for admins")
        agents = None if everything else [a.name for a in await self.ctx.agents.list(owner_id=inv.actor.id)]
        found = await self.store.invitations.list(agents=agents, open_only=True, limit=50)
        if not found:
            return "No open invitations."
        now = self.ctx.clock.now()
        return "\n".join(
            f"#{i.id} {i.agent} -> {where(i.room_obj)} by {inviter(i)} ({i.inviter_kind}), "
            f"{i.status.value}, expires in {duration(i.expires_at - now)}"
            for i in found
        )

    @command("approve", "approve an invitation of your agent", usage="<invitation id>")
    async def approve_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the invitation")
        try:
            text, _ = await self.coordinator.approve(int_arg(inv.args[0], "the invitation id"), inv.actor)
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        return text

    @command("decline", "decline an invitation of your agent", usage="<invitation id> [reason]")
    async def decline_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the invitation")
        try:
            text, _ = await self.coordinator.decline(
                int_arg(inv.args[0], "the invitation id"), inv.actor, " ".join(inv.args[1:])
            )
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        return text
