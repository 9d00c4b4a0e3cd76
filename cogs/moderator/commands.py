"""The moderator's commands: ``cases [user]``, ``case <n>``, ``pardon <n> [reason]`` (admins) and ``suspensions``.

They read the core's cases and suspensions (``ctx.cases``, ``ctx.suspensions``), so they also list what other cogs
recorded. A pardon is recorded on the case and undoes what the case caused: it ends the suspension (and its timer)
or takes back the warning points it added.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cog import CogContext
from bot.commands import Command, CommandError, CommandInvocation
from cogs.moderator.config import ModeratorSettings
from cogs.moderator.humans import WarningPoints
from domain import Room, user_ref
from storage.cases import CaseRecord


def when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def server_of(inv: CommandInvocation) -> str:
    """The server a command speaks about: its room's, or the platform's rooms outside any server."""
    if inv.room is not None:
        return inv.room.server_key
    return f"{inv.actor.platform}:"


def case_target(case: CaseRecord) -> str:
    """Who a case is about as the platform shows them: a person as a mention where mentions render (not a bare
    platform id), an agent by its Steward name."""
    if case.target_kind == "human":
        return user_ref(case.server.partition(":")[0], case.target_id, case.target_name)
    return case.target_name or case.target_id


def case_line(case: CaseRecord) -> str:
    flags = "".join([" [log-only]" if case.log_only else "", " [pardoned]" if case.pardoned else ""])
    who = f"{case.target_kind} {case_target(case)}"
    return f"#{case.number} {when(case.at)} {who}: {case.verdict} ({case.rule}) {case.reason}{flags}"


class CaseCommands:
    def __init__(self, ctx: CogContext[ModeratorSettings], points: WarningPoints) -> None:
        self.ctx = ctx
        self.points = points

    def commands(self, owner: str) -> list[Command]:
        return [
            Command("cases", "list the latest moderation cases in this server", self.cases, "[user]", owner=owner),
            Command("case", "show one moderation case", self.case, "<number>", owner=owner),
            Command(
                "pardon",
                "pardon a case: lifts the suspension or warning points it caused",
                self.pardon,
                "<number> [reason]",
                admin_only=True,
                owner=owner,
            ),
            Command("suspensions", "list the agents suspended in this server", self.suspensions, owner=owner),
        ]

    async def cases(self, inv: CommandInvocation) -> str:
        target = inv.args[0] if inv.args else None
        found = await self.ctx.cases.list(server_of(inv), target=target, limit=10)
        if not found:
            return f"no cases for {target}" if target else "no cases yet"
        return "\n".join(case_line(c) for c in found)

    async def case(self, inv: CommandInvocation) -> str:
        case = await self._case_arg(inv)
        lines = [case_line(case), f"room: {case.room}", f"action: {case.action or '-'}"]
        if case.message_id:
            lines.append(f"message: {case.message_id}")
        lines.append(f"text sha256: {case.text_hash}")
        if case.text is not None:
            lines.append(f"text: {case.text}")
        if case.scores:
            lines.append("scores: " + ", ".join(f"{k}={v:.2f}" for k, v in sorted(case.scores.items())))
        if case.points:
            lines.append(f"warning points: {case.points:g}")
        if case.suspension_id is not None:
            suspension = await self.ctx.suspensions.get(case.suspension_id)
            if suspension is not None:
                state = f"ended ({suspension.ended_by})" if suspension.ended_at is not None else "active"
                lines.append(f"suspension: until {when(suspension.until)}, {state}")
        if case.pardoned:
            lines.append(f"pardoned by {case.pardoned_by} at {when(case.pardoned_at or 0)}: {case.pardon_reason}")
        return "\n".join(lines)

    async def _case_arg(self, inv: CommandInvocation) -> CaseRecord:
        if not inv.args:
            raise CommandError("give a case number")
        try:
            number = int(inv.args[0].lstrip("#"))
        except ValueError:
            raise CommandError(f"{inv.args[0]!r} is not a case number") from None
        case = await self.ctx.cases.get(server_of(inv), number)
        if case is None:
            raise CommandError(f"there is no case #{number} in this server")
        return case

    async def pardon(self, inv: CommandInvocation) -> str:
        case = await self._case_arg(inv)
        reason = " ".join(inv.args[1:]) or "no reason given"
        at = self.ctx.clock.now()
        if not await self.ctx.cases.pardon(case.id, at=at, by=inv.actor.id, reason=reason):
            raise CommandError(f"case #{case.number} is already pardoned")
        done = [f"case #{case.number} pardoned"]
        if case.suspension_id is not None:
            suspension = await self.ctx.suspensions.get(case.suspension_id)
            by = f"pardon:{inv.actor.id}"
            if suspension is not None and await self.ctx.suspensions.end(suspension, at=at, by=by):  # (and its timer)
                done.append(f"suspension of {suspension.agent} lifted")
        if case.points and not case.log_only:
            decay = self.ctx.config(Room.parse(case.room)).humans.decay_points_per_hour
            left = await self.points.take_back(case, at, decay)
            if left is not None:
                done.append(f"{case.points:g} warning point(s) removed ({left:.1f} left)")
        self.ctx.log.info("moderation_case_pardoned", server=case.server, case=case.number, by=inv.actor.id)
        return "; ".join(done)

    async def suspensions(self, inv: CommandInvocation) -> str:
        found = self.ctx.suspensions.in_server(server_of(inv), self.ctx.clock.now())
        if not found:
            return "no agent is suspended"
        return "\n".join(
            f"{s.agent} in {s.room or 'the whole server'} until {when(s.until)} (case #{s.case_number}): {s.reason}"
            for s in found
        )
