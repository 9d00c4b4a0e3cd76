"""The adapter contract: platform payloads in as core events, typed actions out.

An adapter declares the actions it performs with ``@performs(ActionType)``. ``perform`` dispatches by the action's
type; an action the adapter does not support gets a failed ``ActionResult`` that says so, never an AttributeError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from bot.actions import Action, ActionResult
from bot.core import Core

PerformFn = Callable[[Any, Any], Awaitable[ActionResult]]


def performs(action_type: type[Action]) -> Callable[[PerformFn], PerformFn]:
    def mark(func: PerformFn) -> PerformFn:
        func.__steward_performs__ = action_type  # type: ignore[attr-defined]
        return func

    return mark


class Adapter:
    platform: ClassVar[str]
    # Where logs go while this adapter owns the terminal (the console chat); None: it does not.
    log_path: Path | None = None

    def __init__(self) -> None:
        self._performers: dict[type[Action], PerformFn] = {}
        for klass in reversed(type(self).__mro__):
            for value in vars(klass).values():
                action_type = getattr(value, "__steward_performs__", None)
                if action_type is not None:
                    self._performers[action_type] = value
        self.app: Core | None = None

    @property
    def supported_actions(self) -> frozenset[type[Action]]:
        return frozenset(self._performers)

    def supports(self, action: Action) -> bool:
        return type(action) in self._performers

    async def perform(self, action: Action) -> ActionResult:
        performer = self._performers.get(type(action))
        if performer is None:
            return ActionResult.failed(f"the {self.platform} adapter does not support {type(action).__name__}")
        return await performer(self, action)

    async def setup(self, app: Core) -> None:
        """Before the HTTP server starts: register routes (Slack HTTP mode) and read config. No network yet."""
        self.app = app

    async def start(self, app: Core) -> None:
        """Connect to the platform and begin feeding events into the core; return once connected."""
        self.app = app

    async def stop(self) -> None:
        """Disconnect; after this no event is published."""

    async def wait_closed(self) -> None:
        """For adapters that end on their own (the console at end of input): return when they did."""
        await _forever()

    def health(self) -> dict[str, Any]:
        return {"up": self.app is not None}


async def _forever() -> None:
    await asyncio.Event().wait()
