"""Calling Slack's Web API: one client per token (with slack-sdk's retries on connection errors and rate limits),
and calls whose failures (Slack's errors, network errors) are logged and counted and come back as an outcome,
never raised. Also the adapter's Prometheus counters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.memory import SlackObject
from bot.actions import ActionResult
from bot.logging import get_logger

if TYPE_CHECKING:
    from prometheus_client import Counter

    from bot.metrics import Metrics

log = get_logger("steward.slack")

RATE_LIMIT_RETRIES = 2


@dataclass(frozen=True, slots=True)
class ApiOutcome:
    ok: bool
    data: SlackObject = field(default_factory=dict)
    error: str | None = None

    def failed(self, method: str) -> ActionResult:
        """The failed action result that names the Slack method and its error."""
        return ActionResult.failed(f"slack {method}: {self.error}", code=self.error)


@dataclass(frozen=True, slots=True)
class SlackMetrics:
    events: Counter
    api_errors: Counter
    dm_fallbacks: Counter
    delete_refused: Counter
    unsupported: Counter
    rejected_input: Counter
    payload_rejected: Counter
    reconnects: Counter

    @classmethod
    def register(cls, metrics: Metrics) -> SlackMetrics:
        return cls(
            events=metrics.counter(
                "steward_slack_events_total", "Slack events received, by type and outcome", ["type", "outcome"]
            ),
            api_errors=metrics.counter(
                "steward_slack_api_errors_total",
                "Slack Web API calls that failed, by method and error",
                ["method", "error"],
            ),
            dm_fallbacks=metrics.counter(
                "steward_slack_dm_fallbacks_total", "Direct messages that failed and were posted in a fallback channel"
            ),
            delete_refused=metrics.counter(
                "steward_slack_delete_refused_total",
                "Deletions of other people's messages refused for want of a token",
            ),
            unsupported=metrics.counter(
                "steward_slack_unsupported_actions_total", "Actions Slack cannot perform (e.g. timeouts)", ["action"]
            ),
            rejected_input=metrics.rejected_input,
            payload_rejected=metrics.counter(
                "steward_slack_payload_rejected_total",
                "Slack payloads refused (4xx) or acknowledged and dropped, by kind and reason",
                ["kind", "reason"],
            ),
            reconnects=metrics.counter(
                "steward_adapter_reconnects_total", "Platform connections re-established after a drop", ["platform"]
            ),
        )


class WebApi:
    """Web API clients by token, and calls that never raise."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._clients: dict[str, AsyncWebClient] = {}
        self.metrics: SlackMetrics | None = None  # set when the adapter is set up

    def client(self, token: str | None) -> AsyncWebClient:
        key = token or ""
        client = self._clients.get(key)
        if client is None:
            client = AsyncWebClient(
                token=token,
                base_url=self.base_url,
                logger=logging.getLogger("steward.slack.web"),
                retry_handlers=[
                    AsyncConnectionErrorRetryHandler(),
                    AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
                ],
            )
            self._clients[key] = client
        return client

    async def call(self, client: AsyncWebClient, method: str, **kwargs: object) -> ApiOutcome:
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
            data = response.data
            return ApiOutcome(True, data if isinstance(data, dict) else {})
        self.count_error(api_name, label)
        log.warning("slack_api_error", method=api_name, error=error)
        return ApiOutcome(False, {}, error)

    def count_error(self, method: str, label: str) -> None:
        if self.metrics is not None:
            self.metrics.api_errors.labels(method, label).inc()
