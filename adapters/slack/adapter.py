"""The Slack adapter: a slack-bolt ``AsyncApp`` feeding core events into Steward, and Steward's actions performed
through the Slack Web API; this module puts the parts together and runs the adapter's life (set up, connect,
health, stop).

Events arrive over Socket Mode (a websocket Steward opens; no public URL) or HTTP mode (Slack posts signed requests
to Steward's own aiohttp server, ``adapters.slack.http_mode``). Either way bolt acknowledges at once and the
listeners (``adapters.slack.listeners``) translate the payload (``adapters.slack.inbound``) and publish it on the
bus. Actions are performed by ``adapters.slack.outbound``. A single bot token is the simple default; with an OAuth
client id and secret Steward serves several workspaces, with their installations in its database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.channels import ChannelLookup
from adapters.slack.config import SlackSettings
from adapters.slack.edge import Edge
from adapters.slack.http_mode import HttpMode
from adapters.slack.inbound import SelfIds, Translator
from adapters.slack.listeners import Listeners
from adapters.slack.memory import InteractionStore, SlackObject, UserDirectory
from adapters.slack.oauth import SQLiteInstallationStore, SQLiteOAuthStateStore
from adapters.slack.outbound import SlackPerformers
from adapters.slack.socket_mode import REFUSED_TOKEN, SocketSupervisor, refused
from adapters.slack.web import ApiOutcome, SlackMetrics, WebApi
from adapters.slack.workspaces import Workspaces
from bot.errors import AdapterFatal, ExitCode
from bot.logging import get_logger
from storage.slack import (
    SLACK_MIGRATIONS,
    AgentPostRepository,
    DmChannelRepository,
    OAuthStateRepository,
    SlackInstallationRepository,
)

if TYPE_CHECKING:
    from bot.core import Core

log = get_logger("steward.slack")

__all__ = ["SlackAdapter", "SlackStartError"]

DAY = 86400


class SlackStartError(RuntimeError):
    """Slack could not be reached or refused Steward's credentials at start."""


