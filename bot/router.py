"""Routes each action to the adapter of the platform it concerns, and logs and counts the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.actions import Action, ActionResult
from bot.events import Event
from bot.logging import get_logger
from bot.metrics import Children, Metrics

log = get_logger("steward.actions")


class Performer(Protocol):
    """What the router needs of an adapter: its platform, and a way to perform an action."""

    @property
    def platform(self) -> str: ...

    async def perform(self, action: Action) -> ActionResult: ...


class ActionRouter:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.adapters: dict[str, Performer] = {}
        self._counted = Children(metrics.actions)

    def add(self, adapter: Performer) -> None:
        if adapter.platform in self.adapters:
            raise ValueError(f"an adapter for {adapter.platform!r} is already routed")
        self.adapters[adapter.platform] = adapter

    def supports(self, action: Action) -> bool:
        """Whether the adapter of the action's platform performs actions of its kind."""
        adapter = self.adapters.get(action.platform)
        check = getattr(adapter, "supports", None)
        return bool(check is not None and check(action))

    async def perform(self, action: Action) -> ActionResult:
        name = type(action).__name__
        try:
            platform = action.platform
        except NotImplementedError as exc:
            result = ActionResult.failed(str(exc))
            platform = "?"
        else:
            adapter = self.adapters.get(platform)
            if adapter is None:
                result = ActionResult.failed(f"no adapter is running for platform {platform!r}")
            else:
                try:
                    result = await adapter.perform(action)
                except Exception as exc:
                    log.exception("action_crashed", action=name, platform=platform, error=repr(exc))
                    result = ActionResult.failed(f"{type(exc).__name__}: {exc}")
        self._counted(name, platform, "ok" if result.ok else "failed").inc()
        if result.ok:
            log.debug(
                "action_performed", action=name, platform=platform, message_id=result.message_id, note=result.note
            )
        else:
            log.warning("action_failed", action=name, platform=platform, error=result.error)
        return result

    async def perform_all(self, actions: Sequence[Action], cause: Event | None = None) -> list[ActionResult]:
        return [await self.perform(action) for action in actions]
