"""What bolt hands Steward: Events API payloads, button clicks and the slash command, each acknowledged at once and
then translated, published on the bus or run. A retried event id is handled once."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from adapters.slack.blocks import escape_text, unescape_text
from adapters.slack.config import SlackSettings
from adapters.slack.inbound import PLATFORM, Translator
from adapters.slack.memory import EventDeduper, Interaction, InteractionStore, SlackObject, UserDirectory
from adapters.slack.web import SlackMetrics
from adapters.slack.workspaces import Workspaces
from bot.commands import CommandError, CommandInvocation, CommandReply
from bot.events import ButtonPressed
from bot.logging import get_logger
from domain import Room

if TYPE_CHECKING:
    from bot.core import Core

log = get_logger("steward.slack")

STEWARD_ACTION = re.compile(r"^steward:")
ANY_EVENT = re.compile(r"^.+$")

Ack = Callable[[], Awaitable[None]]
Respond = Callable[..., Awaitable[object]]


def _id_of(value: object) -> str:
    """The ``id`` of a Slack object field (``{"id": ...}``), or ''."""
    return str(value.get("id") or "") if isinstance(value, Mapping) else ""


def _where_clicked(body: SlackObject) -> tuple[str | None, str | None]:
    """The channel and message ts of a click: from the payload's channel and message, else its container."""
    container = body.get("container") or {}
    channel = _id_of(body.get("channel")) or container.get("channel_id")
    message = body.get("message") or {}
    message_ts = message.get("ts") or container.get("message_ts")
    return (str(channel) if channel else None), (str(message_ts) if message_ts else None)


def _event_kind(event: SlackObject) -> str:
    kind = str(event.get("type") or "?")
    return f"{kind}.{event['subtype']}" if event.get("subtype") else kind


