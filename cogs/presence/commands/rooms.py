"""Room commands: ``leave`` (voluntary), ``remove`` (an admin's forced leave), ``presence``, ``accept_agents``."""

from __future__ import annotations

from bot.commands import CommandError, CommandInvocation, command
from cogs.presence.commands.base import PresenceParts
from cogs.presence.roster import REMOVED_RULE, Leave
from cogs.presence.text import duration, where


class RoomCommands(PresenceParts):
    @command("leave", "take your agent out of this room (or a named one)", usage="<agent> [room]")
    async def leave_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent")
        record = await self._agent_for(inv, inv.args[0])
        room = await self._room(inv, inv.args[1] if len(inv.args) > 1 else None)
        why = Leave(f"asked by {inv.actor.name}", by=inv.actor.key)
        left = await self.coordinator.roster.leave(record.name, room, why)
        return f"{record.name} left {where(room)}." if left else f"{record.name} is not in {where(room)}."

    @command(
        "remove", "remove an agent from this room (a forced leave)", usage="<agent> [room] [reason]", admin_only=True
    )
    async def remove_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent")
        record = await self._agent_for(inv, inv.args[0], owner_or_admin=False)
        room, rest = await self._split_room(inv, list(inv.args[1:]))
        reason = " ".join(rest) or f"removed by {inv.actor.name}"
        why = Leave(reason, by=inv.actor.key, forced=True, rule=REMOVED_RULE)
        left = await self.coordinator.roster.leave(record.name, room, why)
        return f"Removed {record.name} from {where(room)}." if left else f"{record.name} is not in {where(room)}."

    @command("presence", "which agents are in this room (or 'all' rooms), since when", usage="[room|all]")
    async def presence_command(self, inv: CommandInvocation) -> str:
        arg = inv.args[0] if inv.args else None
        if arg == "all":
            stays = await self.store.presence.all()
        else:
            stays = await self.store.presence.in_room(await self._room(inv, arg))
        if not stays:
            return "No agents here." if arg != "all" else "No agent is in any room."
        now = self.ctx.clock.now()
        return "\n".join(
            f"{s.agent} in {where(s.room_obj)} for {duration(now - s.since)} (invitation #{s.invitation_id})"
            for s in stays
        )

    @command("accept_agents", "let agents into this room or keep them out", usage="on|off", admin_only=True)
    async def accept_agents_command(self, inv: CommandInvocation) -> str:
        if not inv.args or inv.args[0].lower() not in ("on", "off"):
            raise CommandError("say on or off")
        room = await self._room(inv, inv.args[1] if len(inv.args) > 1 else None)
        accept = inv.args[0].lower() == "on"
        await self.store.settings.set_room(room, accept, by=inv.actor.key, at=self.ctx.clock.now())
        self.ctx.log.info("room_accept_agents_changed", room=room.key, accept=accept, by=inv.actor.key)
        return f"{where(room)} {'accepts' if accept else 'refuses'} agents."
