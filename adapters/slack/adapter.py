"""The Slack adapter: a slack-bolt ``AsyncApp`` feeding core events into Steward, and Steward's actions performed
through the Slack Web API.

Events arrive over Socket Mode (a websocket Steward opens; no public URL) or HTTP mode (Slack posts signed requests
to Steward's own aiohttp server). Either way bolt acknowledges at once and the listeners below translate the payload
(``adapters.slack.inbound``) and publish it on the bus. A single bot token is the simple default; with an OAuth
client id and secret Steward serves several workspaces, with their installations in its database.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import escape_text, message_blocks, section_blocks
from adapters.slack.config import SlackSettings
from adapters.slack.inbound import (
    PLATFORM,
    EventDeduper,
    Interaction,
    InteractionStore,
    SelfIds,
    Translator,
    UserDirectory,
)
from adapters.slack.oauth import SQLiteInstallationStore, SQLiteOAuthStateStore
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
from bot.commands import CommandError, CommandInvocation, CommandReply
from bot.events import ButtonPressed
from bot.logging import get_logger
from domain import Room
from storage.slack import (
    SLACK_MIGRATIONS,
    AgentPostRepository,
    DmChannelRepository,
    OAuthStateRepository,
    SlackInstallationRepository,
)

if TYPE_CHECKING:
    from bot.app import StewardApp

log = get_logger("steward.slack")

_STEWARD_ACTION = re.compile(r"^steward:")
_ANY_EVENT = re.compile(r"^.+$")
_MAP_LIMIT = 100_000


class SlackStartError(RuntimeError):
    """Slack could not be reached or refused Steward's credentials at start."""


@dataclass(frozen=True, slots=True)
class ApiOutcome:
    ok: bool
    data: Mapping[str, Any]
    error: str | None = None


