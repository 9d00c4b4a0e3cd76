"""The agent API on Steward's HTTP server (``/api/v1/``), for agent services that run outside Steward.

Every request carries ``Authorization: Bearer <token>`` (issued by ``agent token <name>``, stored hashed). A wrong
or missing token gets 401 with nothing else to learn from, and too many of those from one client address get 429
(``api_guard``). Bodies are JSON validated with pydantic
(``api_bodies``; 422 names the problem) and limited in size (413), and each agent is rate limited by the core's
token bucket (``bot.ratelimit.RateLimiter``; 429 with ``Retry-After``). The events agents read
(``GET /api/v1/events``) wait in the ``Outbox``; a webhook URL must pass the egress policy (``bot.egress``) when it
is set, and again at every delivery.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.cog import CogContext
from bot.egress import EgressRefused
from bot.publisher import UnknownAgent
from bot.ratelimit import RateLimiter
from cogs.presence.api_bodies import InvitationIn, MessageIn, ProfileIn, WebhookIn
from cogs.presence.api_guard import ClientGuard
from cogs.presence.config import PresenceSettings
from cogs.presence.coordinator import Coordinator
from cogs.presence.errors import PresenceError
from cogs.presence.impersonation import ImpersonationRefused, NameGuard
from cogs.presence.outbox import Outbox
from domain import Actor, ActorKind, Room
from storage.presence import PresenceStore

API_PREFIX = "/api/v1"

B = TypeVar("B", bound=BaseModel)
Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


_WEBHOOK_REFUSALS = {
    "scheme": "only http and https URLs are delivered to",
    "no_host": "the URL names no host",
    "userinfo": "a URL with a user name or password is not accepted",
    "metadata": "the host is the cloud metadata address",
}
_NOT_PUBLIC = "the host is a {} address; webhooks go to public addresses only unless [http] egress_allow lists it"


_KINDS = {"link_local": "link-local", "shared": "shared (CGNAT)", "not_global": "non-public"}


def _refusal_text(reason: str) -> str:
    return _WEBHOOK_REFUSALS.get(reason) or _NOT_PUBLIC.format(_KINDS.get(reason, reason))


class _TooLarge(Exception):
    pass


class AgentApi:
    def __init__(
        self,
        ctx: CogContext[PresenceSettings],
        store: PresenceStore,
        coordinator: Coordinator,
        outbox: Outbox,
        names: NameGuard,
    ) -> None:
        self.ctx = ctx
        self.names = names
        self.store = store
        self.coordinator = coordinator
        self.outbox = outbox
        self.log = ctx.log
        cfg = ctx.config()
        self.limiter = RateLimiter(rate=cfg.api_rate_per_minute / 60.0, capacity=cfg.api_burst)
        self.guard = ClientGuard(ctx)
        m = ctx.metrics
        self._requests = m.counter("steward_agent_api_requests_total", "Agent API requests", ["route", "status"])
        self._auth_failures = m.counter("steward_agent_api_auth_failures_total", "Requests with a bad token", [])

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{API_PREFIX}/me", self._wrap("me", self.me)),
            web.patch(f"{API_PREFIX}/me", self._wrap("me", self.patch_me)),
            web.post(f"{API_PREFIX}/messages", self._wrap("messages", self.post_message)),
            web.post(f"{API_PREFIX}/invitations", self._wrap("invitations", self.post_invitation)),
            web.get(f"{API_PREFIX}/rooms", self._wrap("rooms", self.rooms)),
            web.get(f"{API_PREFIX}/events", self._wrap("events", self.events)),
            web.put(f"{API_PREFIX}/webhook", self._wrap("webhook", self.put_webhook)),
            web.delete(f"{API_PREFIX}/webhook", self._wrap("webhook", self.delete_webhook)),
        ]

    async def drain(self) -> None:
        """Wait for webhook deliveries in flight (tests, shutdown)."""
        await self.outbox.drain()

    # --- the request pipeline: auth, rate, size ------------------------------------------------------------------

    def _wrap(self, name: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            response = await self._guarded(request, name, handler)
            self._requests.labels(name, str(response.status)).inc()
            return response

        return run

    async def _guarded(self, request: web.Request, route: str, handler: Handler) -> web.StreamResponse:
        agent, problem = await self._authenticate(request)
        if agent is None:
            self._auth_failures.inc()
            return self.guard.unauthorized(request, route, problem)
        taken = self.limiter.take(agent, self.ctx.clock.now())
        if not taken.allowed:
            self.coordinator.notify.rejected("agent_api", "rate_limited")
            self.guard.agent_limited()
            wait = math.ceil(taken.retry_after)
            return web.json_response(
                {"error": "rate limited", "retry_after": wait}, status=429, headers={"Retry-After": str(wait)}
            )
        try:
            return await handler(request, agent)
        except _TooLarge:
            self.coordinator.notify.rejected("agent_api", "too_large")
            return _error(413, f"the body is larger than {self.ctx.config().api_max_body_bytes} bytes")

    async def _authenticate(self, request: web.Request) -> tuple[str | None, str]:
        """(the agent, "") or (None, why not: missing or invalid)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None, "missing"
        agent = await self.store.tokens.verify(token.strip())
        if agent is None or await self.ctx.agents.get(agent) is None:
            return None, "invalid"
        return agent, ""

    async def _read(self, request: web.Request) -> bytes:
        limit = self.ctx.config().api_max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise _TooLarge
        chunks, size = [], 0
        while True:
            chunk = await request.content.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _body(self, request: web.Request, model: type[B]) -> B | web.Response:
        raw = await self._read(request)
        try:
            return model.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            self.coordinator.notify.rejected("agent_api", "invalid_body")
            problems = [
                {"loc": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]} for err in exc.errors()
            ]
            return _error(422, "invalid request body", problems=problems)

    # --- routes ------------------------------------------------------------------------------------------------------

    async def me(self, request: web.Request, agent: str) -> web.StreamResponse:
        record = await self.coordinator.facts.agent(agent)
        settings = await self.coordinator.facts.settings_of(agent)
        return web.json_response(
            {
                "agent": record.name,
                "platform": record.platform,
                "display_name": record.display_name,
                "kind": record.kind,
                "invitation_policy": settings.invitation_policy.value,
                "approval_mode": settings.approval_mode.value,
                "message_approval": settings.message_approval.value,
                "max_rooms": settings.max_rooms,
                "topics": list(settings.topics),
            }
        )

    async def patch_me(self, request: web.Request, agent: str) -> web.StreamResponse:
        """Change how the agent is shown (its display name); one that passes for another name is refused (409)."""
        body = await self._body(request, ProfileIn)
        if isinstance(body, web.Response):
            return body
        try:
            await self.names.check(name="", display_name=body.display_name, server_key=None, renaming=agent)
        except ImpersonationRefused as exc:
            self.coordinator.notify.rejected("agent_api", "impersonation")
            return _error(409, str(exc), collides_with=exc.collision.known.name)
        record = await self.ctx.agents.update(agent, display_name=body.display_name)
        self.log.info("agent_display_name_set", agent=agent, display_name=body.display_name)
        return web.json_response({"agent": agent, "display_name": record.display_name if record else ""})

    async def post_message(self, request: web.Request, agent: str) -> web.StreamResponse:
        body = await self._body(request, MessageIn)
        if isinstance(body, web.Response):
            return body
        record = await self.coordinator.facts.agent(agent)
        room = Room.parse(body.room)
        if room.platform != record.platform:
            return _error(422, f"this agent lives on {record.platform}")
        if self.ctx.config(room).api_require_presence and not await self.store.presence.is_present(agent, room):
            self.coordinator.notify.rejected("agent_api", "not_present")
            return _error(403, "the agent is not in this room; ask to be invited first")
        try:
            result = await self.ctx.publisher.submit(
                record, room, body.text, reply_to=body.reply_to, thread_id=body.thread_id, at=self.ctx.clock.now()
            )
        except UnknownAgent:
            return _error(403, "the agent is no longer registered")
        d = result.decision
        return web.json_response(
            {
                "decision_id": result.decision_id,
                "verdict": d.verdict.value,
                "rule": d.rule,
                "reason": d.reason,
                "text": d.text,
                "scores": dict(d.scores),
                "posted": result.posted,
                "message_id": result.message_id,
                "held": result.held,
                "error": result.error,
            }
        )

    async def post_invitation(self, request: web.Request, agent: str) -> web.StreamResponse:
        body = await self._body(request, InvitationIn)
        if isinstance(body, web.Response):
            return body
        record = await self.coordinator.facts.agent(agent)
        inviter = Actor(record.platform, record.name, ActorKind.AGENT, record.display_name or record.name)
        try:
            result = await self.coordinator.request(body.agent, Room.parse(body.room), inviter, reason=body.reason)
        except PresenceError as exc:
            return _error(422, str(exc))
        return web.json_response(result.as_dict(), status=201 if result.invitation else 200)

    async def rooms(self, request: web.Request, agent: str) -> web.StreamResponse:
        stays = await self.store.presence.of_agent(agent)
        return web.json_response({"rooms": [{"room": s.room, "since": s.since} for s in stays]})

    async def events(self, request: web.Request, agent: str) -> web.StreamResponse:
        try:
            after = int(request.query.get("after", "0"))
            timeout = float(request.query.get("timeout", "0"))
        except ValueError:
            return _error(
                422, "invalid request", problems=[{"loc": "query", "problem": "after and timeout are numbers"}]
            )
        if not math.isfinite(timeout) or timeout < 0:
            return _error(422, "invalid request", problems=[{"loc": "timeout", "problem": "must be >= 0"}])
        timeout = min(timeout, self.ctx.config().api_poll_max_seconds)
        inbox = self.outbox.inbox(agent)
        # An id the queue has not reached yet means Steward restarted (ids start again at 1): start over.
        reset = after >= inbox.next_id
        if reset:
            after = 0
        found = inbox.after(after)
        if not found and timeout > 0:
            inbox.wake.clear()
            try:
                await asyncio.wait_for(inbox.wake.wait(), timeout)
            except TimeoutError:
                pass
            found = inbox.after(after)
        last = found[-1]["id"] if found else max(after, 0)
        return web.json_response({"events": found, "next": last, "dropped": inbox.dropped, "reset": reset})

    async def put_webhook(self, request: web.Request, agent: str) -> web.StreamResponse:
        body = await self._body(request, WebhookIn)
        if isinstance(body, web.Response):
            return body
        try:
            self.outbox.egress.policy.check_url(body.url)
        except EgressRefused as exc:
            self.coordinator.notify.rejected("agent_api", "webhook_refused")
            self.log.info("agent_webhook_refused_at_set", agent=agent, host=exc.host, reason=exc.reason)
            return _error(400, f"webhook URL refused: {_refusal_text(exc.reason)}", reason=exc.reason)
        hook = await self.store.tokens.set_webhook(agent, body.url, at=self.ctx.clock.now())
        self.outbox.webhooks[agent] = hook
        self.log.info("agent_webhook_set", agent=agent)
        return web.json_response({"url": hook.url, "secret": hook.secret})

    async def delete_webhook(self, request: web.Request, agent: str) -> web.StreamResponse:
        removed = await self.store.tokens.delete_webhook(agent)
        self.outbox.webhooks.pop(agent, None)
        return web.json_response({"removed": removed})
