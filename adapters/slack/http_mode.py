"""Slack's HTTP mode and OAuth installs, served by Steward's own aiohttp server.

Every request Slack posts is checked before bolt sees it: a signing secret must be configured, the request must be
signed, recent (``max_signature_age``) and its signature must match; a refusal is logged and counted.
"""

from __future__ import annotations

import hmac
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from adapters.slack.config import SlackSettings
from adapters.slack.web import SlackMetrics
from bot.logging import get_logger

log = get_logger("steward.slack")


class HttpMode:
    """The aiohttp routes of Slack's HTTP mode (events, clicks, commands) and of OAuth installs."""

    def __init__(self, settings: SlackSettings, bolt: AsyncApp, metrics: SlackMetrics) -> None:
        self.settings = settings
        self.bolt = bolt
        self.metrics = metrics
        secret = settings.secret("signing_secret")
        self._verifier = SignatureVerifier(secret) if secret else None

    def routes(self) -> list[web.RouteDef]:
        routes: list[web.RouteDef] = []
        s = self.settings
        if s.mode == "http":
            paths = dict.fromkeys((s.events_path, s.interactivity_path, s.commands_path))
            routes += [web.post(path, self.handle_post) for path in paths]
        if s.oauth:
            routes += [web.get(s.install_path, self.handle_install), web.get(s.redirect_path, self.handle_redirect)]
        return routes

    def _refuse(self, reason: str, request: web.Request) -> web.Response:
        self.metrics.rejected_input.labels("slack_http", reason).inc()
        log.warning("slack_request_refused", reason=reason, path=request.path, remote=request.remote)
        return web.Response(status=401, text="invalid request signature")

    def _refusal(self, request: web.Request, body: str) -> str | None:
        """Why a request is not Slack's (its signature), or None when it is."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if self._verifier is None:
            return "no_signing_secret"
        if not timestamp or not signature:
            return "missing_signature"
        try:
            sent_at = int(timestamp)
        except ValueError:
            return "bad_timestamp"
        if abs(time.time() - sent_at) > self.settings.max_signature_age:
            return "stale_timestamp"
        expected = self._verifier.generate_signature(timestamp=timestamp, body=body) or ""
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return "bad_signature"
        return None

    async def handle_post(self, request: web.Request) -> web.Response:
        try:
            body = await request.text()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.rejected_input.labels("slack_http", "too_large").inc()
            log.warning("slack_request_too_large", path=request.path, length=request.content_length)
            raise
        refusal = self._refusal(request, body)
        if refusal is not None:
            return self._refuse(refusal, request)
        bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(request.headers))
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    def _oauth_flow(self) -> AsyncOAuthFlow:
        flow = self.bolt.oauth_flow
        if flow is None:
            raise web.HTTPNotFound(text="OAuth installs are not configured")
        return flow

    async def handle_install(self, request: web.Request) -> web.Response:
        flow = self._oauth_flow()
        return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

    async def handle_redirect(self, request: web.Request) -> web.Response:
        response = await self._oauth_flow().handle_callback(await to_bolt_request(request))
        log.info("slack_oauth_callback", status=response.status)
        return await to_aiohttp_response(response)
