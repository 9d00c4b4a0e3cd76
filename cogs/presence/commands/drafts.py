"""Draft commands: the owner's ``draft approve|reject|edit`` and the ``drafts`` waiting."""

from __future__ import annotations

from bot.commands import CommandError, CommandInvocation, command
from cogs.presence.commands.base import PresenceParts, int_arg
from cogs.presence.errors import PresenceError
from cogs.presence.text import duration, where


class DraftCommands(PresenceParts):
    @command(
        "draft", "approve, edit or reject a held draft of your agent", usage="approve|reject <id> | edit <id> <text>"
    )
    async def draft_command(self, inv: CommandInvocation) -> str:
        if len(inv.args) < 2:
            raise CommandError("say approve, edit or reject, and the draft id")
        verb, draft_id = inv.args[0].lower(), int_arg(inv.args[1], "the draft id")
        try:
            if verb == "approve":
                return (await self.drafts.approve(draft_id, inv.actor)).text
            if verb == "reject":
                return (await self.drafts.reject(draft_id, inv.actor, " ".join(inv.args[2:]))).text
            if verb == "edit":
                # The replacement is the rest of the line as typed, not the shell-split words.
                words = inv.raw.split(None, 2)
                return (await self.drafts.edit(draft_id, inv.actor, words[2] if len(words) == 3 else "")).text
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        raise CommandError(f"unknown draft action {verb!r}")

    @command("drafts", "list your agents' drafts waiting for approval")
    async def drafts_command(self, inv: CommandInvocation) -> str:
        agents = [a.name for a in await self.ctx.agents.list(owner_id=inv.actor.id)]
        found = await self.store.drafts.pending(agents=agents)
        if not found:
            return "No drafts are waiting."
        now = self.ctx.clock.now()
        return "\n".join(
            f"#{d.id} {d.agent} in {where(d.room_obj)}: {d.text if d.text is not None else '(text not kept)'} "
            f"(expires in {duration(d.expires_at - now)})"
            for d in found
        )