class SlackAdapter(Adapter):
    platform = PLATFORM

    def __init__(self, settings: SlackSettings) -> None:
        super().__init__()
        self.settings = settings
        self.bolt: AsyncApp | None = None
        self._socket: Any = None  # AsyncSocketModeHandler in Socket Mode
        self._clients: dict[str, AsyncWebClient] = {}
        self._installations: SQLiteInstallationStore | None = None
        self._posts: AgentPostRepository | None = None
        self._translator: Translator | None = None
        self._users: UserDirectory | None = None
        self._deduper = EventDeduper(settings.dedupe_ttl, settings.dedupe_max_entries)
        self._interactions = InteractionStore(settings.interaction_ttl, settings.max_pending_interactions)
        self._me = SelfIds(None, None)  # single-workspace: Steward's bot user and bot id (from auth.test)
        self._team_id: str | None = None
        # Multi-workspace: which workspace a channel or user was last seen in, to pick the token for an action.
        self._channel_team: dict[str, str] = {}
        self._user_team: dict[str, str] = {}
        self._enterprise_of: dict[str, str] = {}
        self._connected = False
        self._last_event_at: float | None = None
        secret = settings.secret("signing_secret")
        self._verifier = SignatureVerifier(secret) if secret else None

    # --- lifecycle --------------------------------------------------------------------------------------------

    async def setup(self, app: StewardApp) -> None:
        self.app = app
        await app.db.migrate("slack", SLACK_MIGRATIONS)
        self._posts = AgentPostRepository(app.db)
        self._dm_channels = DmChannelRepository(app.db)
        pruned = await self._posts.prune(time.time() - self.settings.agent_post_retention_days * 86400)
        m = app.metrics
        self._m_events = m.counter(
            "steward_slack_events_total", "Slack events received, by type and outcome", ["type", "outcome"]
        )
        self._m_api_errors = m.counter(
            "steward_slack_api_errors_total",
            "Slack Web API calls that failed, by method and error",
            ["method", "error"],
        )
        self._m_dm_fallbacks = m.counter(
            "steward_slack_dm_fallbacks_total", "Direct messages that failed and were posted in a fallback channel"
        )
        self._m_delete_refused = m.counter(
            "steward_slack_delete_refused_total", "Deletions of other people's messages refused for want of a token"
        )
        self._m_unsupported = m.counter(
            "steward_slack_unsupported_actions_total", "Actions Slack cannot perform (e.g. timeouts)", ["action"]
        )
        self._users = UserDirectory(self._users_info, self.settings.user_cache_ttl)
        self._translator = Translator(
            agents=app.agents, posts=self._posts, users=self._users if self.settings.user_cache_ttl > 0 else None
        )
        self.bolt = self._build_bolt(app)
        self._register_listeners(self.bolt)
        if self.settings.mode == "http" or self.settings.oauth:
            if app.http is None:
                raise SlackStartError(
                    "Slack HTTP mode and OAuth installs are served by Steward's HTTP server: enable [http]"
                )
            app.http.add_routes(self._routes())
        log.info(
            "slack_adapter_ready",
            mode=self.settings.mode,
            multi_workspace=self.settings.oauth,
            pruned_agent_posts=pruned,
        )

    def _build_bolt(self, app: StewardApp) -> AsyncApp:
        common: dict[str, Any] = {
            "name": "steward",
            "logger": logging.getLogger("steward.slack.bolt"),
            "process_before_response": False,
            # HTTP requests are verified (and refusals counted) in ``_handle_post`` before bolt sees them; Socket
            # Mode needs no signature.
            "request_verification_enabled": False,
            "signing_secret": self.settings.secret("signing_secret") or "",
        }
        if self.settings.oauth:
            client_id = self.settings.secret("client_id") or ""
            self._installations = SQLiteInstallationStore(SlackInstallationRepository(app.db, client_id))
            oauth = AsyncOAuthSettings(
                client_id=client_id,
                client_secret=self.settings.secret("client_secret"),
                scopes=self.settings.scopes,
                user_scopes=self.settings.user_scopes or None,
                redirect_uri=self.settings.redirect_uri,
                install_path=self.settings.install_path,
                redirect_uri_path=self.settings.redirect_path,
                installation_store=self._installations,
                state_store=SQLiteOAuthStateStore(OAuthStateRepository(app.db)),
            )
            bolt = AsyncApp(client=self._web(None), oauth_settings=oauth, **common)
            bolt.enable_token_revocation_listeners()
            return bolt
        return AsyncApp(client=self._web(self.settings.secret("bot_token")), **common)

    async def start(self, app: StewardApp) -> None:
        self.app = app
        if not self.settings.oauth:
            outcome = await self._within_connect_timeout(
                self._call(self._web(self.settings.secret("bot_token")), "auth_test"), "auth.test"
            )
            if not outcome.ok:
                raise SlackStartError(f"Slack refused the bot token (auth.test: {outcome.error})")
            self._me = SelfIds(outcome.data.get("user_id"), outcome.data.get("bot_id"))
            self._team_id = outcome.data.get("team_id")
            log.info("slack_authenticated", team=self._team_id, bot_user=self._me.bot_user_id, bot_id=self._me.bot_id)
        if self.settings.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert self.bolt is not None
            app_token = self.settings.secret("app_token")
            # Ask for the websocket URL here so that a wrong app token fails start-up at once with Slack's error
            # (the socket client itself would retry it forever); reconnects later ask for fresh URLs themselves.
            opened = await self._within_connect_timeout(
                self._call(self._web(None), "apps_connections_open", app_token=app_token), "apps.connections.open"
            )
            if not opened.ok or not opened.data.get("url"):
                raise SlackStartError(f"Slack refused the app-level token (apps.connections.open: {opened.error})")
            self._socket = AsyncSocketModeHandler(
                self.bolt, app_token=app_token, web_client=self._web(None), ping_interval=self.settings.ping_interval
            )
            self._socket.client.wss_uri = opened.data["url"]
            try:
                await asyncio.wait_for(self._socket.connect_async(), self.settings.connect_timeout)
            except TimeoutError:
                await self._socket.close_async()
                self._socket = None
                raise SlackStartError(
                    f"no Socket Mode connection within {self.settings.connect_timeout:g}s "
                    "(check STEWARD_SLACK__APP_TOKEN and that Socket Mode is enabled for the app)"
                ) from None
            log.info("slack_socket_mode_connected")
        self._connected = True

    async def _within_connect_timeout(self, call: Awaitable[ApiOutcome], what: str) -> ApiOutcome:
        try:
            return await asyncio.wait_for(call, self.settings.connect_timeout)
        except TimeoutError:
            raise SlackStartError(f"Slack did not answer {what} within {self.settings.connect_timeout:g}s") from None

    async def stop(self) -> None:
        self._connected = False
        if self._socket is not None:
            try:
                await self._socket.close_async()
            finally:
                self._socket = None

    def _socket_open(self) -> bool:
        session = self._socket.client.current_session if self._socket is not None else None
        return session is not None and not session.closed

    def health(self) -> dict[str, Any]:
        up = self._connected and (self.settings.mode != "socket" or self._socket_open())
        return {
            "up": up,
            "mode": self.settings.mode,
            "multi_workspace": self.settings.oauth,
            "team": self._team_id,
            "last_event_at": self._last_event_at,
            "pending_interactions": len(self._interactions),
            "remembered_event_ids": len(self._deduper),
        }

    # --- clients and calls ------------------------------------------------------------------------------------

    def _web(self, token: str | None) -> AsyncWebClient:
        key = token or ""
        client = self._clients.get(key)
        if client is None:
            client = AsyncWebClient(
                token=token,
                base_url=self.settings.api_base_url,
                logger=logging.getLogger("steward.slack.web"),
                retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
            )
            self._clients[key] = client
        return client

    async def _client(self, team_id: str | None) -> tuple[AsyncWebClient | None, str | None]:
        """The bot client for ``team_id``, or an error saying why there is none."""
        if not self.settings.oauth:
            return self._web(self.settings.secret("bot_token")), None
        assert self._installations is not None
        if not team_id:
            teams = await self._installations.repository.teams()
            if len(teams) != 1:
                return None, "cannot tell which Slack workspace this action is for"
            team_id = teams[0]
        enterprise = self._enterprise_of.get(team_id)
        bot = await self._installations.async_find_bot(enterprise_id=enterprise, team_id=team_id)
        if bot is None or not bot.bot_token:
            return None, f"Steward is not installed in Slack workspace {team_id}"
        return self._web(bot.bot_token), None

    async def _admin_client(self, team_id: str | None) -> AsyncWebClient | None:
        """A client with a user token allowed to delete others' messages, when one is configured or installed."""
        if not self.settings.oauth:
            token = self.settings.secret("admin_token")
            return self._web(token) if token else None
        assert self._installations is not None
        if not team_id:
            return None
        installation = await self._installations.async_find_installation(
            enterprise_id=self._enterprise_of.get(team_id), team_id=team_id
        )
        return self._web(installation.user_token) if installation is not None and installation.user_token else None

    async def _call(self, client: AsyncWebClient, method: str, **kwargs: Any) -> ApiOutcome:
        """Call a Web API method; a Slack error or a network failure is logged and counted, never raised."""
        api_name = method.replace("_", ".")  # chat_postMessage -> chat.postMessage
        try:
            response = await getattr(client, method)(**kwargs)
        except SlackApiError as exc:
            error = label = str(exc.response.get("error") or "unknown_error")[:60]
        except Exception as exc:  # network failures, timeouts
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            label = type(exc).__name__
        else:
            return ApiOutcome(True, response.data if isinstance(response.data, dict) else {})
        self._m_api_errors.labels(api_name, label).inc()
        log.warning("slack_api_error", method=api_name, error=error)
        return ApiOutcome(False, {}, error)

    async def _users_info(self, team_id: str, user_id: str) -> Mapping[str, Any] | None:
        client, _error = await self._client(team_id)
        if client is None:
            return None
        outcome = await self._call(client, "users_info", user=user_id)
        return outcome.data.get("user") if outcome.ok else None

    async def _team_of_channel(self, channel_id: str) -> str | None:
        if not self.settings.oauth:
            return self._team_id
        return self._channel_team.get(channel_id) or await self._dm_channels.team_of(channel_id)

    async def _team_of_user(self, user_id: str) -> str | None:
        """The workspace a user belongs to: where they were last seen, else (several workspaces installed) the first
        installation whose bot can see them."""
        known = self._user_team.get(user_id)
        if known is not None or not self.settings.oauth:
            return known or self._team_id
        assert self._installations is not None
        teams = await self._installations.repository.teams()
        if len(teams) == 1:
            return teams[0]
        for team in teams:
            client, _error = await self._client(team)
            if client is None:
                continue
            try:
                await client.users_info(user=user_id)
            except Exception:  # user_not_found in the other workspaces is the expected answer
                continue
            self._remember(self._user_team, user_id, team)
            return team
        return None

    def _remember(self, mapping: dict[str, str], key: str | None, team: str | None) -> None:
        if not key or not team or not self.settings.oauth:
            return
        if len(mapping) >= _MAP_LIMIT:
            mapping.clear()
        mapping[key] = team

    # --- HTTP mode -------------------------------------------------------------------------------------------

    def _routes(self) -> list[web.RouteDef]:
        routes: list[web.RouteDef] = []
        if self.settings.mode == "http":
            paths = dict.fromkeys(
                (self.settings.events_path, self.settings.interactivity_path, self.settings.commands_path)
            )
            routes += [web.post(path, self._handle_post) for path in paths]
        if self.settings.oauth:
            routes += [
                web.get(self.settings.install_path, self._handle_install),
                web.get(self.settings.redirect_path, self._handle_redirect),
            ]
        return routes

    def _refuse(self, reason: str, request: web.Request) -> web.Response:
        assert self.app is not None
        self.app.metrics.rejected_input.labels("slack_http", reason).inc()
        log.warning("slack_request_refused", reason=reason, path=request.path, remote=request.remote)
        return web.Response(status=401, text="invalid request signature")

    async def _handle_post(self, request: web.Request) -> web.Response:
        assert self.bolt is not None
        try:
            body = await request.text()
        except web.HTTPRequestEntityTooLarge:
            assert self.app is not None
            self.app.metrics.rejected_input.labels("slack_http", "too_large").inc()
            log.warning("slack_request_too_large", path=request.path, length=request.content_length)
            raise
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if self._verifier is None:
            return self._refuse("no_signing_secret", request)
        if not timestamp or not signature:
            return self._refuse("missing_signature", request)
        try:
            sent_at = int(timestamp)
        except ValueError:
            return self._refuse("bad_timestamp", request)
        if abs(time.time() - sent_at) > self.settings.max_signature_age:
            return self._refuse("stale_timestamp", request)
        expected = self._verifier.generate_signature(timestamp=timestamp, body=body) or ""
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return self._refuse("bad_signature", request)
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(request.headers))
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def _handle_install(self, request: web.Request) -> web.Response:
        assert self.bolt is not None and self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_installation(await to_bolt_request(request)))

    async def _handle_redirect(self, request: web.Request) -> web.Response:
        assert self.bolt is not None and self.bolt.oauth_flow is not None
        response = await self.bolt.oauth_flow.handle_callback(await to_bolt_request(request))
        log.info("slack_oauth_callback", status=response.status)
        return await to_aiohttp_response(response)

    # --- inbound ----------------------------------------------------------------------------------------------

    def _register_listeners(self, bolt: AsyncApp) -> None:
        async def on_event(body: dict, context: dict) -> None:
            await self._on_event(body, context)

        async def on_action(ack: Any, body: dict, action: dict, context: dict) -> None:
            await ack()
            await self._on_action(body, action, context)

        async def on_command(ack: Any, command: dict, respond: Any, context: dict) -> None:
            await ack()
            await self._on_command(command, respond, context)

        bolt.event(_ANY_EVENT)(on_event)
        bolt.action(_STEWARD_ACTION)(on_action)
        bolt.command(self.settings.command)(on_command)

    def _self_ids(self, context: Mapping[str, Any]) -> SelfIds:
        return SelfIds(context.get("bot_user_id") or self._me.bot_user_id, context.get("bot_id") or self._me.bot_id)

    async def _on_event(self, body: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        assert self.app is not None and self._translator is not None
        event = body.get("event") or {}
        kind = str(event.get("type") or "?")
        if event.get("subtype"):
            kind = f"{kind}.{event['subtype']}"
        event_id = body.get("event_id")
        if event_id and not self._deduper.first_time(str(event_id)):
            self._m_events.labels(kind, "duplicate").inc()
            log.info("slack_event_duplicate", event_id=event_id, type=kind)
            return
        self._last_event_at = time.time()
        team = str(body.get("team_id") or context.get("team_id") or "")
        if body.get("enterprise_id") and team:
            self._remember(self._enterprise_of, team, str(body["enterprise_id"]))
        self._remember(self._channel_team, event.get("channel"), team)
        self._remember(self._user_team, event.get("user"), team)
        try:
            events = await self._translator.translate(body, self._self_ids(context))
        except Exception as exc:
            self._m_events.labels(kind, "error").inc()
            log.exception("slack_event_failed", event_id=event_id, type=kind, error=repr(exc))
            return
        if not events:
            self._m_events.labels(kind, "ignored").inc()
            return
        for core_event in events:
            await self.app.publish(core_event)
        self._m_events.labels(kind, "published").inc()

    async def _on_action(self, body: Mapping[str, Any], action: Mapping[str, Any], context: Mapping[str, Any]) -> None:
        assert self.app is not None and self._translator is not None
        user_id = str((body.get("user") or {}).get("id") or "")
        team = str((body.get("team") or {}).get("id") or context.get("team_id") or "")
        custom_id = str(action.get("action_id") or "")
        if not user_id or not custom_id:
            self.app.metrics.rejected_input.labels("slack_action", "incomplete").inc()
            log.warning("slack_action_incomplete", action_id=custom_id)
            return
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        message_ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
        self._remember(self._channel_team, channel, team)
        self._remember(self._user_team, user_id, team)
        key = self._interactions.put(
            Interaction(
                team_id=team,
                channel_id=channel,
                user_id=user_id,
                response_url=body.get("response_url"),
                message_ts=message_ts,
            )
        )
        actor = await self._translator.actor(team, user_id, self._self_ids(context))
        self._m_events.labels("block_actions", "published").inc()
        await self.app.publish(
            ButtonPressed(
                actor=actor,
                custom_id=custom_id,
                room=Room(PLATFORM, team, str(channel)) if channel else None,
                message_id=str(message_ts) if message_ts else None,
                interaction_id=key,
            )
        )

    async def _on_command(self, command: Mapping[str, Any], respond: Any, context: Mapping[str, Any]) -> None:
        assert self.app is not None and self._translator is not None and self._users is not None
        team = str(command.get("team_id") or context.get("team_id") or "")
        user_id = str(command.get("user_id") or "")
        channel = command.get("channel_id")
        self._remember(self._channel_team, channel, team)
        self._remember(self._user_team, user_id, team)
        actor = await self._translator.actor(team, user_id, self._self_ids(context), name=command.get("user_name", ""))
        info = await self._users.get(team, user_id)
        is_admin = bool(info and (info.is_admin or info.is_owner))
        room = Room(PLATFORM, team, str(channel)) if channel else None
        text = str(command.get("text") or "").strip() or "help"
        try:
            invocation = CommandInvocation.parse(text, actor=actor, room=room, is_admin=is_admin)
        except CommandError as exc:
            reply = CommandReply(str(exc), ok=False)
        else:
            reply = await self.app.commands.invoke(invocation)
            log.info("slack_command", command=invocation.name, user=user_id, team=team, ok=reply.ok, admin=is_admin)
        answer = reply.text
        if reply.actions:
            results = await self.app.router.perform_all(list(reply.actions))
            failures = [r.error for r in results if not r.ok]
            if failures:
                answer += "\n" + "\n".join(f"(could not: {error})" for error in failures)
        try:
            await respond(text=escape_text(answer), response_type="ephemeral" if reply.ephemeral else "in_channel")
        except Exception as exc:
            self._m_api_errors.labels("response_url", type(exc).__name__).inc()
            log.warning("slack_command_reply_failed", user=user_id, error=repr(exc))

    # --- actions ----------------------------------------------------------------------------------------------

    async def _post(
        self,
        client: AsyncWebClient,
        channel: str,
        text: str,
        *,
        buttons: tuple[Button, ...] = (),
        thread_ts: str | None = None,
        **extra: Any,
    ) -> ApiOutcome:
        escaped = escape_text(text)
        kwargs: dict[str, Any] = {"channel": channel, "text": escaped, **extra}
        blocks = message_blocks(escaped, buttons)
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return await self._call(client, "chat_postMessage", **kwargs)

    @staticmethod
    def _failed(method: str, outcome: ApiOutcome) -> ActionResult:
        return ActionResult.failed(f"slack {method}: {outcome.error}")

    @performs(SendMessage)
    async def send_message(self, action: SendMessage) -> ActionResult:
        client, error = await self._client(action.room.server)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        outcome = await self._post(
            client,
            action.room.channel,
            action.text,
            buttons=action.buttons,
            thread_ts=action.thread_id or action.reply_to,
        )
        if not outcome.ok:
            return self._failed("chat.postMessage", outcome)
        return ActionResult(ok=True, message_id=outcome.data.get("ts"), channel_id=action.room.channel)

    @performs(PostAsAgent)
    async def post_as_agent(self, action: PostAsAgent) -> ActionResult:
        client, error = await self._client(action.room.server)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        extra: dict[str, Any] = {"username": action.agent.shown_name[:80]}
        if action.agent.avatar_url:
            extra["icon_url"] = action.agent.avatar_url
        outcome = await self._post(
            client, action.room.channel, action.text, thread_ts=action.thread_id or action.reply_to, **extra
        )
        if not outcome.ok:
            return self._failed("chat.postMessage", outcome)
        ts = outcome.data.get("ts")
        if ts and self._posts is not None:
            await self._posts.record(
                team_id=action.room.server,
                channel_id=action.room.channel,
                ts=str(ts),
                agent=action.agent.name,
                posted_at=time.time(),
            )
        return ActionResult(ok=True, message_id=ts, channel_id=action.room.channel)

    @performs(DeleteMessage)
    async def delete_message(self, action: DeleteMessage) -> ActionResult:
        client, error = await self._client(action.room.server)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        outcome = await self._call(client, "chat_delete", channel=action.room.channel, ts=action.message_id)
        if outcome.ok:
            return ActionResult(ok=True, message_id=action.message_id, channel_id=action.room.channel)
        if outcome.error not in ("cant_delete_message", "not_authed_for_delete"):
            return self._failed("chat.delete", outcome)
        # A bot token deletes only the bot's own messages; someone else's needs a workspace admin's user token.
        admin = await self._admin_client(action.room.server)
        if admin is None:
            self._m_delete_refused.inc()
            log.warning(
                "slack_delete_refused",
                room=action.room.key,
                message_id=action.message_id,
                reason=action.reason,
            )
            return ActionResult.failed(
                "Slack lets a bot delete only its own messages; set STEWARD_SLACK__ADMIN_TOKEN (a workspace admin's "
                "user token) so Steward can delete other people's"
            )
        outcome = await self._call(admin, "chat_delete", channel=action.room.channel, ts=action.message_id)
        if not outcome.ok:
            return self._failed("chat.delete (admin token)", outcome)
        return ActionResult(
            ok=True, message_id=action.message_id, channel_id=action.room.channel, note="deleted_with_admin_token"
        )

    @performs(TimeoutMember)
    async def timeout_member(self, action: TimeoutMember) -> ActionResult:
        self._m_unsupported.labels("TimeoutMember").inc()
        log.warning("slack_timeout_unsupported", room=action.room.key, user=action.user_id, seconds=action.seconds)
        return ActionResult.failed(
            "Slack has no member timeout: the member was not timed out (remove them from the channel or ask a "
            "workspace admin)"
        )

    async def _direct(
        self, user_id: str, text: str, buttons: tuple[Button, ...], fallback_room: Room | None
    ) -> ActionResult:
        team = fallback_room.server if fallback_room is not None else await self._team_of_user(user_id)
        client, error = await self._client(team)
        dm_error = error
        if client is not None:
            opened = await self._call(client, "conversations_open", users=user_id)
            if opened.ok:
                channel = str((opened.data.get("channel") or {}).get("id") or "")
                if self.settings.oauth and team and channel:
                    self._remember(self._channel_team, channel, team)
                    await self._dm_channels.record(
                        channel_id=channel, team_id=team, user_id=user_id, opened_at=time.time()
                    )
                posted = await self._post(client, channel, text, buttons=buttons)
                if posted.ok:
                    return ActionResult(ok=True, message_id=posted.data.get("ts"), channel_id=channel)
                dm_error = f"chat.postMessage: {posted.error}"
            else:
                dm_error = f"conversations.open: {opened.error}"
        room = fallback_room
        if room is None and team and team in self.settings.dm_fallback_channels:
            room = Room(PLATFORM, team, self.settings.dm_fallback_channels[team])
        if room is None:
            return ActionResult.failed(f"could not DM {user_id} ({dm_error}) and there is no fallback channel")
        client, error = await self._client(room.server)
        if client is None:
            return ActionResult.failed(f"could not DM {user_id} ({dm_error}); fallback: {error}")
        posted = await self._post(client, room.channel, f"<@{user_id}> {text}", buttons=buttons)
        if not posted.ok:
            return ActionResult.failed(
                f"could not DM {user_id} ({dm_error}) nor post in the fallback channel ({posted.error})"
            )
        self._m_dm_fallbacks.inc()
        self._remember(self._channel_team, room.channel, room.server)
        log.info("slack_dm_fell_back", user=user_id, error=dm_error, room=room.key)
        return ActionResult(
            ok=True, message_id=posted.data.get("ts"), channel_id=room.channel, note="dm_failed_fallback"
        )

    @performs(SendDirectMessage)
    async def send_direct_message(self, action: SendDirectMessage) -> ActionResult:
        return await self._direct(action.user_id, action.text, action.buttons, action.fallback_room)

    @performs(SendApprovalPrompt)
    async def send_approval_prompt(self, action: SendApprovalPrompt) -> ActionResult:
        return await self._direct(action.user_id, action.text, action.buttons, action.fallback_room)

    @performs(UpdatePrompt)
    async def update_prompt(self, action: UpdatePrompt) -> ActionResult:
        client, error = await self._client(await self._team_of_channel(action.channel_id))
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        text = escape_text(action.text)
        outcome = await self._call(
            client,
            "chat_update",
            channel=action.channel_id,
            ts=action.message_id,
            text=text,
            blocks=section_blocks(text),
        )
        if not outcome.ok:
            return self._failed("chat.update", outcome)
        return ActionResult(ok=True, message_id=action.message_id, channel_id=action.channel_id)

    @performs(AnswerInteraction)
    async def answer_interaction(self, action: AnswerInteraction) -> ActionResult:
        interaction = self._interactions.get(action.interaction_id)
        if interaction is None:
            return ActionResult.failed(f"interaction {action.interaction_id!r} is unknown or has expired")
        text = escape_text(action.text)
        response_error = "no response_url"
        if interaction.response_url:
            try:
                response = await AsyncWebhookClient(interaction.response_url).send(
                    text=text, response_type="ephemeral" if action.ephemeral else "in_channel", replace_original=False
                )
            except Exception as exc:
                response_error, label = f"{type(exc).__name__}: {exc}", type(exc).__name__
            else:
                if response.status_code == 200:
                    return ActionResult(ok=True, channel_id=interaction.channel_id)
                response_error = f"HTTP {response.status_code} {response.body[:80]}"
                label = f"http_{response.status_code}"
            self._m_api_errors.labels("response_url", label).inc()
            log.warning("slack_response_url_failed", error=response_error)
        if not interaction.channel_id:
            return ActionResult.failed(f"could not answer the interaction ({response_error})")
        client, error = await self._client(interaction.team_id)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        if action.ephemeral:
            outcome = await self._call(
                client, "chat_postEphemeral", channel=interaction.channel_id, user=interaction.user_id, text=text
            )
            method = "chat.postEphemeral"
        else:
            outcome = await self._call(client, "chat_postMessage", channel=interaction.channel_id, text=text)
            method = "chat.postMessage"
        if not outcome.ok:
            return self._failed(method, outcome)
        return ActionResult(ok=True, channel_id=interaction.channel_id, message_id=outcome.data.get("message_ts"))

    @performs(AddAgentToChannel)
    async def add_agent(self, action: AddAgentToChannel) -> ActionResult:
        user = action.agent.platform_user_id
        if not user:
            # A managed agent speaks through Steward's own bot: there is no bot user to invite.
            return ActionResult(ok=True, channel_id=action.room.channel, note="no_bot_user_to_invite")
        client, error = await self._client(action.room.server)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        outcome = await self._call(client, "conversations_invite", channel=action.room.channel, users=user)
        if outcome.ok:
            return ActionResult(ok=True, channel_id=action.room.channel)
        if outcome.error == "already_in_channel":
            return ActionResult(ok=True, channel_id=action.room.channel, note="already_in_channel")
        return self._failed("conversations.invite", outcome)

    @performs(RemoveAgentFromChannel)
    async def remove_agent(self, action: RemoveAgentFromChannel) -> ActionResult:
        user = action.agent.platform_user_id
        if not user:
            return ActionResult(ok=True, channel_id=action.room.channel, note="no_bot_user_to_remove")
        client, error = await self._client(action.room.server)
        if client is None:
            return ActionResult.failed(error or "no Slack client")
        outcome = await self._call(client, "conversations_kick", channel=action.room.channel, user=user)
        if outcome.ok:
            return ActionResult(ok=True, channel_id=action.room.channel)
        if outcome.error == "not_in_channel":
            return ActionResult(ok=True, channel_id=action.room.channel, note="not_in_channel")
        return self._failed("conversations.kick", outcome)
