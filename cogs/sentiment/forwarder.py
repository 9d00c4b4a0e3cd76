"""Forwarding of stored feedback events to a webhook: a bounded queue and one sender task, so a slow or dead
endpoint never holds up the bus. Each event is POSTed as JSON with a timeout and retried with a doubling delay
a bounded number of times; what still fails is logged and counted. The feedback store marks each event owed to the
webhook until it was delivered, so what was not sent (the endpoint was down, or Steward stopped) is sent again at
the next start."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from bot.logging import get_logger
from bot.metrics import Metrics

log = get_logger("steward.cogs.sentiment.webhook")


class WebhookForwarder:
    def __init__(
        self,
        url: str,
        metrics: Metrics,
        *,
        timeout: float = 5.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        queue_size: int = 1000,
        on_delivered: Callable[[Mapping[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.on_delivered = on_delivered
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self._outcomes = metrics.counter(
            "steward_feedback_webhook_total", "Feedback events forwarded to the webhook, by outcome", ["outcome"]
        )
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._task = asyncio.create_task(self._run(), name="steward-feedback-webhook")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(self.queue.join(), drain_timeout)
            except TimeoutError:
                log.warning("webhook_stop_undelivered", pending=self.queue.qsize())
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def submit(self, payload: Mapping[str, Any]) -> bool:
        """Queue one event; a full queue drops it (logged, counted)."""
        try:
            self.queue.put_nowait(dict(payload))
        except asyncio.QueueFull:
            self._outcomes.labels("dropped").inc()
            log.warning("webhook_queue_full", url=self.url, agent=payload.get("agent"), id=payload.get("id"))
            return False
        return True

    @property
    def pending(self) -> int:
        return self.queue.qsize()

    async def _run(self) -> None:
        while True:
            payload = await self.queue.get()
            try:
                if await self._send(payload) and self.on_delivered is not None:
                    await self.on_delivered(payload)
            except Exception as exc:  # the sender must outlive any one event
                self._outcomes.labels("failed").inc()
                log.exception("webhook_send_crashed", url=self.url, error=repr(exc))
            finally:
                self.queue.task_done()

    async def _send(self, payload: dict[str, Any]) -> bool:
        assert self._session is not None
        body = json.dumps(payload, sort_keys=True, default=str)
        delay = self.backoff
        error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self._session.post(
                    self.url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    if 200 <= response.status < 300:
                        self._outcomes.labels("ok").inc()
                        return True
                    error = f"HTTP {response.status}"
                    if 400 <= response.status < 500 and response.status not in (408, 429):
                        break  # the endpoint refuses this event; retrying will not change its mind
            except (TimeoutError, aiohttp.ClientError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            if attempt < self.max_attempts:
                self._outcomes.labels("retried").inc()
                await asyncio.sleep(delay)
                delay *= 2
        self._outcomes.labels("failed").inc()
        log.warning("webhook_send_failed", url=self.url, id=payload.get("id"), agent=payload.get("agent"), error=error)
        return False
