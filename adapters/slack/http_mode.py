"""Slack's HTTP mode and OAuth installs, served by Steward's own aiohttp server.

Every request Slack posts is checked before bolt sees it: a signing secret must be configured, the request must be
signed, recent (``max_signature_age``) and its signature must match (else 401), its body must parse (else 400), and
its shape must be one Steward can use (else it is acknowledged 200 and dropped); every refusal is logged and
counted. Only what a listener of Steward's takes reaches bolt, which acknowledges before the listener runs.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.config import SlackSettings
from adapters.slack.edge import Edge
from adapters.slack.payloads import Unparseable, parse
from adapters.slack.web import SlackMetrics
from bot.logging import get_logger

log = get_logger("steward.slack")


class HttpMode:
    """The aiohttp routes of Slack's HTTP mode (events, clicks, commands) and of OAuth installs."""

    def __init__(self, settings: SlackSettings, bolt: AsyncApp, metrics: SlackMetrics, edge: Edge) -> None:
        self.settings = settings
        self.bolt = bolt
        self.metrics = metrics
        self.edge = edge
        secret = settings.secret("signing_secret")
        self._secret = secret.encode() if secret else None

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
        self.edge.rejected("request", reason, path=request.path)
        log.warning("slack_request_refused", reason=reason, path=request.path, remote=request.remote)
        return web.json_response({"error": "invalid_signature"}, status=401)

    def _refusal(self, request: web.Request, body: bytes) -> str | None:
        """Why a request is not Slack's (its signature), or None when it is."""
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if self._secret is None:
            return "no_signing_secret"
        if not timestamp or not signature:
            return "missing_signature"
        try:
            sent_at = int(timestamp)
        except ValueError:
            return "bad_timestamp"
        if abs(time.time() - sent_at) > self.settings.max_signature_age:
            return "stale_timestamp"
        # Slack's v0 signature over the raw bytes (which need not be valid UTF-8: that is checked after).
        digest = hmac.new(self._secret, f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode(errors="replace")):
            return "bad_signature"
        return None

    async def handle_post(self, request: web.Request) -> web.Response:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.rejected_input.labels("slack_http", "too_large").inc()
            self.edge.rejected("request", "too_large", length=request.content_length)
            return web.json_response({"error": "too_large"}, status=413)
        refusal = self._refusal(request, raw)
        if refusal is not None:
            return self._refuse(refusal, request)
        try:
            text = raw.decode("utf-8")
            body = parse(text, request.content_type)
        except (UnicodeDecodeError, Unparseable) as exc:
            self.edge.rejected("request", "unparseable", problem=str(exc)[:80], content_type=request.content_type)
            return web.json_response({"error": "unparseable"}, status=400)
        checked = self.edge.screen(body)
        if not checked.handled:
            return web.Response(status=200)
        return await self._dispatch(request, text, checked.kind)

    async def _dispatch(self, request: web.Request, text: str, kind: str) -> web.Response:
        """Hand a screened request to bolt. bolt acknowledges before Steward's listener runs (it runs on)."""
        # bolt parses the body again: give it the content type the body was screened as.
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "content-type")}
        headers["Content-Type"] = request.content_type
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=headers)
            response = await self.bolt.async_dispatch(bolt_request)
        except Exception as exc:  # bolt itself failed outside its own error handling: still no 500 for Slack
            self.edge.rejected(kind, "internal_error", error=type(exc).__name__)
            log.warning("slack_dispatch_failed", kind=kind, error=repr(exc)[:300])
            return web.Response(status=200)
        if response.status >= 500:
            self.edge.rejected(kind, "internal_error", status=response.status)
            return web.Response(status=200)
        return await to_aiohttp_response(response)

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
