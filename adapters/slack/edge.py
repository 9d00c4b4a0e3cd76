"""Where Slack's input meets Steward, for both transports (HTTP mode and Socket Mode): each payload is screened
(``adapters.slack.payloads``) before bolt sees it, rejections and ignored payloads are counted and logged, and bolt's
error handler catches whatever still goes wrong inside bolt so that it is counted rather than answered 500.
"""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from adapters.slack.payloads import Checked, check, kind_of
from adapters.slack.web import SlackMetrics
from bot.logging import get_logger

log = get_logger("steward.slack")

__all__ = ["Edge"]


class Edge:
    """Screens Slack payloads and keeps count of what was refused, ignored, or failed inside bolt."""

    def __init__(self, metrics: SlackMetrics, command: str) -> None:
        self.metrics = metrics
        self.command = command

    def rejected(self, kind: str, reason: str, fields: tuple[str, ...] = (), **details: object) -> None:
        """Count and log a payload that is dropped (or refused): its kind, why, and which fields were at fault."""
        self.metrics.payload_rejected.labels(kind, reason).inc()
        log.info("slack_payload_rejected", kind=kind, reason=reason, fields=list(fields), **details)

    def screen(self, body: dict[str, Any], *, now: float | None = None) -> Checked:
        """The verdict on a parsed payload; a rejection or a bad time is counted and logged, an unhandled payload is
        counted as ignored."""
        checked = check(body, command=self.command, now=time.time() if now is None else now)
        if checked.reason is not None:
            self.rejected(checked.kind, checked.reason, checked.fields)
        elif checked.fields:  # times that were not believed: the receive time is used instead
            self.rejected(checked.kind, "bad_timestamp", checked.fields, action="receive_time_used")
        if checked.reason is None and not checked.handled:
            self.metrics.events.labels(checked.kind, "ignored").inc()
        return checked

    async def on_bolt_error(self, error: Exception, body: object) -> BoltResponse:
        """bolt's global error handler: a listener or middleware that raised, or a request no listener took. It is
        counted and acknowledged (200, so that Slack does not retry it) instead of bolt's 500 or 404."""
        kind = kind_of(body) if isinstance(body, dict) else "unknown"
        if isinstance(error, BoltUnhandledRequestError):
            self.rejected(kind, "unhandled")
        else:
            self.rejected(kind, "listener_error", error=type(error).__name__)
            log.warning("slack_listener_failed", kind=kind, error=repr(error)[:300])
        return BoltResponse(status=200, body="")
