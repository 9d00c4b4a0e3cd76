"""Core actions out: each action the Slack adapter performs through the Web API.

Everything Steward posts is escaped (no text can ping ``@channel`` or a user group, or hide a link). A Slack error
never raises out of an action: it becomes a failed ``ActionResult`` naming the method and Slack's error (its
``code``), and saying what to change (its ``fix``) when the refusal is a matter of configuration.
"""

from __future__ import annotations

import time

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import escape_text, message_blocks, section_blocks
from adapters.slack.config import SlackSettings
from adapters.slack.inbound import PLATFORM
from adapters.slack.memory import Interaction, InteractionStore
from adapters.slack.web import ApiOutcome, SlackMetrics, WebApi
from adapters.slack.workspaces import Workspaces
from bot.actions import (
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    Button,
    DeleteMessage,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    TimeoutMember,
    UpdatePrompt,
)
from bot.adapter import Adapter, performs
from bot.logging import get_logger
from domain import Room
from storage.slack import AgentPostRepository

log = get_logger("steward.slack")

DM_FALLBACK_NOTE = "dm_failed_fallback"
MAX_USERNAME = 80
NO_CLIENT = "no Slack client"
# chat.delete refusals that a workspace admin's user token can overcome.
NOT_THE_BOTS_MESSAGE = ("cant_delete_message", "not_authed_for_delete")
NO_USER_TOKEN = {
    False: "Slack cannot delete people's messages without a user token with chat:write; set slack.admin_token "
    "(STEWARD_SLACK__ADMIN_TOKEN, a workspace admin's xoxp- token)",
    True: "Slack cannot delete people's messages without a user token with chat:write; set slack.user_scopes = "
    '["chat:write"] and have a workspace admin install Steward again',
}
NO_TIMEOUT_FIX = "Slack has no member timeout: end the warning ladder at a warn step for Slack servers"