class SlackAdapter(SlackPerformers, ChannelLookup):
    listeners: Listeners

    def __init__(self, settings: SlackSettings) -> None:
        super().__init__()
        self.settings = settings
        self.bolt: AsyncApp | None = None
        self._socket: SocketSupervisor | None = None
        self.web = WebApi(settings.api_base_url)
        self.workspaces = Workspaces(settings, self.web)
        self.interactions = InteractionStore(settings.interaction_ttl, settings.max_pending_interactions)
        self._connected = False
        self._verified = False
        self._fatal: AdapterFatal | None = None
        self._ended = asyncio.Event()

    # --- set up -----------------------------------------------------------------------------------------------

    async def setup(self, app: Core) -> None:
        self.app = app
        await app.db.migrate("slack", SLACK_MIGRATIONS)
        self.posts = AgentPostRepository(app.db)
        self.workspaces.dm_channels = DmChannelRepository(app.db)
        pruned = await self.posts.prune(time.time() - self.settings.agent_post_retention_days * DAY)
        self.metrics = self.web.metrics = SlackMetrics.register(app.metrics)
        self.edge = Edge(self.metrics, self.settings.command)
        users = UserDirectory(self._users_info, self.settings.user_cache_ttl)
        translator = Translator(
            agents=app.agents, posts=self.posts, users=users if self.settings.user_cache_ttl > 0 else None
        )
        self.listeners = Listeners(
            app,
            self.settings,
            translator=translator,
            users=users,
            interactions=self.interactions,
            workspaces=self.workspaces,
            metrics=self.metrics,
            on_revoked=self._revoked,
        )
        self.bolt = self._build_bolt(app)
        self.listeners.register(self.bolt)

        async def on_error(error: Exception, body: object) -> object:
            return await self.edge.on_bolt_error(error, body)

        self.bolt.error(on_error)
        if self.settings.mode == "http" or self.settings.oauth:
            if app.http is None:
                raise SlackStartError(
                    "Slack HTTP mode and OAuth installs are served by Steward's HTTP server: enable [http]"
                )
            app.http.add_routes(HttpMode(self.settings, self.bolt, self.metrics, self.edge).routes())
        log.info(
            "slack_adapter_ready",
            mode=self.settings.mode,
            multi_workspace=self.settings.oauth,
            pruned_agent_posts=pruned,
        )

    def _build_bolt(self, app: Core) -> AsyncApp:
        if not self.settings.oauth:
            return self._bolt(self.web.client(self.settings.secret("bot_token")), None)
        client_id = self.settings.secret("client_id") or ""
        installations = SQLiteInstallationStore(SlackInstallationRepository(app.db, client_id))
        self.workspaces.installations = installations
        oauth = AsyncOAuthSettings(
            client_id=client_id,
            client_secret=self.settings.secret("client_secret"),
            scopes=self.settings.scopes,
            user_scopes=self.settings.user_scopes or None,
            redirect_uri=self.settings.redirect_uri,
            install_path=self.settings.install_path,
            redirect_uri_path=self.settings.redirect_path,
            installation_store=installations,
            state_store=SQLiteOAuthStateStore(OAuthStateRepository(app.db)),
        )
        bolt = self._bolt(self.web.client(None), oauth)
        bolt.enable_token_revocation_listeners()
        return bolt

    def _bolt(self, client: AsyncWebClient, oauth: AsyncOAuthSettings | None) -> AsyncApp:
        return AsyncApp(
            name="steward",
            client=client,
            oauth_settings=oauth,
            logger=logging.getLogger("steward.slack.bolt"),
            # Acknowledge first, then run Steward's listener: Slack wants an answer within 3 seconds whatever the
            # listener costs. Requests no listener takes are screened out before bolt; any that still reaches
            # bolt's "unhandled" path goes to the error handler (counted, answered 200) instead of a 404.
            process_before_response=False,
            raise_error_for_unhandled_request=True,
            # HTTP requests are verified (and refusals counted) in ``HttpMode`` before bolt sees them; Socket
            # Mode needs no signature.
            request_verification_enabled=False,
            signing_secret=self.settings.secret("signing_secret") or "",
        )

    async def _users_info(self, team_id: str, user_id: str) -> SlackObject | None:
        client, _error = await self.workspaces.client(team_id)
        if client is None:
            return None
        outcome = await self.web.call(client, "users_info", user=user_id)
        user = outcome.data.get("user") if outcome.ok else None
        return user if isinstance(user, dict) else None

    # --- connect ----------------------------------------------------------------------------------------------

    async def start(self, app: Core) -> None:
        self.app = app
        if not self.settings.oauth:
            await self._authenticate()
        if self.settings.mode == "socket":
            await self._connect_socket()
        self._connected = True

    async def _authenticate(self) -> None:
        client = self.web.client(self.settings.secret("bot_token"))
        outcome = await self._within_connect_timeout(self.web.call(client, "auth_test"), "auth.test")
        if not outcome.ok:
            if outcome.error in REFUSED_TOKEN:
                raise refused("bot", outcome.error, "auth.test")
            raise SlackStartError(f"Slack did not accept the bot token (auth.test: {outcome.error})")
        data = outcome.data
        self.workspaces.me = SelfIds(data.get("user_id"), data.get("bot_id"))
        self.workspaces.team_id = data.get("team_id")
        self._verified = True
        me = self.workspaces.me
        log.info("slack_authenticated", team=self.workspaces.team_id, bot_user=me.bot_user_id, bot_id=me.bot_id)

    async def _connect_socket(self) -> None:
        assert self.bolt is not None  # made by setup
        app_token = self.settings.secret("app_token") or ""
        # Ask for the websocket URL here so that a wrong app token fails start-up at once with Slack's error
        # (the socket client itself would retry it forever); reconnects later ask for fresh URLs themselves.
        opened = await self._within_connect_timeout(
            self.web.call(self.web.client(None), "apps_connections_open", app_token=app_token), "apps.connections.open"
        )
        if opened.error in REFUSED_TOKEN:
            raise refused("app-level", opened.error, "apps.connections.open")
        if not opened.ok or not opened.data.get("url"):
            raise SlackStartError(f"Slack refused the app-level token (apps.connections.open: {opened.error})")
        socket = SocketSupervisor(
            self.bolt,
            self.edge,
            app_token=app_token,
            web_client=self.web.client(None),
            ping_interval=self.settings.ping_interval,
            on_fatal=self._end,
        )
        try:
            await socket.open(opened.data["url"], self.settings.connect_timeout)
        except TimeoutError:
            raise SlackStartError(
                f"no Socket Mode connection within {self.settings.connect_timeout:g}s "
                "(check STEWARD_SLACK__APP_TOKEN and that Socket Mode is enabled for the app)"
            ) from None
        self._socket = socket
        log.info("slack_socket_mode_connected")

    async def _within_connect_timeout(self, call: Awaitable[ApiOutcome], what: str) -> ApiOutcome:
        try:
            return await asyncio.wait_for(call, self.settings.connect_timeout)
        except TimeoutError:
            raise SlackStartError(f"Slack did not answer {what} within {self.settings.connect_timeout:g}s") from None

    def _end(self, fatal: AdapterFatal) -> None:
        """Slack ended the session for good (a token refused or revoked): ``wait_closed`` raises ``fatal``."""
        if self._fatal is None:
            self._fatal = fatal
            log.error("slack_session_ended", problem=fatal.problem, hint=fatal.hint)
        self._ended.set()

    def _revoked(self, what: str) -> None:
        """Single workspace: Steward's bot token was revoked or the app uninstalled (an Events API event)."""
        self._end(
            AdapterFatal(
                "slack",
                f"Slack revoked Steward's bot token ({what})",
                hint="reinstall the app and set STEWARD_SLACK__BOT_TOKEN to the new token",
                code=ExitCode.CREDENTIALS,
            )
        )

    async def wait_closed(self) -> None:
        """Return never while connected; raise ``AdapterFatal`` once Slack refused or revoked a token."""
        await self._ended.wait()
        if self._fatal is not None:
            raise self._fatal

    async def stop(self) -> None:
        self._connected = False
        if self._socket is not None:
            try:
                await self._socket.close()
            finally:
                self._socket = None

    # --- health -----------------------------------------------------------------------------------------------

    def _down_reason(self) -> str | None:
        if self._fatal is not None:
            return self._fatal.problem
        if not self._connected:
            return "not connected (not started yet, or stopped)"
        if self.settings.mode == "socket":
            return self._socket.health().get("reason") if self._socket is not None else "no Socket Mode connection"
        return None

    def health(self) -> dict[str, Any]:
        """{"up": ..., "reason": why not (when down), ...}. HTTP mode is up once its routes are registered and the
        token verified (auth.test; OAuth: the app's credentials); Socket Mode while its websocket is open."""
        listeners = getattr(self, "listeners", None)
        reason = self._down_reason()
        report: dict[str, Any] = {"up": reason is None}
        if reason is not None:
            report["reason"] = reason
        report.update(
            mode=self.settings.mode,
            multi_workspace=self.settings.oauth,
            team=self.workspaces.team_id,
            # Whether Steward can delete people's messages (a user token: slack.admin_token, or OAuth user scopes).
            deletes_others=("chat:write" in self.settings.user_scopes)
            if self.settings.oauth
            else self.settings.secret("admin_token") is not None,
            last_event_at=listeners.last_event_at if listeners is not None else None,
            pending_interactions=len(self.interactions),
            remembered_event_ids=len(listeners.deduper) if listeners is not None else 0,
            reconnects=int(self.app.metrics.value("steward_adapter_reconnects_total", platform="slack"))
            if self.app is not None
            else 0,
        )
        return report
