"""The agent API on Steward's HTTP server (``/api/v1/``), for agent services that run outside Steward.

Every request carries ``Authorization: Bearer <token>`` (issued by ``agent token <name>``, stored hashed). A wrong
or missing token gets 401 with nothing else to learn from. Bodies are JSON validated with pydantic (422 names the
problem), limited in size (413) and each agent is rate limited with a token bucket (429 with ``Retry-After``).

Events (invitations, joins and leaves, drafts, and messages in the agent's rooms) wait in a bounded per-agent queue
for long-polling (``GET /api/v1/events``) and, when the agent registered a callback, are also POSTed to it signed
with HMAC-SHA256.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yarl import URL

from bot.publisher import UnknownAgent
from cogs.presence.coordinator import Coordinator, PresenceError
from domain import Actor, ActorKind, Room
from storage.presence import PresenceStore, Webhook

if TYPE_CHECKING:
    from bot.cog import CogContext

API_PREFIX = "/api/v1"


# --- request bodies --------------------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _room(value: str) -> str:
    Room.parse(value)
    return value


class MessageIn(_Body):
    room: str = Field(max_length=300, description="Room key 'platform:server:channel'")
    text: str = Field(min_length=1, max_length=4000)
    reply_to: str | None = Field(default=None, max_length=200)
    thread_id: str | None = Field(default=None, max_length=200)

    _check_room = field_validator("room")(_room)


class InvitationIn(_Body):
    agent: str = Field(min_length=1, max_length=100)
    room: str = Field(max_length=300)
    reason: str = Field(default="", max_length=500)

    _check_room = field_validator("room")(_room)


class WebhookIn(_Body):
    url: str = Field(max_length=2000)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        parsed = URL(value)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("must be an http or https URL with a host")
        return value


# --- rate limiting and event queues ----------------------------------------------------------------------------------


@dataclass
class TokenBucket:
    """``burst`` requests at once, refilled at ``rate`` per second. Time comes from the caller (the app's clock)."""

    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """0.0 when the request may go, else the seconds to wait."""
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class Inbox:
    size: int
    events: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)
    next_id: int = 1
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, event: dict[str, Any]) -> dict[str, Any]:
        event = {"id": self.next_id, **event}
        self.next_id += 1
        if len(self.events) >= self.size:
            self.events.popleft()
            self.dropped += 1
        self.events.append(event)
        self.wake.set()
        return event

    def after(self, last_seen: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e["id"] > last_seen]


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


Handler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


