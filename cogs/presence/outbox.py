"""Events for agents that run outside Steward: a bounded in-memory queue per agent for long-polling, and signed
webhook deliveries (one attempt each, HMAC-SHA256 of the raw body with the agent's secret), sent through the
egress client (``bot.egress``: public addresses only unless ``[http] egress_allow`` lists the host; a refused
delivery is a failed one, logged with the reason and counted).

Events are queued only for agents that have a token or a webhook; the oldest are dropped first (counted).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.cog import CogContext
from bot.egress import EgressClient, EgressPolicy, EgressRefused
from cogs.presence.config import PresenceSettings
from storage.presence import PresenceStore, Webhook


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


class Outbox:
    def __init__(self, ctx: CogContext[PresenceSettings], store: PresenceStore) -> None:
        self.ctx = ctx
        self.store = store
        self.log = ctx.log
        self.inboxes: dict[str, Inbox] = {}
        self.api_agents: set[str] = set()
        self.webhooks: dict[str, Webhook] = {}
        self.egress = EgressClient(EgressPolicy.parse(ctx.settings.http.egress_allow), ctx.metrics)
        self._deliveries: set[asyncio.Task[None]] = set()
        m = ctx.metrics
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
        await self.egress.close()

    def inbox(self, agent: str) -> Inbox:
        inbox = self.inboxes.get(agent)
        if inbox is None:
            inbox = self.inboxes[agent] = Inbox(self.ctx.config().api_event_queue_size)
        return inbox

    def forget(self, agent: str) -> None:
        """The agent was unregistered: drop its queue and webhook."""
        self.api_agents.discard(agent)
        self.webhooks.pop(agent, None)
        self.inboxes.pop(agent, None)

    def push(self, agent: str, kind: str, data: Mapping[str, Any]) -> None:
        """Queue an event for an agent that uses the API (others have nobody to read it)."""
        hook = self.webhooks.get(agent)
        if agent not in self.api_agents and hook is None:
            return
        inbox = self.inbox(agent)
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
        headers = {
            "Content-Type": "application/json",
            "X-Steward-Event": str(event["id"]),
            "X-Steward-Signature": f"sha256={signature}",
        }
        try:
            response = await self.egress.request(
                "POST", hook.url, data=body, headers=headers, time_limit=self.ctx.config().webhook_timeout_seconds
            )
        except EgressRefused as exc:
            self._webhook.labels("blocked").inc()
            self.log.warning("agent_webhook_failed", agent=hook.agent, error="egress refused", reason=exc.reason)
            return
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._webhook.labels("error").inc()
            self.log.warning("agent_webhook_failed", agent=hook.agent, error=repr(exc))
            return
        self._webhook.labels("ok" if response.ok else "refused").inc()
        if not response.ok:
            self.log.warning("agent_webhook_refused", agent=hook.agent, status=response.status)

    async def drain(self) -> None:
        """Wait for webhook deliveries in flight (tests, shutdown)."""
        if self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)
