"""The presence cog: agent registry settings, invitations with owner approval, join and leave, drafts, safety
enforcement of suspensions, feedback rewards and the agent API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from bot.actions import Action, AnswerInteraction, SendDirectMessage
from bot.cog import Cog, CogContext, listener
from bot.commands import CommandError, CommandInvocation, CommandReply, command
from bot.events import (
    AgentRemovalRequested,
    AgentSuspended,
    AgentUnsuspended,
    ButtonPressed,
    InvitationRequested,
    MemberLeft,
    MessageCreated,
    ModerationDecision,
)
from cogs.presence.api import AgentApi
from cogs.presence.coordinator import (
    EXPIRY_TIMER,
    RETRY_TIMER,
    Coordinator,
    NotOwner,
    PresenceError,
    _duration,
    _where,
    is_owner,
)
from cogs.presence.drafts import DRAFT_TIMER, DraftDesk
from domain import Actor, ActorKind, Room
from policy.presence import ApprovalMode, InvitationPolicy, MessageApproval, RewardEvent, suspension_covers
from storage.core import AgentExists, AgentRecord
from storage.presence import DraftStatus, PresenceStore

# `agent set <name> <key> <value>`: the key, its column, and how to read the value.
SETTING_KEYS: dict[str, str] = {
    "policy": "invitation_policy",
    "approval": "approval_mode",
    "messages": "message_approval",
    "max_rooms": "max_rooms",
    "cooldown": "join_cooldown_seconds",
    "topics": "topics",
}


def _parse_setting(key: str, value: str) -> Any:
    column = SETTING_KEYS.get(key)
    if column is None:
        raise CommandError(f"unknown setting {key!r}; settings: {', '.join(SETTING_KEYS)}")
    enums = {"invitation_policy": InvitationPolicy, "approval_mode": ApprovalMode, "message_approval": MessageApproval}
    if column in enums:
        try:
            return column, enums[column](value.lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(e.value for e in enums[column])
            raise CommandError(f"{key} must be one of: {choices}") from None
    if column == "max_rooms":
        if not value.isdigit() or not 1 <= int(value) <= 1000:
            raise CommandError("max_rooms must be a whole number from 1 to 1000")
        return column, int(value)
    if column == "join_cooldown_seconds":
        try:
            seconds = float(value)
        except ValueError:
            raise CommandError("cooldown is a number of seconds") from None
        if not 0 <= seconds <= 7 * 86400:
            raise CommandError("cooldown must be between 0 and 604800 seconds")
        return column, seconds
    topics = tuple(dict.fromkeys(t.strip().lower() for t in value.split(",") if t.strip()))
    if len(topics) > 50 or any(len(t) > 60 for t in topics):
        raise CommandError("at most 50 topics of at most 60 characters each")
    return column, topics


class AgentDirectory:
    """The ``agent_directory`` service: what the registered agents help with."""

    def __init__(self, store: PresenceStore) -> None:
        self.store = store

    async def topics(self) -> dict[str, list[str]]:
        return {s.agent: list(s.topics) for s in await self.store.settings.all() if s.topics}


class PresenceCog(Cog):
    name: ClassVar[str] = "presence"

    def __init__(self, ctx: CogContext) -> None:
        super().__init__(ctx)
        self.store = PresenceStore.open(ctx.db, store_text=ctx.settings.database.store_message_text)
        self.coordinator = Coordinator(ctx, self.store)
        self.drafts = DraftDesk(ctx, self.store, self.coordinator)
        self.api = AgentApi(ctx, self.store, self.coordinator)
        self.coordinator.event_sink = self.api.push

    async def cog_load(self) -> None:
        await PresenceStore.migrate(self.ctx.db)
        await self.coordinator.load()
        await self.api.load()
        self.ctx.add_timer_handler(EXPIRY_TIMER, self.coordinator.expire)
        self.ctx.add_timer_handler(RETRY_TIMER, self.coordinator.retry)
        self.ctx.add_timer_handler(DRAFT_TIMER, self.drafts.expire)
        self.ctx.add_holder(self.drafts)
        self.ctx.provide("agent_directory", AgentDirectory(self.store))
        self.ctx.provide("drafts", self.drafts)
        self.ctx.add_health("presence", self._health)
        self.ctx.add_routes(self.api.routes())

    async def cog_unload(self) -> None:
        await self.api.close()

    def _health(self) -> dict[str, Any]:
        return {
            "up": True,
            "agents_present": sum(len(v) for v in self.coordinator.present.values()),
            "api_agents": len(self.api.api_agents),
        }

    # --- helpers ----------------------------------------------------------------------------------------------------

    async def _agent_for(self, inv: CommandInvocation, name: str, *, owner_or_admin: bool = True) -> AgentRecord:
        record = await self.ctx.agents.get(name)
        if record is None:
            raise CommandError(f"no agent named {name!r} is registered")
        if owner_or_admin and not (is_owner(record, inv.actor) or inv.is_admin):
            raise CommandError(f"only the owner of {name} ({record.owner_id}) or an admin can do that")
        return record

    @staticmethod
    def _room_arg(inv: CommandInvocation, value: str | None) -> Room:
        if value:
            try:
                return (
                    Room.parse(value)
                    if ":" in value
                    else Room(inv.actor.platform, inv.room.server if inv.room else "", value.lstrip("#"))
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        if inv.room is None:
            raise CommandError("name the room (platform:server:channel); there is no current room here")
        return inv.room

    @staticmethod
    def _int_arg(value: str, what: str) -> int:
        try:
            return int(value.lstrip("#"))
        except ValueError:
            raise CommandError(f"{what} must be a number, got {value!r}") from None

    # --- registry commands ------------------------------------------------------------------------------------------

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
        if sub == "set":
            return await self._set(inv, args)
        if sub == "show":
            return await self._show(inv, args[0])
        if sub == "token":
            record = await self._agent_for(inv, args[0])
            token = await self.store.tokens.issue(record.name, by=inv.actor.key, at=self.ctx.clock.now())
            self.api.api_agents.add(record.name)
            self.ctx.log.info("agent_token_issued", agent=record.name, by=inv.actor.key)
            return CommandReply(
                f"API token for {record.name} (shown once; earlier tokens are revoked):\n{token}", ephemeral=True
            )
        if sub == "unregister":
            record = await self._agent_for(inv, args[0])
            summary = await self._unregister(record, by=inv.actor)
            return f"Unregistered {record.name}: {summary}."
        if sub == "revoke":
            record = await self._agent_for(inv, args[0])
            count = await self.store.tokens.revoke(record.name, at=self.ctx.clock.now())
            self.api.api_agents.discard(record.name)
            return f"Revoked {count} token(s) of {record.name}."
        raise CommandError(f"unknown subcommand {sub!r}")

    async def _register(self, inv: CommandInvocation, args: list[str]) -> str:
        if not args:
            raise CommandError("register needs a name")
        name, rest = args[0], args[1:]
        bot_user: str | None = None
        avatar: str | None = None
        words: list[str] = []
        while rest:
            word = rest.pop(0)
            if word in ("--bot", "--avatar"):
                if not rest:
                    raise CommandError(f"{word} needs a value")
                value = rest.pop(0)
                if word == "--bot":
                    bot_user = value
                elif not value.startswith(("http://", "https://")):
                    raise CommandError("--avatar must be an http(s) URL")
                else:
                    avatar = value
            else:
                words.append(word)
        display = " ".join(words)[:80]
        try:
            record = await self.ctx.agents.register(
                AgentRecord(
                    name=name,
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
        settings = await self.store.settings.put(self.coordinator.defaults(record.name, self.ctx.clock.now()))
        self.ctx.log.info("agent_registered", agent=record.name, owner=inv.actor.key, kind=record.kind)
        return (
            f"Registered {record.kind} agent {record.name}, owned by {inv.actor.name}. "
            f"Invitations: {settings.invitation_policy.value}, approval: {settings.approval_mode.value}, "
            f"messages: {settings.message_approval.value}, max rooms: {settings.max_rooms}."
        )

    async def _unregister(self, record: AgentRecord, *, by: Actor) -> str:
        """Take the agent out of every room, close what is open for it, and forget it (its history stays)."""
        now = self.ctx.clock.now()
        reason = f"the agent was unregistered by {by.name}"
        rooms = 0
        for stay in await self.store.presence.of_agent(record.name):
            rooms += await self.coordinator.leave(record.name, stay.room_obj, reason=reason, forced=False, by=by.key)
        invitations = 0
        for open_inv in await self.store.invitations.open_of_agent(record.name):
            invitations += await self.coordinator.close_open(open_inv, rule="unregistered", reason=reason)
        drafts = 0
        for draft in await self.store.drafts.pending(agents=[record.name]):
            drafts += await self.drafts.drop(draft, reason, by=by.key)
        await self.store.tokens.revoke(record.name, at=now)
        await self.store.tokens.delete_webhook(record.name)
        self.api.forget(record.name)
        await self.store.settings.delete(record.name)
        await self.ctx.agents.delete(record.name)
        self.ctx.log.info("agent_unregistered", agent=record.name, by=by.key, rooms=rooms, invitations=invitations)
        return f"left {rooms} room(s), closed {invitations} invitation(s) and {drafts} draft(s)"

    async def _set(self, inv: CommandInvocation, args: list[str]) -> str:
        if len(args) < 3:
            raise CommandError("set needs <name> <key> <value>")
        record = await self._agent_for(inv, args[0])
        column, value = _parse_setting(args[1].lower(), " ".join(args[2:]))
        current = await self.coordinator.settings_of(record.name)
        updated = replace(current, **{column: value}, updated_at=self.ctx.clock.now())
        await self.store.settings.put(updated)
        self.ctx.log.info("agent_settings_changed", agent=record.name, key=column, by=inv.actor.key)
        shown = ", ".join(value) if isinstance(value, tuple) else getattr(value, "value", value)
        return f"{record.name}: {args[1].lower()} = {shown}"

    async def _show(self, inv: CommandInvocation, name: str) -> str:
        record = await self._agent_for(inv, name, owner_or_admin=False)
        s = await self.coordinator.settings_of(name)
        stays = await self.store.presence.of_agent(name)
        rooms = ", ".join(_where(st.room_obj) for st in stays) or "none"
        return (
            f"{record.name} ({record.kind} on {record.platform}, owner {record.owner_id})\n"
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
            s = await self.coordinator.settings_of(record.name)
            rooms = len(await self.store.presence.of_agent(record.name))
            lines.append(
                f"{record.name} - owner {record.owner_id}, {record.kind}, {s.invitation_policy.value}/"
                f"{s.approval_mode.value}, in {rooms}/{s.max_rooms} rooms"
                + (f", topics: {', '.join(s.topics)}" if s.topics else "")
            )
        return "\n".join(lines)

    # --- invitation commands --------------------------------------------------------------------------------------

    @command("invite", "invite an agent into this room (or a named one)", usage="<agent> [room] [reason]")
    async def invite_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent to invite")
        name, rest = inv.args[0], list(inv.args[1:])
        room_arg = rest.pop(0) if rest and (":" in rest[0] or rest[0].startswith("#")) else None
        room = self._room_arg(inv, room_arg)
        try:
            result = await self.coordinator.request(name, room, inv.actor, reason=" ".join(rest), origin_room=inv.room)
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        ref = f"#{result.id}" if result.id is not None else ""
        texts = {
            "joined": f"{name} joined {_where(room)} ({result.reason}).",
            "asked_owner": f"Invitation {ref}: asked the owner of {name} to approve.",
            "deferred": f"Invitation {ref} is deferred: {result.reason}.",
            "declined": f"Invitation {ref} declined: {result.reason}.",
            "duplicate": f"Not invited: {result.reason}.",
            "failed": f"Invitation {ref} failed: {result.reason}.",
        }
        return texts[result.outcome]

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
            f"#{i.id} {i.agent} -> {_where(i.room_obj)} by {i.inviter_name or i.inviter_id} ({i.inviter_kind}), "
            f"{i.status.value}, expires in {_duration(i.expires_at - now)}"
            for i in found
        )

    @command("approve", "approve an invitation of your agent", usage="<invitation id>")
    async def approve_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the invitation")
        try:
            text, _ = await self.coordinator.approve(self._int_arg(inv.args[0], "the invitation id"), inv.actor)
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        return text

    @command("decline", "decline an invitation of your agent", usage="<invitation id> [reason]")
    async def decline_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the invitation")
        try:
            text, _ = await self.coordinator.decline(
                self._int_arg(inv.args[0], "the invitation id"), inv.actor, " ".join(inv.args[1:])
            )
        except PresenceError as exc:
            raise CommandError(str(exc)) from None
        return text

    # --- leave / remove / presence --------------------------------------------------------------------------------

    @command("leave", "take your agent out of this room (or a named one)", usage="<agent> [room]")
    async def leave_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent")
        record = await self._agent_for(inv, inv.args[0])
        room = self._room_arg(inv, inv.args[1] if len(inv.args) > 1 else None)
        left = await self.coordinator.leave(
            record.name, room, reason=f"asked by {inv.actor.name}", forced=False, by=inv.actor.key
        )
        return f"{record.name} left {_where(room)}." if left else f"{record.name} is not in {_where(room)}."

    @command(
        "remove", "remove an agent from this room (a forced leave)", usage="<agent> [room] [reason]", admin_only=True
    )
    async def remove_command(self, inv: CommandInvocation) -> str:
        if not inv.args:
            raise CommandError("name the agent")
        record = await self._agent_for(inv, inv.args[0], owner_or_admin=False)
        rest = list(inv.args[1:])
        room_arg = rest.pop(0) if rest and (":" in rest[0] or rest[0].startswith("#")) else None
        room = self._room_arg(inv, room_arg)
        reason = " ".join(rest) or f"removed by {inv.actor.name}"
        left = await self.coordinator.leave(record.name, room, reason=reason, forced=True, by=inv.actor.key)
        return f"Removed {record.name} from {_where(room)}." if left else f"{record.name} is not in {_where(room)}."

    @command("presence", "which agents are in this room (or 'all' rooms), since when", usage="[room|all]")
    async def presence_command(self, inv: CommandInvocation) -> str:
        arg = inv.args[0] if inv.args else None
        if arg == "all":
            stays = await self.store.presence.all()
        else:
            stays = await self.store.presence.in_room(self._room_arg(inv, arg))
        if not stays:
            return "No agents here." if arg != "all" else "No agent is in any room."
        now = self.ctx.clock.now()
        return "\n".join(
            f"{s.agent} in {_where(s.room_obj)} for {_duration(now - s.since)} (invitation #{s.invitation_id})"
            for s in stays
        )

    @command("accept_agents", "let agents into this room or keep them out", usage="on|off", admin_only=True)
    async def accept_agents_command(self, inv: CommandInvocation) -> str:
        if not inv.args or inv.args[0].lower() not in ("on", "off"):
            raise CommandError("say on or off")
        room = self._room_arg(inv, inv.args[1] if len(inv.args) > 1 else None)
        accept = inv.args[0].lower() == "on"
        await self.store.settings.set_room(room, accept, by=inv.actor.key, at=self.ctx.clock.now())
        self.ctx.log.info("room_accept_agents_changed", room=room.key, accept=accept, by=inv.actor.key)
        return f"{_where(room)} {'accepts' if accept else 'refuses'} agents."

    # --- drafts ---------------------------------------------------------------------------------------------------

    @command(
        "draft", "approve, edit or reject a held draft of your agent", usage="approve|reject <id> | edit <id> <text>"
    )
    async def draft_command(self, inv: CommandInvocation) -> str:
        if len(inv.args) < 2:
            raise CommandError("say approve, edit or reject, and the draft id")
        verb, draft_id = inv.args[0].lower(), self._int_arg(inv.args[1], "the draft id")
        try:
            if verb == "approve":
                return (await self.drafts.approve(draft_id, inv.actor)).text
            if verb == "reject":
                return (await self.drafts.reject(draft_id, inv.actor, " ".join(inv.args[2:]))).text
            if verb == "edit":
                # The replacement is the rest of the line as typed, not the shell-split words.
                text = inv.raw.split(None, 2)[2] if len(inv.raw.split(None, 2)) == 3 else ""
                return (await self.drafts.edit(draft_id, inv.actor, text)).text
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
            f"#{d.id} {d.agent} in {_where(d.room_obj)}: {d.text if d.text is not None else '(text not kept)'} "
            f"(expires in {_duration(d.expires_at - now)})"
            for d in found
        )

    # --- listeners --------------------------------------------------------------------------------------------------

    @listener(InvitationRequested)
    async def on_invitation_requested(self, event: InvitationRequested) -> None:
        origin = event.room if event.inviter.kind is ActorKind.HUMAN else None
        try:
            await self.coordinator.request(
                event.agent, event.room, event.inviter, reason=event.reason, origin_room=origin, tell=True
            )
        except PresenceError as exc:
            self.coordinator.rejected("invitation_event", "unknown_agent")
            self.ctx.log.warning("invitation_request_rejected", agent=event.agent, room=event.room.key, error=str(exc))

    @listener(ButtonPressed)
    async def on_button(self, event: ButtonPressed) -> list[Action] | None:
        parts = event.parts
        if parts is None or parts[0] not in ("invite", "draft"):
            return None
        kind, key, choice = parts
        try:
            ident = int(key)
        except ValueError:
            self.coordinator.rejected("button", "bad_key")
            return [self._answer(event, "This button is not valid.")]
        try:
            if kind == "invite":
                if choice == "approve":
                    text, _ = await self.coordinator.approve(ident, event.actor)
                elif choice == "decline":
                    text, _ = await self.coordinator.decline(ident, event.actor)
                else:
                    self.coordinator.rejected("button", "bad_choice")
                    return [self._answer(event, "This button is not valid.")]
            elif choice == "approve":
                text = (await self.drafts.approve(ident, event.actor)).text
            elif choice == "reject":
                text = (await self.drafts.reject(ident, event.actor)).text
            elif choice == "edit":
                draft = await self.store.drafts.get(ident)
                record = await self.ctx.agents.get(draft.agent) if draft else None
                if draft is None or record is None:
                    raise PresenceError(f"there is no draft #{ident}")
                if not is_owner(record, event.actor):
                    raise NotOwner(record)
                if draft.status is not DraftStatus.PENDING:
                    text = f"Draft #{ident} was already decided ({draft.status.value})."
                else:
                    text = f"Send the replacement with: draft edit {ident} <new text>"
            else:
                self.coordinator.rejected("button", "bad_choice")
                return [self._answer(event, "This button is not valid.")]
        except NotOwner as exc:
            self.coordinator.rejected("button", "not_owner")
            what = "invitation" if kind == "invite" else "draft"
            return [self._answer(event, f"Only {exc.record.owner_id} can decide this {what}.")]
        except PresenceError as exc:
            return [self._answer(event, str(exc))]
        return [self._answer(event, text)]

    @staticmethod
    def _answer(event: ButtonPressed, text: str) -> Action:
        if event.interaction_id:
            return AnswerInteraction(
                target_platform=event.actor.platform, interaction_id=event.interaction_id, text=text, ephemeral=True
            )
        return SendDirectMessage(target_platform=event.actor.platform, user_id=event.actor.id, text=text)

    @listener(AgentSuspended)
    async def on_suspended(self, event: AgentSuspended) -> None:
        now = self.ctx.clock.now()
        await self.store.suspensions.add(
            agent=event.agent,
            platform=event.platform,
            server=event.server,
            room=event.room,
            until=event.until,
            reason=event.reason,
            at=now,
        )
        self.ctx.log.info(
            "agent_suspension_mirrored", agent=event.agent, room=event.room and event.room.key, until=event.until
        )
        if await self.ctx.agents.get(event.agent) is None:
            # Kept in the mirror (the name may be registered later), but there is no agent to reward or remove.
            self.coordinator.rejected("suspension_event", "unknown_agent")
            return
        await self.coordinator.reward(
            RewardEvent.SUSPENSION, event.agent, event.room, {"reason": event.reason, "until": event.until}
        )
        if event.until <= now:
            return

        def covered(room_key: str) -> bool:
            room = Room.parse(room_key)
            return suspension_covers(
                platform=event.platform,
                server=event.server,
                room_key=event.room.key if event.room else None,
                room=(room.platform, room.server, room.channel),
            )

        reason = f"suspended: {event.reason}"
        for stay in await self.store.presence.of_agent(event.agent):
            if covered(stay.room):
                await self.coordinator.leave(
                    event.agent, stay.room_obj, reason=reason, forced=True, by="presence.suspension"
                )
        for inv in await self.store.invitations.open_of_agent(event.agent):
            if covered(inv.room):
                await self.coordinator.close_open(inv, rule="suspended", reason=reason)
        for draft in await self.store.drafts.pending(agents=[event.agent]):
            if covered(draft.room):
                await self.drafts.drop(draft, reason, by="presence.suspension")

    @listener(AgentUnsuspended)
    async def on_unsuspended(self, event: AgentUnsuspended) -> None:
        lifted = await self.store.suspensions.lift(
            agent=event.agent, platform=event.platform, server=event.server, room=event.room, at=self.ctx.clock.now()
        )
        self.ctx.log.info("agent_suspension_lifted", agent=event.agent, room=event.room and event.room.key, rows=lifted)

    @listener(ModerationDecision)
    async def on_moderation(self, event: ModerationDecision) -> None:
        if event.log_only or str(event.verdict).lower() != "reject" or not event.target.is_agent:
            return
        if await self.ctx.agents.get(event.target.id) is None:
            return
        await self.coordinator.reward(
            RewardEvent.BLOCKED_MESSAGE,
            event.target.id,
            event.room,
            {"rule": event.rule, "case_id": event.case_id, "message_id": event.message_id},
        )

    @listener(AgentRemovalRequested)
    async def on_removal_requested(self, event: AgentRemovalRequested) -> None:
        by = event.requested_by
        record = await self.ctx.agents.get(event.agent)
        if record is None:
            self.coordinator.rejected("removal_event", "unknown_agent")
            return
        owner = is_owner(record, by)
        if not (owner or by.kind in (ActorKind.SYSTEM, ActorKind.BOT) or by.roles & {"admin", "moderator"}):
            self.coordinator.rejected("removal_event", "not_allowed")
            self.ctx.log.warning("agent_removal_refused", agent=event.agent, room=event.room.key, by=by.key)
            return
        await self.coordinator.leave(
            event.agent, event.room, reason=event.reason or f"removed by {by.name}", forced=not owner, by=by.key
        )

    @listener(MemberLeft)
    async def on_member_left(self, event: MemberLeft) -> None:
        """An agent left (or was kicked from) the channel on the platform itself: record the end of its stay."""
        member = event.member
        if member.kind is ActorKind.AGENT:
            record = await self.ctx.agents.get(member.id)
        elif member.kind is ActorKind.BOT:
            record = await self.ctx.agents.by_platform_user(event.room.platform, member.id)
        else:
            return
        if record is None or record.name not in self.coordinator.present.get(event.room.key, set()):
            return
        await self.coordinator.leave(
            record.name, event.room, reason="left the channel", forced=False, by=member.key, on_platform=False
        )

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> None:
        present = self.coordinator.present.get(event.room.key)
        if not present:
            return
        data: Mapping[str, Any] = {
            "room": event.room.key,
            "message_id": event.message_id,
            "author": {"id": event.author.id, "name": event.author.name, "kind": str(event.author.kind)},
            "text": event.text,
            "reply_to": event.reply_to,
            "thread_id": event.thread_id,
            "via_steward": event.via_steward,
        }
        for agent in list(present):
            if event.author.is_agent and event.author.id == agent:
                continue
            self.api.push(agent, "message", data)