class AgentApi:
    def __init__(self, ctx: CogContext, store: PresenceStore, coordinator: Coordinator) -> None:
        self.ctx = ctx
        self.store = store
        self.coordinator = coordinator
        self.log = ctx.log
        self.inboxes: dict[str, Inbox] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.api_agents: set[str] = set()
        self.webhooks: dict[str, Webhook] = {}
        self._session: aiohttp.ClientSession | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        m = ctx.metrics
        self._requests = m.counter("steward_agent_api_requests_total", "Agent API requests", ["route", "status"])
        self._auth_failures = m.counter("steward_agent_api_auth_failures_total", "Requests with a bad token", [])
        self._dropped = m.counter("steward_agent_api_events_dropped_total", "Events dropped from full inboxes", [])
        self._webhook = m.counter("steward_agent_api_webhook_total", "Webhook deliveries", ["outcome"])

    async def load(self) -> None:
        self.api_agents = await self.store.tokens.agents_with_tokens()
        self.webhooks = await self.store.tokens.webhooks()

    async def close(self) -> None:
        for task in list(self._deliveries):
            task.cancel()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{API_PREFIX}/me", self._wrap("me", self.me)),
            web.post(f"{API_PREFIX}/messages", self._wrap("messages", self.post_message)),
            web.post(f"{API_PREFIX}/invitations", self._wrap("invitations", self.post_invitation)),
            web.get(f"{API_PREFIX}/rooms", self._wrap("rooms", self.rooms)),
            web.get(f"{API_PREFIX}/events", self._wrap("events", self.events)),
            web.put(f"{API_PREFIX}/webhook", self._wrap("webhook", self.put_webhook)),
            web.delete(f"{API_PREFIX}/webhook", self._wrap("webhook", self.delete_webhook)),
        ]

    # --- the request pipeline: size, auth, rate ------------------------------------------------------------------

    def _wrap(self, name: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            response = await self._guarded(request, handler)
            self._requests.labels(name, str(response.status)).inc()
            return response

        return run

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        agent = await self._authenticate(request)
        if agent is None:
            self._auth_failures.inc()
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="steward"'}
            )
        cfg = self.ctx.config()
        bucket = self.buckets.get(agent)
        if bucket is None:
            bucket = self.buckets[agent] = TokenBucket(cfg.api_rate_per_minute / 60.0, cfg.api_burst)
        wait = bucket.take(self.ctx.clock.now())
        if wait > 0:
            self.coordinator.rejected("agent_api", "rate_limited")
            return web.json_response(
                {"error": "rate limited", "retry_after": math.ceil(wait)},
                status=429,
                headers={"Retry-After": str(math.ceil(wait))},
            )
        try:
            return await handler(request, agent)
        except _TooLarge:
            self.coordinator.rejected("agent_api", "too_large")
            return _error(413, f"the body is larger than {cfg.api_max_body_bytes} bytes")

    async def _authenticate(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        agent = await self.store.tokens.verify(token.strip())
        if agent is None or await self.ctx.agents.get(agent) is None:
            return None
        return agent

    async def _body(self, request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
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
        try:
            return model.model_validate_json(b"".join(chunks) or b"{}")
        except ValidationError as exc:
            self.coordinator.rejected("agent_api", "invalid_body")
            problems = [
                {"loc": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]} for err in exc.errors()
            ]
            return _error(422, "invalid request body", problems=problems)

    # --- routes ------------------------------------------------------------------------------------------------------

    async def me(self, request: web.Request, agent: str) -> web.StreamResponse:
        record = await self.coordinator.agent(agent)
        settings = await self.coordinator.settings_of(agent)
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

    async def post_message(self, request: web.Request, agent: str) -> web.StreamResponse:
        body = await self._body(request, MessageIn)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, MessageIn)
        record = await self.coordinator.agent(agent)
        room = Room.parse(body.room)
        if room.platform != record.platform:
            return _error(422, f"this agent lives on {record.platform}")
        if self.ctx.config(room).api_require_presence and not await self.store.presence.is_present(agent, room):
            self.coordinator.rejected("agent_api", "not_present")
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
        assert isinstance(body, InvitationIn)
        record = await self.coordinator.agent(agent)
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
        cfg = self.ctx.config()
        try:
            after = int(request.query.get("after", "0"))
            timeout = float(request.query.get("timeout", "0"))
        except ValueError:
            return _error(
                422, "invalid request", problems=[{"loc": "query", "problem": "after and timeout are numbers"}]
            )
        if not math.isfinite(timeout) or timeout < 0:
            return _error(422, "invalid request", problems=[{"loc": "timeout", "problem": "must be >= 0"}])
        timeout = min(timeout, cfg.api_poll_max_seconds)
        inbox = self._inbox(agent)
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
        assert isinstance(body, WebhookIn)
        hook = await self.store.tokens.set_webhook(agent, body.url, at=self.ctx.clock.now())
        self.webhooks[agent] = hook
        self.log.info("agent_webhook_set", agent=agent)
        return web.json_response({"url": hook.url, "secret": hook.secret})

    async def delete_webhook(self, request: web.Request, agent: str) -> web.StreamResponse:
        removed = await self.store.tokens.delete_webhook(agent)
        self.webhooks.pop(agent, None)
        return web.json_response({"removed": removed})

    # --- events --------------------------------------------------------------------------------------------------

    def _inbox(self, agent: str) -> Inbox:
        inbox = self.inboxes.get(agent)
        if inbox is None:
            inbox = self.inboxes[agent] = Inbox(self.ctx.config().api_event_queue_size)
        return inbox

    def forget(self, agent: str) -> None:
        """The agent was unregistered: drop its queue, limiter and webhook."""
        self.api_agents.discard(agent)
        self.webhooks.pop(agent, None)
        self.inboxes.pop(agent, None)
        self.buckets.pop(agent, None)

    def push(self, agent: str, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event for an agent that uses the API (others have nobody to read it)."""
        hook = self.webhooks.get(agent)
        if agent not in self.api_agents and hook is None:
            return
        inbox = self._inbox(agent)
        before = inbox.dropped
        event = inbox.push({"type": kind, "at": self.ctx.clock.now(), "data": dict(data)})
        if inbox.dropped > before:
            self._dropped.inc()
        if hook is not None:
            task = asyncio.get_running_loop().create_task(self._deliver(hook, event))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, hook: Webhook, event: Mapping[str, Any]) -> None:
        body = json.dumps({"agent": hook.agent, **event}, separators=(",", ":")).encode()
        signature = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        if self._session is None:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.ctx.config().webhook_timeout_seconds)
        try:
            async with self._session.post(
                hook.url,
                data=body,
                timeout=timeout,
                headers={
                    "Content-Type": "application/json",
                    "X-Steward-Event": str(event["id"]),
                    "X-Steward-Signature": f"sha256={signature}",
                },
            ) as response:
                ok = 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._webhook.labels("error").inc()
            self.log.warning("agent_webhook_failed", agent=hook.agent, error=repr(exc))
            return
        self._webhook.labels("ok" if ok else "refused").inc()
        if not ok:
            self.log.warning("agent_webhook_refused", agent=hook.agent, status=response.status)

    async def drain(self) -> None:
        """Wait for webhook deliveries in flight (tests, shutdown)."""
        if self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)


class _TooLarge(Exception):
    pass
