"""What became of the moderator's actions on people: performed one at a time, so that the case, the person's notice
and the operator learn what the platform did rather than what was asked of it.

``ActionOutcomes.perform`` hands an action to the router. When the platform refused it, it logs
``moderation_action_refused`` (a warning naming the platform's error), counts
``steward_moderation_action_failures_total{action, platform, code}`` and, when the adapter says how an operator can
fix it (Slack without a user token, a Discord role without the permission), keeps that fix as a note of the
``moderator_actions`` health component until the same action next succeeds on that platform.
``outcome_label`` is how a case records an outcome: ``delete``, or ``delete_failed: cant_delete_message``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.actions import Action, ActionResult
from bot.logging import get_logger
from bot.metrics import Metrics

log = get_logger("steward.moderator")

Perform = Callable[[Action], Awaitable[ActionResult]]


def outcome_label(done: str, result: ActionResult) -> str:
    """``done`` when the platform did it, else ``<kind>_failed: <the platform's error code>``."""
    if result.ok:
        return done
    kind = done.split(" ")[0]
    return f"{kind}_failed: {result.code or 'error'}"


class ActionOutcomes:
    """Performs the moderator's actions and keeps the refusals an operator has to fix."""

    def __init__(self, perform: Perform, metrics: Metrics) -> None:
        self._perform = perform
        self._failures = metrics.counter(
            "steward_moderation_action_failures_total",
            "Moderation actions the platform refused, by action, platform and the platform's error code",
            ["action", "platform", "code"],
        )
        self._to_fix: dict[tuple[str, str], ActionResult] = {}  # (platform, action) -> its last refusal with a fix

    async def perform(self, action: Action, **context: object) -> ActionResult:
        """Perform ``action``; a refusal is logged with ``context`` (e.g. the case's rule) and counted."""
        result = await self._perform(action)
        name, platform = type(action).__name__, action.platform
        key = (platform, name)
        if result.ok:
            self._to_fix.pop(key, None)
            return result
        self._failures.labels(name, platform, result.code or "error").inc()
        log.warning(
            "moderation_action_refused",
            action=name,
            platform=platform,
            code=result.code,
            error=result.error,
            fix=result.fix,
            **context,
        )
        if result.fix:
            self._to_fix[key] = result
        return result

    def health(self) -> dict[str, Any]:
        """Optional: down (a note, not degraded) while a platform refuses an action for a reason an operator can
        fix, with what to change."""
        if not self._to_fix:
            return {"up": True, "required": False}
        notes = sorted({f"{platform}: {result.fix}" for (platform, _), result in self._to_fix.items()})
        return {
            "up": False,
            "required": False,
            "reason": "; ".join(notes),
            "refused": sorted(f"{platform} {name}" for platform, name in self._to_fix),
        }
