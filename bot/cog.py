"""Cogs: the units of behaviour. A cog listens to core events (keyed by event class), registers commands, gates
and timers through its ``CogContext``, and returns actions. Cogs never import a platform SDK.

Loading is atomic: everything a cog registered is recorded by its context, so a cog whose ``cog_load`` fails is
rolled back completely and reported, while the other cogs run on.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bot.bus import EventBus
from bot.cases import CaseService
from bot.clock import Clock
from bot.commands import Command, CommandRegistry
from bot.config import Settings
from bot.core import Core, HealthProbe
from bot.events import Event
from bot.interactions import InteractionHandler
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.plugins import CogPlugin
from bot.publisher import AgentPublisher, Gate, GateOrder, Holder
from bot.router import ActionRouter
from bot.scheduler import Scheduler, TimerHandler
from bot.suspensions import SuspensionService
from domain import Room
from storage.core import AgentRepository
from storage.db import Database

S = TypeVar("S", bound=BaseModel)
T = TypeVar("T")

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


class NoSettings(BaseModel):
    """The section of a cog that has none (one loaded by class, not installed as a plug-in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CogContext(Generic[S]):
    """What a cog may touch, typed, with every registration recorded so that it can be undone."""

    def __init__(self, core: Core, name: str, settings_model: type[S]) -> None:
        self.core = core
        self.name = name
        self.settings_model = settings_model
        self.log = get_logger(f"steward.cogs.{name}")
        self._timer_kinds: list[str] = []
        self._jobs: list[str] = []
        self._health: list[str] = []
        # The section every room reads when no server or channel overrides it (settings do not change while the
        # app runs): asked for per message, it is then one attribute read.
        self._uniform: S | None = None
        self._uniform_checked = False

    # the core's parts
    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def db(self) -> Database:
        return self.core.db

    @property
    def bus(self) -> EventBus:
        return self.core.bus

    @property
    def publisher(self) -> AgentPublisher:
        return self.core.publisher

    @property
    def router(self) -> ActionRouter:
        return self.core.router

    @property
    def scheduler(self) -> Scheduler:
        return self.core.scheduler

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def metrics(self) -> Metrics:
        return self.core.metrics

    @property
    def agents(self) -> AgentRepository:
        return self.core.agents

    @property
    def cases(self) -> CaseService:
        return self.core.cases

    @property
    def suspensions(self) -> SuspensionService:
        return self.core.suspensions

    @property
    def commands(self) -> CommandRegistry:
        return self.core.commands

    def config(self, room: Room | None = None) -> S:
        """This cog's config section, with the server's and channel's overrides for ``room``."""
        uniform = self._uniform
        if uniform is not None:
            return uniform
        if not self._uniform_checked:
            self._uniform_checked = True
            if self.settings_model is NoSettings:
                self._uniform = self.settings_model()
                return self._uniform
            variants = self.core.settings.variants_as(self.settings_model, self.name)
            if len(variants) == 1:  # nobody overrides the section: every room has the defaults
                self._uniform = variants[0]
                return self._uniform
        return self.core.settings.section_as(self.settings_model, self.name, room)

    # recorded registrations
    def add_gate(self, gate: Gate, *, order: GateOrder | int) -> None:
        """Gate agents' messages; ``order`` says where among all gates this one runs (``GateOrder``)."""
        self.core.publisher.add_gate(gate, owner=self.name, order=order)

    def add_holder(self, holder: Holder) -> None:
        self.core.publisher.add_holder(holder, owner=self.name)

    def add_command(self, cmd: Command) -> None:
        self.core.commands.register(cmd)

    def add_interaction(self, kind: str, handler: InteractionHandler) -> None:
        """Own the buttons whose id is ``steward:<kind>:...``: only ``handler`` hears their clicks."""
        self.core.interactions.register(kind, handler, owner=self.name)

    def add_timer_handler(self, kind: str, handler: TimerHandler) -> None:
        self.core.scheduler.register_handler(kind, handler)
        self._timer_kinds.append(kind)

    def every(self, seconds: float, func: Callable[[], Awaitable[None]], *, job_id: str) -> None:
        full_id = f"{self.name}:{job_id}"
        self.core.scheduler.every(seconds, func, job_id=full_id)
        self._jobs.append(full_id)

    def add_health(self, name: str, probe: HealthProbe) -> None:
        self.core.health_probes[name] = probe
        self._health.append(name)

    def provide(self, kind: type[T], service: T) -> None:
        """Offer ``service`` to other cogs as the implementation of the Protocol ``kind``."""
        self.core.services.provide(kind, service, owner=self.name)

    def service(self, kind: type[T]) -> T | None:
        """The loaded implementation of ``kind``, or None while no loaded cog offers it."""
        return self.core.services.get(kind)

    def add_routes(self, routes: list[web.RouteDef]) -> None:
        """Add aiohttp routes to Steward's HTTP server (call from ``cog_load``; the server starts after cogs)."""
        if self.core.http is None:
            self.log.info("http_disabled_routes_skipped", count=len(routes))
            return
        self.core.http.add_routes(routes)

    def rollback(self) -> None:
        core = self.core
        core.bus.unsubscribe_owner(self.name)
        core.commands.unregister_owner(self.name)
        core.publisher.remove_owner(self.name)
        core.services.remove_owner(self.name)
        core.interactions.remove_owner(self.name)
        for kind in self._timer_kinds:
            core.scheduler.unregister_handler(kind)
        for job_id in self._jobs:
            core.scheduler.remove_job(job_id)
        for name in self._health:
            core.health_probes.pop(name, None)
        self._timer_kinds.clear()
        self._jobs.clear()
        self._health.clear()


class Cog(Generic[S]):
    """A unit of behaviour, typed by its config section model ``S`` (``class ModeratorCog(Cog[ModeratorSettings])``)."""

    name: ClassVar[str]

    def __init__(self, ctx: CogContext[S]) -> None:
        self.ctx = ctx

    async def cog_load(self) -> None:
        """Prepare state (schema, caches, timers). Raising here rolls the cog back."""

    async def cog_unload(self) -> None:
        """Release what ``cog_load`` took."""

    def listeners(self) -> list[tuple[type[Event], Callable[[Any], Awaitable[Any]]]]:
        found: list[tuple[type[Event], Callable[[Any], Awaitable[Any]]]] = []
        for attr in dir(type(self)):
            func = getattr(type(self), attr, None)
            event_type = getattr(func, "__steward_listener__", None)
            if event_type is not None:
                found.append((event_type, getattr(self, attr)))
        return found

    def commands(self) -> list[Command]:
        found: list[Command] = []
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
    """Loads the enabled cogs from their plug-ins, atomically, and unloads them in reverse."""

    def __init__(self, core: Core, plugins: Mapping[str, CogPlugin]) -> None:
        self.core = core
        self.plugins = plugins
        self.cogs: dict[str, Cog[Any]] = {}
        self._contexts: dict[str, CogContext[Any]] = {}
        self.failed: dict[str, str] = {}

    def _plugin(self, name: str) -> CogPlugin:
        plugin = self.plugins.get(name)
        if plugin is None:
            raise LookupError(f"no cog named {name!r} is installed")
        return plugin

    async def load(self, name: str, cog_class: type[Cog[Any]] | None = None) -> LoadReport:
        """Load the installed cog ``name``, or ``cog_class`` under that name (with the installed plug-in's section
        if there is one, else none: a cog embedded by a program or a test)."""
        if name in self.cogs:
            return LoadReport(name, False, "already loaded")
        ctx: CogContext[Any] | None = None
        cog: Cog[Any] | None = None
        try:
            plugin = self.plugins.get(name) if cog_class is not None else self._plugin(name)
            ctx = CogContext(self.core, name, plugin.settings if plugin is not None else NoSettings)
            found = cog_class or self._plugin(name).load()
            if not (isinstance(found, type) and issubclass(found, Cog)):
                raise TypeError(f"cog plug-in {name!r}: {self._plugin(name).cog} is not a Cog subclass")
            cog = found(ctx)
            await cog.cog_load()
            for event_type, func in cog.listeners():
                self.core.bus.subscribe(event_type, func, owner=name, name=f"{name}.{func.__name__}")
            for cmd in cog.commands():
                ctx.add_command(cmd)
        except Exception as exc:
            if ctx is not None:
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
