"""Socket Mode, supervised: every envelope is screened like an HTTP request before bolt sees it, a dropped websocket
is reconnected by slack-sdk's client (it asks ``apps.connections.open`` for a fresh URL and retries every
``ping_interval`` seconds until it has one) and each reconnect is counted, and an app-level token Slack refuses
while reconnecting ends the adapter for good (``AdapterFatal``) instead of retrying forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.edge import Edge
from adapters.slack.payloads import kind_of
from bot.errors import AdapterFatal, ExitCode
from bot.logging import get_logger

log = get_logger("steward.slack")

__all__ = ["REFUSED_TOKEN", "SocketSupervisor", "refused"]

# Slack's answers that mean the token itself is no good: retrying cannot help.
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})


def refused(which: str, error: str | None, method: str) -> AdapterFatal:
    """The fatal error for a token Slack refused (``which``: "bot" or "app-level")."""
    variable = "STEWARD_SLACK__BOT_TOKEN" if which == "bot" else "STEWARD_SLACK__APP_TOKEN"
    return AdapterFatal(
        "slack",
        f"Slack refused the {which} token ({method}: {error})",
        hint=f"check {variable}; a revoked or uninstalled app needs a new token",
        code=ExitCode.CREDENTIALS,
    )


class _ScreenedHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, with each envelope screened first: a payload no listener of Steward's takes (or
    one that is malformed) is acknowledged without reaching bolt."""

    edge: Edge

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        payload = req.payload
        if not isinstance(payload, dict):
            self.edge.rejected("envelope", "unparseable", envelope_type=str(req.type)[:40])
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        if not self.edge.screen(payload).handled:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        try:
            await super().handle(client, req)  # type: ignore[arg-type]
        except Exception as exc:  # bolt failed outside its error handler: count it, and still acknowledge
            self.edge.rejected(kind_of(payload), "internal_error", error=type(exc).__name__)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SocketSupervisor:
    """One Socket Mode connection: opened at start, reconnected by the client, watched for a refused token."""

    def __init__(
        self,
        bolt: AsyncApp,
        edge: Edge,
        *,
        app_token: str,
        web_client: AsyncWebClient,
        ping_interval: float,
        on_fatal: Callable[[AdapterFatal], None],
    ) -> None:
        self.edge = edge
        self.on_fatal = on_fatal
        self.handler = _ScreenedHandler(bolt, app_token=app_token, web_client=web_client, ping_interval=ping_interval)
        self.handler.edge = edge
        client = self.handler.client
        self._issue_url: Callable[[], Awaitable[str]] = client.issue_new_wss_url
        self._connect: Callable[[], Awaitable[None]] = client.connect
        client.issue_new_wss_url = self._issue_new_url  # type: ignore[method-assign]
        client.connect = self._connect_counted  # type: ignore[method-assign]
        self._connected_once = False
        self.closing = False

    async def _issue_new_url(self) -> str:
        try:
            return await self._issue_url()
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in REFUSED_TOKEN:
                self.handler.client.auto_reconnect_enabled = False
                self.on_fatal(refused("app-level", error, "apps.connections.open"))
            raise

    async def _connect_counted(self) -> None:
        await self._connect()
        if self.is_open():
            if self._connected_once:
                self.edge.metrics.reconnects.labels("slack").inc()
                log.info("slack_socket_mode_reconnected")
            self._connected_once = True

    async def open(self, url: str, limit: float) -> None:
        """Connect to ``url`` (from ``apps.connections.open``) within ``limit`` seconds, or raise TimeoutError."""
        self.handler.client.wss_uri = url
        try:
            await asyncio.wait_for(self.handler.connect_async(), limit)  # type: ignore[no-untyped-call]
        except TimeoutError:
            await self.close()
            raise

    def is_open(self) -> bool:
        session = self.handler.client.current_session
        return session is not None and not session.closed

    def health(self) -> dict[str, Any]:
        if self.is_open():
            return {"up": True}
        return {"up": False, "reason": "the Socket Mode websocket is closed; reconnecting"}

    async def close(self) -> None:
        self.closing = True
        await self.handler.close_async()  # type: ignore[no-untyped-call]