class SlackPerformers(Adapter):
    """The performers of the Slack adapter; the adapter (``adapters.slack.adapter``) sets the parts below."""

    platform = PLATFORM
    settings: SlackSettings
    web: WebApi
    workspaces: Workspaces
    interactions: InteractionStore
    metrics: SlackMetrics
    posts: AgentPostRepository

    async def _post(
        self,
        client: AsyncWebClient,
        channel: str,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        thread_ts: str | None = None,
        username: str | None = None,
        icon_url: str | None = None,
    ) -> ApiOutcome:
        escaped = escape_text(text)
        options: dict[str, object] = {"channel": channel, "text": escaped}
        optional = {
            "blocks": message_blocks(escaped, buttons),
            "thread_ts": thread_ts,
            "username": username,
            "icon_url": icon_url,
        }
        options.update({key: value for key, value in optional.items() if value})
        return await self.web.call(client, "chat_postMessage", **options)

    @performs(SendMessage)
    async def send_message(self, action: SendMessage) -> ActionResult:
        client, error = await self.workspaces.client(action.room.server)
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        outcome = await self._post(
            client,
            action.room.channel,
            action.text,
            buttons=action.buttons,
            thread_ts=action.thread_id or action.reply_to,
        )
        if not outcome.ok:
            return outcome.failed("chat.postMessage")
        return ActionResult(ok=True, message_id=outcome.data.get("ts"), channel_id=action.room.channel)

    @performs(PostAsAgent)
    async def post_as_agent(self, action: PostAsAgent) -> ActionResult:
        client, error = await self.workspaces.client(action.room.server)
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        outcome = await self._post(
            client,
            action.room.channel,
            action.text,
            thread_ts=action.thread_id or action.reply_to,
            username=action.agent.shown_name[:MAX_USERNAME],
            icon_url=action.agent.avatar_url,
        )
        if not outcome.ok:
            return outcome.failed("chat.postMessage")
        ts = outcome.data.get("ts")
        if ts:
            await self.posts.record(
                team_id=action.room.server,
                channel_id=action.room.channel,
                ts=str(ts),
                agent=action.agent.name,
                posted_at=time.time(),
            )
        return ActionResult(ok=True, message_id=ts, channel_id=action.room.channel)

    @performs(DeleteMessage)
    async def delete_message(self, action: DeleteMessage) -> ActionResult:
        client, error = await self.workspaces.client(action.room.server)
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        room, ts = action.room, action.message_id
        outcome = await self.web.call(client, "chat_delete", channel=room.channel, ts=ts)
        if outcome.ok:
            return ActionResult(ok=True, message_id=ts, channel_id=room.channel)
        if outcome.error not in NOT_THE_BOTS_MESSAGE:
            return outcome.failed("chat.delete")
        # A bot token deletes only the bot's own messages; someone else's needs a workspace admin's user token.
        admin = await self.workspaces.admin_client(room.server)
        if admin is None:
            self.metrics.delete_refused.inc()
            log.warning("slack_delete_refused", room=room.key, message_id=ts, reason=action.reason, error=outcome.error)
            return ActionResult.failed(
                f"slack chat.delete: {outcome.error} (Slack lets a bot delete only its own messages)",
                code=outcome.error,
                fix=NO_USER_TOKEN[self.settings.oauth],
            )
        outcome = await self.web.call(admin, "chat_delete", channel=room.channel, ts=ts)
        if not outcome.ok:
            return outcome.failed("chat.delete (admin token)")
        return ActionResult(ok=True, message_id=ts, channel_id=room.channel, note="deleted_with_admin_token")

    @performs(TimeoutMember)
    async def timeout_member(self, action: TimeoutMember) -> ActionResult:
        self.metrics.unsupported.labels("TimeoutMember").inc()
        log.warning("slack_timeout_unsupported", room=action.room.key, user=action.user_id, seconds=action.seconds)
        return ActionResult.failed(
            "Slack has no member timeout: the member was not timed out (remove them from the channel or ask a "
            "workspace admin)",
            code="unsupported",
            fix=NO_TIMEOUT_FIX,
        )

    async def _open_dm(
        self, client: AsyncWebClient, team: str | None, user_id: str, text: str, buttons: tuple[Button, ...]
    ) -> ActionResult | str:
        """Post ``text`` in a DM to the user: the result, or why it could not be done."""
        opened = await self.web.call(client, "conversations_open", users=user_id)
        if not opened.ok:
            return f"conversations.open: {opened.error}"
        channel = str((opened.data.get("channel") or {}).get("id") or "")
        await self.workspaces.opened_dm(channel, team, user_id, time.time())
        posted = await self._post(client, channel, text, buttons=buttons)
        if not posted.ok:
            return f"chat.postMessage: {posted.error}"
        return ActionResult(ok=True, message_id=posted.data.get("ts"), channel_id=channel)

    def _fallback_room(self, fallback_room: Room | None, team: str | None) -> Room | None:
        if fallback_room is not None or not team or team not in self.settings.dm_fallback_channels:
            return fallback_room
        return Room(PLATFORM, team, self.settings.dm_fallback_channels[team])

    async def _direct(
        self, user_id: str, text: str, buttons: tuple[Button, ...], fallback_room: Room | None
    ) -> ActionResult:
        team = fallback_room.server if fallback_room is not None else await self.workspaces.of_user(user_id)
        client, dm_error = await self.workspaces.client(team)
        if client is not None:
            sent = await self._open_dm(client, team, user_id, text, buttons)
            if isinstance(sent, ActionResult):
                return sent
            dm_error = sent
        room = self._fallback_room(fallback_room, team)
        if room is None:
            return ActionResult.failed(f"could not DM {user_id} ({dm_error}) and there is no fallback channel")
        return await self._post_in_fallback(room, user_id, text, buttons, dm_error)

    async def _post_in_fallback(
        self, room: Room, user_id: str, text: str, buttons: tuple[Button, ...], dm_error: str | None
    ) -> ActionResult:
        client, error = await self.workspaces.client(room.server)
        if client is None:
            return ActionResult.failed(f"could not DM {user_id} ({dm_error}); fallback: {error}")
        posted = await self._post(client, room.channel, f"<@{user_id}> {text}", buttons=buttons)
        if not posted.ok:
            return ActionResult.failed(
                f"could not DM {user_id} ({dm_error}) nor post in the fallback channel ({posted.error})"
            )
        self.metrics.dm_fallbacks.inc()
        self.workspaces.seen.saw_channel(room.channel, room.server)
        log.info("slack_dm_fell_back", user=user_id, error=dm_error, room=room.key)
        return ActionResult(ok=True, message_id=posted.data.get("ts"), channel_id=room.channel, note=DM_FALLBACK_NOTE)

    @performs(SendDirectMessage)
    async def send_direct_message(self, action: SendDirectMessage) -> ActionResult:
        return await self._direct(action.user_id, action.text, action.buttons, action.fallback_room)

    @performs(SendApprovalPrompt)
    async def send_approval_prompt(self, action: SendApprovalPrompt) -> ActionResult:
        return await self._direct(action.user_id, action.text, action.buttons, action.fallback_room)

    @performs(UpdatePrompt)
    async def update_prompt(self, action: UpdatePrompt) -> ActionResult:
        client, error = await self.workspaces.client(await self.workspaces.of_channel(action.channel_id))
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        text = escape_text(action.text)
        outcome = await self.web.call(
            client,
            "chat_update",
            channel=action.channel_id,
            ts=action.message_id,
            text=text,
            blocks=section_blocks(text),
        )
        if not outcome.ok:
            return outcome.failed("chat.update")
        return ActionResult(ok=True, message_id=action.message_id, channel_id=action.channel_id)

    async def _respond(self, interaction: Interaction, text: str, *, ephemeral: bool) -> str | None:
        """Answer through the click's ``response_url``; None when that worked, else why not."""
        if not interaction.response_url:
            return "no response_url"
        try:
            response = await AsyncWebhookClient(interaction.response_url).send(
                text=text, response_type="ephemeral" if ephemeral else "in_channel", replace_original=False
            )
        except Exception as exc:
            error, label = f"{type(exc).__name__}: {exc}", type(exc).__name__
        else:
            if response.status_code == 200:
                return None
            error, label = f"HTTP {response.status_code} {response.body[:80]}", f"http_{response.status_code}"
        self.web.count_error("response_url", label)
        log.warning("slack_response_url_failed", error=error)
        return error

    @performs(AnswerInteraction)
    async def answer_interaction(self, action: AnswerInteraction) -> ActionResult:
        interaction = self.interactions.get(action.interaction_id)
        if interaction is None:
            return ActionResult.failed(f"interaction {action.interaction_id!r} is unknown or has expired")
        text = escape_text(action.text)
        response_error = await self._respond(interaction, text, ephemeral=action.ephemeral)
        if response_error is None:
            return ActionResult(ok=True, channel_id=interaction.channel_id)
        channel = interaction.channel_id
        if not channel:
            return ActionResult.failed(f"could not answer the interaction ({response_error})")
        client, error = await self.workspaces.client(interaction.team_id)
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        if action.ephemeral:
            method = "chat.postEphemeral"
            outcome = await self.web.call(
                client, "chat_postEphemeral", channel=channel, user=interaction.user_id, text=text
            )
        else:
            method = "chat.postMessage"
            outcome = await self.web.call(client, "chat_postMessage", channel=channel, text=text)
        if not outcome.ok:
            return outcome.failed(method)
        return ActionResult(ok=True, channel_id=channel, message_id=outcome.data.get("message_ts"))

    async def _membership(
        self, method: str, room: Room, user_key: str, user: str | None, already: str, absent_note: str
    ) -> ActionResult:
        """``conversations.invite`` / ``conversations.kick`` of an agent's bot user; ``already`` is Slack's error
        saying there was nothing to do."""
        if not user:
            # A managed agent speaks through Steward's own bot: there is no bot user to invite or remove.
            return ActionResult(ok=True, channel_id=room.channel, note=absent_note)
        client, error = await self.workspaces.client(room.server)
        if client is None:
            return ActionResult.failed(error or NO_CLIENT)
        outcome = await self.web.call(client, method, channel=room.channel, **{user_key: user})
        if outcome.ok:
            return ActionResult(ok=True, channel_id=room.channel)
        if outcome.error == already:
            return ActionResult(ok=True, channel_id=room.channel, note=already)
        return outcome.failed(method.replace("_", "."))

    @performs(AddAgentToChannel)
    async def add_agent(self, action: AddAgentToChannel) -> ActionResult:
        return await self._membership(
            "conversations_invite",
            action.room,
            "users",
            action.agent.platform_user_id,
            "already_in_channel",
            "no_bot_user_to_invite",
        )

    @performs(RemoveAgentFromChannel)
    async def remove_agent(self, action: RemoveAgentFromChannel) -> ActionResult:
        return await self._membership(
            "conversations_kick",
            action.room,
            "user",
            action.agent.platform_user_id,
            "not_in_channel",
            "no_bot_user_to_remove",
        )
