"""The conversation moderator's chat commands: ``mode``, ``agentstyle`` and ``audit``.

A human's change is audited with the human as the actor and the source ``command``, and announced like the
moderator's own actions. The moderator's scheduled ``mode`` (see ``scheduled.py``) goes through the executor
instead, as an action like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.commands import CommandError, CommandInvocation, CommandReply, command
from cogs.conversation.notices import ago, audit_line, effect, setter, style_changes
from cogs.conversation.scheduled import scheduled_reason
from domain import ActorKind, Room
from policy.conversation import AgentStyle, Mode, SetModeProposal, Signal, SignalKind
from storage.conversation import MODERATOR, AgentStyleRecord

if TYPE_CHECKING:
    from bot.cog import CogContext
    from cogs.conversation.executor import ActionExecutor
    from cogs.conversation.metrics import ConversationMetrics
    from cogs.conversation.notices import Announcer
    from cogs.conversation.rooms import Rooms
    from storage.conversation import ConversationStore

MAX_RATE = 60
MAX_AUDIT_ENTRIES = 50


def _room(inv: CommandInvocation) -> Room:
    if inv.room is None:
        raise CommandError("run this in a channel")
    return inv.room


def _style_args(args: Sequence[str]) -> tuple[str | None, int | None]:
    """``[normal|brief] [rate]`` in any order: the style and the rate they set (None: unchanged)."""
    style: str | None = None
    rate: int | None = None
    for arg in args:
        if arg.lower() in (AgentStyle.NORMAL, AgentStyle.BRIEF):
            style = arg.lower()
        elif arg.isdigit() and int(arg) <= MAX_RATE:
            rate = int(arg)
        else:
            raise CommandError(f"{arg!r} is neither a style (normal, brief) nor a rate from 0 to {MAX_RATE}")
    return style, rate


def _audit_args(args: Sequence[str]) -> tuple[str | None, int]:
    source: str | None = None
    limit = 10
    for arg in args:
        if arg in ("moderator", "command"):
            source = arg
        elif arg.isdigit() and 1 <= int(arg) <= MAX_AUDIT_ENTRIES:
            limit = int(arg)
        else:
            raise CommandError(f"{arg!r} is neither moderator/command nor a count from 1 to {MAX_AUDIT_ENTRIES}")
    return source, limit


def _describe_style(room: Room, agent: str, current: AgentStyleRecord | None, brief_max_chars: int, now: float) -> str:
    if current is None or (current.style in (None, "normal") and not current.max_per_minute):
        return f"{agent} has no style or rate limit in this channel."
    limits = []
    if current.style == AgentStyle.BRIEF:
        limits.append(f"brief replies (at most {brief_max_chars} characters)")
    if current.max_per_minute:
        limits.append(f"at most {current.max_per_minute} message(s) a minute")
    who = setter(room.platform, current.set_by)
    why = f" because {current.reason}" if current.reason else ""
    return f"{agent} in this channel: {', '.join(limits)}; set by {who} {ago(now - current.set_at)}{why}."


class ConversationCommands:
    """The commands, mixed into ``ConversationCog`` (the command registry finds them on the cog)."""

    ctx: CogContext
    rooms: Rooms
    store: ConversationStore
    executor: ActionExecutor
    announcer: Announcer
    metrics: ConversationMetrics

    async def _command_audit(
        self,
        room: Room,
        inv: CommandInvocation,
        action: str,
        params: dict[str, object],
        notice: str,
        *,
        reason: str = "",
        at: float,
    ) -> None:
        """A human's change: audited (source ``command``), then announced, then the audit row gets its outcome."""
        audit_id = await self.store.audit(
            at=at, room=room.key, actor=inv.actor.id, source="command", action=action, params=params, reason=reason
        )
        message_id = await self.announcer.announce(room, notice)
        await self.store.finish_audit(audit_id, outcome="done", notice_message_id=message_id)
        self.metrics.actions.labels(action, "command", "done").inc()

    @command(
        "mode",
        "show or set this channel's conversation mode (open, focused, review, quiet)",
        usage="[open|focused|review|quiet] [reason]",
        options=[("mode", "open, focused, review or quiet"), ("reason", "why, shown to the channel")],
    )
    async def mode_command(self, inv: CommandInvocation) -> CommandReply | str:
        room = _room(inv)
        now = self.ctx.clock.now()
        current = self.rooms.mode_of(room)
        record = self.rooms.modes.get(room.key)
        if not inv.args:
            if record is None:
                return f"This channel is in {current} mode (the default)."
            who = setter(room.platform, record.set_by)
            why = f" because {record.reason}" if record.reason else ""
            return f"This channel is in {current} mode, set by {who} {ago(now - record.set_at)}{why}."
        try:
            mode = Mode(inv.args[0].lower())
        except ValueError:
            raise CommandError(f"unknown mode {inv.args[0]!r}; choose open, focused, review or quiet") from None
        if inv.actor.kind is ActorKind.SYSTEM and inv.actor.id == MODERATOR:
            return await self._scheduled_mode(room, mode, now)
        if not inv.is_admin:
            raise CommandError("only server admins can change the mode")
        if mode is current and record is not None:
            return f"This channel is already in {mode} mode."
        reason = " ".join(inv.args[1:])
        await self.rooms.set_mode(room, mode, set_by=inv.actor.id, signal="", reason=reason, at=now)
        who = inv.actor.display_name or inv.actor.id
        because = f" because {reason.rstrip('.')}" if reason else ""
        notice = f"{who} switched this channel to {mode} mode{because}. " + effect(mode)
        params: dict[str, object] = {"mode": mode.value, "previous": current.value}
        await self._command_audit(room, inv, "set_mode", params, notice, reason=reason, at=now)
        self.ctx.log.info("conversation_mode_set_by_command", room=room.key, mode=mode.value, actor=inv.actor.id)
        return f"Mode set to {mode}."

    async def _scheduled_mode(self, room: Room, mode: Mode, now: float) -> CommandReply:
        """The moderator's own scheduled ``mode`` command: an action like any other, audited and announced."""
        state = self.rooms.state(room, now)
        record = self.rooms.modes.get(room.key)
        if record is not None and record.set_by != MODERATOR:
            self.metrics.suppressed.labels("set_mode", "human_override").inc()
            return CommandReply(f"left the mode as {setter(room.platform, record.set_by)} set it", ok=True)
        if self.rooms.mode_of(room) is mode:
            return CommandReply("", ok=True)
        reason = scheduled_reason(now)
        action = SetModeProposal(mode=mode, reason=reason)
        signal = Signal(SignalKind.SCHEDULED, reason, subject="mode")
        # A scheduled command was decided when it was scheduled: the cooldown does not hold it back again.
        state.last_action.pop("set_mode", None)
        done = await self.executor.execute(room, action, signal, now=now)
        return CommandReply("mode changed" if done else "", ok=True)

    @command(
        "agentstyle",
        "show or set an agent's reply style (normal, brief) and rate (messages a minute, 0 lifts it) here",
        usage="<agent> [normal|brief] [rate]",
        options=[
            ("agent", "the agent's name"),
            ("style", "normal or brief"),
            ("rate", "messages a minute, 0 = no limit"),
        ],
    )
    async def agentstyle_command(self, inv: CommandInvocation) -> str:
        room = _room(inv)
        if not inv.args:
            raise CommandError("name an agent")
        agent = inv.args[0]
        if await self.ctx.agents.get(agent) is None:
            raise CommandError(f"no agent named {agent!r} is registered")
        cfg = self.rooms.cfg(room)
        now = self.ctx.clock.now()
        if len(inv.args) == 1:
            return _describe_style(room, agent, self.rooms.agent_style(room.key, agent), cfg.brief_max_chars, now)
        if not inv.is_admin:
            raise CommandError("only server admins can change an agent's style")
        style, rate = _style_args(inv.args[1:])
        await self.rooms.set_style(room, agent, style=style, rate=rate, set_by=inv.actor.id, reason="", at=now)
        who = inv.actor.display_name or inv.actor.id
        notice = f"{who} {style_changes(agent, style, rate, cfg.brief_max_chars)} in this channel."
        params: dict[str, object] = {"agent": agent, "style": style, "max_per_minute": rate}
        await self._command_audit(room, inv, "set_agent_style", params, notice, at=now)
        return f"Style of {agent} updated."

    @command(
        "audit",
        "show the conversation moderator's recent actions in this channel",
        usage="[moderator|command] [count]",
        options=[("source", "moderator or command"), ("count", "how many entries (at most 50)")],
    )
    async def audit_command(self, inv: CommandInvocation) -> str:
        room = _room(inv)
        source, limit = _audit_args(inv.args)
        entries = await self.store.audit_entries(room.key, source=source, limit=limit)
        if not entries:
            return "No conversation actions recorded in this channel yet."
        now = self.ctx.clock.now()
        return "\n".join(audit_line(e, now, room.platform) for e in entries)