class Listeners:
    """bolt's listeners for events, Steward's buttons and the slash command."""

    def __init__(
        self,
        app: Core,
        settings: SlackSettings,
        *,
        translator: Translator,
        users: UserDirectory,
        interactions: InteractionStore,
        workspaces: Workspaces,
        metrics: SlackMetrics,
        on_revoked: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.translator = translator
        self.users = users
        self.interactions = interactions
        self.workspaces = workspaces
        self.metrics = metrics
        self.deduper = EventDeduper(settings.dedupe_ttl, settings.dedupe_max_entries)
        self.last_event_at: float | None = None
        self.on_revoked = on_revoked  # single workspace: the bot token was revoked or the app uninstalled

    def register(self, bolt: AsyncApp) -> None:
        async def on_event(body: SlackObject, context: SlackObject) -> None:
            await self.on_event(body, context)

        async def on_action(ack: Ack, body: SlackObject, action: SlackObject, context: SlackObject) -> None:
            await ack()
            await self.on_action(body, action, context)

        async def on_command(ack: Ack, command: SlackObject, respond: Respond, context: SlackObject) -> None:
            await ack()
            await self.on_command(command, respond, context)

        bolt.event(ANY_EVENT)(on_event)
        bolt.action(STEWARD_ACTION)(on_action)
        bolt.command(self.settings.command)(on_command)

    def _first_time(self, body: SlackObject, kind: str) -> bool:
        event_id = body.get("event_id")
        if event_id and not self.deduper.first_time(str(event_id)):
            self.metrics.events.labels(kind, "duplicate").inc()
            log.info("slack_event_duplicate", event_id=event_id, type=kind)
            return False
        return True

    def _note_where(self, body: SlackObject, event: SlackObject, team: str) -> None:
        seen = self.workspaces.seen
        if body.get("enterprise_id") and team:
            seen.saw_enterprise(team, str(body["enterprise_id"]))
        seen.saw_channel(event.get("channel"), team)
        seen.saw_user(event.get("user"), team)

    def _revocation(self, event: SlackObject) -> str | None:
        """What an event revoked, when it revoked Steward's own bot token (single workspace) or uninstalled it."""
        if self.settings.oauth or self.on_revoked is None:
            return None  # several workspaces: bolt's revocation listeners forget that workspace's installation
        if event.get("type") == "app_uninstalled":
            return "app_uninstalled"
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, Mapping) else None
        return "tokens_revoked" if event.get("type") == "tokens_revoked" and bots else None

    async def on_event(self, body: SlackObject, context: SlackObject) -> None:
        event = body.get("event") or {}
        kind = _event_kind(event)
        if not self._first_time(body, kind):
            return
        revoked = self._revocation(event)
        if revoked is not None and self.on_revoked is not None:
            self.metrics.events.labels(kind, "fatal").inc()
            self.on_revoked(revoked)
            return
        self.last_event_at = time.time()
        self._note_where(body, event, str(body.get("team_id") or context.get("team_id") or ""))
        try:
            events = await self.translator.translate(body, self.workspaces.self_ids(context))
        except Exception as exc:
            self.metrics.events.labels(kind, "error").inc()
            log.exception("slack_event_failed", event_id=body.get("event_id"), type=kind, error=repr(exc))
            return
        if not events:
            self.metrics.events.labels(kind, "ignored").inc()
            return
        for core_event in events:
            await self.app.publish(core_event)
        self.metrics.events.labels(kind, "published").inc()

    async def on_action(self, body: SlackObject, action: SlackObject, context: SlackObject) -> None:
        user_id = _id_of(body.get("user"))
        team = _id_of(body.get("team")) or str(context.get("team_id") or "")
        custom_id = str(action.get("action_id") or "")
        if not user_id or not custom_id:
            self.metrics.rejected_input.labels("slack_action", "incomplete").inc()
            log.warning("slack_action_incomplete", action_id=custom_id)
            return
        channel, message_ts = _where_clicked(body)
        self.workspaces.seen.saw_channel(channel, team)
        self.workspaces.seen.saw_user(user_id, team)
        key = self.interactions.put(Interaction(team, channel, user_id, body.get("response_url"), message_ts))
        actor = await self.translator.actor(team, user_id, self.workspaces.self_ids(context))
        self.metrics.events.labels("block_actions", "published").inc()
        await self.app.publish(
            ButtonPressed(
                actor=actor,
                custom_id=custom_id,
                room=Room(PLATFORM, team, channel) if channel else None,
                message_id=message_ts,
                interaction_id=key,
            )
        )

    async def on_command(self, command: SlackObject, respond: Respond, context: SlackObject) -> None:
        team = str(command.get("team_id") or context.get("team_id") or "")
        user_id = str(command.get("user_id") or "")
        self.workspaces.seen.saw_channel(command.get("channel_id"), team)
        self.workspaces.seen.saw_user(user_id, team)
        reply = await self._run_command(command, team, user_id, context)
        answer = reply.text + await self._perform(reply)
        try:
            await respond(text=escape_text(answer), response_type="ephemeral" if reply.ephemeral else "in_channel")
        except Exception as exc:
            self.metrics.api_errors.labels("response_url", type(exc).__name__).inc()
            log.warning("slack_command_reply_failed", user=user_id, error=repr(exc))

    async def _run_command(self, command: SlackObject, team: str, user_id: str, context: SlackObject) -> CommandReply:
        name = str(command.get("user_name", ""))
        actor = await self.translator.actor(team, user_id, self.workspaces.self_ids(context), name=name)
        info = await self.users.get(team, user_id)
        is_admin = bool(info and (info.is_admin or info.is_owner))
        channel = command.get("channel_id")
        room = Room(PLATFORM, team, str(channel)) if channel else None
        # Slack escapes & < > in what was typed; channel links (<#C0123|general>) arrive as markup
        text = unescape_text(str(command.get("text") or "")).strip() or "help"
        try:
            invocation = CommandInvocation.parse(text, actor=actor, room=room, is_admin=is_admin)
        except CommandError as exc:
            return CommandReply(str(exc), ok=False)
        reply = await self.app.commands.invoke(invocation)
        log.info("slack_command", command=invocation.name, user=user_id, team=team, ok=reply.ok, admin=is_admin)
        return reply

    async def _perform(self, reply: CommandReply) -> str:
        """Perform the actions a command returned; what could not be done, as lines to add to the answer."""
        if not reply.actions:
            return ""
        results = await self.app.router.perform_all(list(reply.actions))
        failures = [r.error for r in results if not r.ok]
        return "".join(f"\n(could not: {error})" for error in failures) if failures else ""
