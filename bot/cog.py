"""Cogs: the units of behaviour. A cog listens to core events (keyed by event class), registers commands, gates
and timers through its ``CogContext``, and returns actions. Cogs never import a platform SDK.

Loading is atomic: everything a cog registered is recorded by its context, so a cog whose ``cog_load`` fails is
rolled back completely and reported, while the other cogs run on.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bot.commands import Command
from bot.events import Event
from bot.logging import get_logger
from bot.publisher import Gate, Holder
from bot.scheduler import TimerHandler
from domain import Room

if TYPE_CHECKING:
    from bot.app import StewardApp

log = get_logger("steward.cogs")


def listener(event_type: type[Event]) -> Callable[[Any], Any]:
    """Mark a cog method as the listener for ``event_type`` (and its subclasses)."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"@listener takes an Event class, got {event_type!r}")

    def mark(func: Any) -> Any:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"listener {func.__qualname__} must be async")
        func.__steward_listener__ = event_type
        return func

    return mark


class CogContext:
    """What a cog may touch, with every registration recorded so that it can be undone."""

    def __init__(self, app: StewardApp, name: str) -> None:
        self.app = app
        self.name = name
        self.log = get_logger(f"steward.cogs.{name}")
        self._timer_kinds: list[str] = []
        self._jobs: list[str] = []
        self._health: list[str] = []
        self._services: list[str] = []

    # shortcuts to the app's parts
    @property
    def settings(self):
        return self.app.settings

    @property
    def db(self):
        return self.app.db

    @property
    def bus(self):
        return self.app.bus

    @property
    def publisher(self):
        return self.app.publisher

    @property
    def router(self):
        return self.app.router

    @property
    def scheduler(self):
        return self.app.scheduler

    @property
    def clock(self):
        return self.app.clock

    @property
    def metrics(self):
        return self.app.metrics

    @property
    def agents(self):
        return self.app.agents

    def config(self, room: Room | None = None) -> Any:
        """This cog's config section, with the server's and channel's overrides for ``room``."""
        return self.app.settings.section(self.name, room)

    # recorded registrations
    def add_gate(self, gate: Gate) -> None:
        self.app.publisher.add_gate(gate, owner=self.name)

    def add_holder(self, holder: Holder) -> None:
        self.app.publisher.add_holder(holder, owner=self.name)

    def add_command(self, cmd: Command) -> None:
        self.app.commands.register(cmd)

    def add_timer_handler(self, kind: str, handler: TimerHandler) -> None:
        self.app.scheduler.register_handler(kind, handler)
        self._timer_kinds.append(kind)

    def every(self, seconds: float, func: Callable[[], Any], *, job_id: str) -> None:
        full_id = f"{self.name}:{job_id}"
        self.app.scheduler.every(seconds, func, job_id=full_id)
        self._jobs.append(full_id)

    def add_health(self, name: str, probe: Callable[[], dict[str, Any]]) -> None:
        self.app.health_probes[name] = probe
        self._health.append(name)

    def provide(self, name: str, service: Any) -> None:
        """Offer ``service`` to other cogs as ``app.services[name]``."""
        if name in self.app.services:
            raise ValueError(f"service {name!r} is already provided")
        self.app.services[name] = service
        self._services.append(name)

    def service(self, name: str) -> Any:
        return self.app.services.get(name)

    def add_routes(self, routes: list[Any]) -> None:
        """Add aiohttp routes to Steward's HTTP server (call from ``cog_load``; the server starts after cogs)."""
        if self.app.http is None:
            self.log.info("http_disabled_routes_skipped", count=len(routes))
            return
        self.app.http.add_routes(routes)

    def rollback(self) -> None:
        app = self.app
        app.bus.unsubscribe_owner(self.name)
        app.commands.unregister_owner(self.name)
        app.publisher.remove_owner(self.name)
        for kind in self._timer_kinds:
            app.scheduler.unregister_handler(kind)
        for job_id in self._jobs:
            app.scheduler.remove_job(job_id)
        for name in self._health:
            app.health_probes.pop(name, None)
        for name in self._services:
            app.services.pop(name, None)
        self._timer_kinds.clear()
        self._jobs.clear()
        self._health.clear()
        self._services.clear()


class Cog:
    name: ClassVar[str]

    def __init__(self, ctx: CogContext) -> None:
        self.ctx = ctx

    async def cog_load(self) -> None:
        """Prepare state (schema, caches, timers). Raising here rolls the cog back."""

    async def cog_unload(self) -> None:
        """Release what ``cog_load`` took."""

    def listeners(self) -> list[tuple[type[Event], Callable[[Any], Any]]]:
        found = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            event_type = getattr(func, "__steward_listener__", None)
            if event_type is not None:
                found.append((event_type, getattr(self, attr)))
        return found

    def commands(self) -> list[Command]:
        found = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            spec = getattr(func, "__steward_command__", None)
            if spec is not None:
                found.append(Command(handler=getattr(self, attr), owner=self.name, **spec))
        return found


@dataclass(frozen=True, slots=True)
class LoadReport:
    name: str
    loaded: bool
    error: str | None = None


class CogRegistry:
    def __init__(self, app: StewardApp) -> None:
        self.app = app
        self.cogs: dict[str, Cog] = {}
        self._contexts: dict[str, CogContext] = {}
        self.failed: dict[str, str] = {}

    @staticmethod
    def resolve(name: str) -> type[Cog]:
        module = importlib.import_module(f"cogs.{name}")
        cog_class = getattr(module, "COG", None)
        if not (isinstance(cog_class, type) and issubclass(cog_class, Cog)):
            raise TypeError(f"cogs.{name} must define COG, a Cog subclass")
        return cog_class

    async def load(self, name: str, cog_class: type[Cog] | None = None) -> LoadReport:
        if name in self.cogs:
            return LoadReport(name, False, "already loaded")
        ctx = CogContext(self.app, name)
        cog: Cog | None = None
        try:
            cog_class = cog_class or self.resolve(name)
            cog = cog_class(ctx)
            await cog.cog_load()
            for event_type, func in cog.listeners():
                self.app.bus.subscribe(event_type, func, owner=name, name=f"{name}.{func.__name__}")
            for cmd in cog.commands():
                ctx.add_command(cmd)
        except Exception as exc:
            ctx.rollback()
            if cog is not None:
                try:
                    await cog.cog_unload()
                except Exception:
                    log.exception("cog_unload_after_failure_failed", cog=name)
            message = f"{type(exc).__name__}: {exc}"
            self.failed[name] = message
            log.error("cog_load_failed", cog=name, error=message)
            return LoadReport(name, False, message)
        self.cogs[name] = cog
        self._contexts[name] = ctx
        self.failed.pop(name, None)
        log.info("cog_loaded", cog=name, listeners=len(cog.listeners()), commands=len(cog.commands()))
        return LoadReport(name, True)

    async def unload(self, name: str) -> bool:
        cog = self.cogs.pop(name, None)
        if cog is None:
            return False
        ctx = self._contexts.pop(name)
        ctx.rollback()
        try:
            await cog.cog_unload()
        except Exception:
            log.exception("cog_unload_failed", cog=name)
        log.info("cog_unloaded", cog=name)
        return True

    async def load_all(self, names: list[str]) -> list[LoadReport]:
        return [await self.load(name) for name in names]

    async def unload_all(self) -> None:
        for name in reversed(list(self.cogs)):
            await self.unload(name)
