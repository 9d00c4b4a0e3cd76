"""The app: wires config -> storage -> bus -> publisher -> cogs -> scheduler -> HTTP -> adapters, and tears them
down in reverse."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.adapter import Adapter
from bot.agents import CachedAgentRepository
from bot.bus import EventBus
from bot.cases import CaseService
from bot.clock import Clock, SystemClock
from bot.cog import CogRegistry
from bot.commands import Command, CommandInvocation, CommandRegistry, CommandReply
from bot.config import ConfigError, Settings
from bot.core import Core
from bot.errors import AlreadyRunning, DatabaseError, ExitCode, StewardError
from bot.events import Event
from bot.health import HealthMonitor, summary
from bot.http import HttpServer
from bot.interactions import InteractionRouter
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.plugins import COGS_GROUP, AdapterPlugin, Plugins, installed
from bot.publisher import AgentPublisher
from bot.router import ActionRouter
from bot.scheduler import Scheduler
from bot.services import ServiceRegistry
from bot.suspensions import SuspensionService
from storage.cases import CASES_COMPONENT, CASES_MIGRATIONS, CaseRepository
from storage.core import CORE_MIGRATIONS, AgentRepository, DecisionLog, TimerRepository
from storage.db import Database, DatabaseOpenError, MigrationError, describe_error
from storage.lock import DatabaseLocked
from storage.retention import Retention
from storage.suspensions import SUSPENSIONS_COMPONENT, SUSPENSIONS_MIGRATIONS, SuspensionRepository

log = get_logger("steward.app")

# How long one part may take to stop before the rest go on without it.
STOP_STEP_TIMEOUT = 15.0


async def _guarded(step: str, stop: Callable[[], Awaitable[None]]) -> None:
    try:
        await asyncio.wait_for(stop(), STOP_STEP_TIMEOUT)
    except TimeoutError:
        log.error("stop_step_timeout", step=step, seconds=STOP_STEP_TIMEOUT)
    except Exception as exc:
        log.exception("stop_step_failed", step=step, error=repr(exc))


def _log_start_failure(exc: BaseException) -> None:
    """Log why the start failed: the problem for the errors that name one, the traceback for the unexpected."""
    if isinstance(exc, StewardError):
        log.error("steward_start_failed", problem=exc.problem, hint=exc.hint, code=int(exc.code))
    elif isinstance(exc, ConfigError):
        log.error("steward_start_failed", problem=str(exc), code=int(ExitCode.CONFIG))
    elif isinstance(exc, Exception):
        log.exception("steward_start_failed", problem=repr(exc), code=int(ExitCode.INTERNAL))
    else:
        log.info("steward_start_interrupted", reason=type(exc).__name__)


def configured_platforms(settings: Settings, plugins: Plugins | None = None) -> list[str]:
    """The installed platform adapters whose settings say they are configured (tokens present)."""
    found = (plugins or installed()).adapters.values()
    return [p.name for p in found if not p.fallback and p.configured(settings)]


def _build(plugin: AdapterPlugin, settings: Settings) -> Adapter:
    adapter = plugin.build(settings)
    if not isinstance(adapter, Adapter):
        raise ConfigError([f"{plugin.name}: its adapter plug-in made a {type(adapter).__name__}, not an Adapter"])
    return adapter


def build_adapters(settings: Settings, plugins: Plugins | None = None) -> list[Adapter]:
    """The platform adapters with tokens configured; the fallback (the console) when there are none."""
    plugins = plugins or installed()
    adapters = [_build(plugins.adapters[name], settings) for name in configured_platforms(settings, plugins)]
    if not adapters:
        adapters = [_build(p, settings) for p in plugins.adapters.values() if p.fallback][:1]
    return adapters


class StewardApp:
    def __init__(
        self,
        settings: Settings,
        *,
        adapters: Sequence[Adapter] | None = None,
        clock: Clock | None = None,
        http: bool | None = None,
        plugins: Plugins | None = None,
        exclusive: bool = True,
    ) -> None:
        self.settings = settings
        self.plugins = plugins or installed()
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.db = Database(settings.database.path)
        self.agents: AgentRepository = CachedAgentRepository(self.db)
        self.decisions = DecisionLog(self.db, store_text=settings.database.store_message_text)
        self.bus = EventBus(
            self.metrics,
            shards=settings.bus.shards,
            queue_size=settings.bus.queue_size,
            put_timeout=settings.bus.put_timeout,
            listener_timeout=settings.bus.listener_timeout,
        )
        self.router = ActionRouter(self.metrics)
        self.bus.action_sink = self.router.perform_all
        self.publisher = AgentPublisher(
            agents=self.agents,
            decisions=self.decisions,
            router=self.router,
            bus=self.bus,
            metrics=self.metrics,
            clock=self.clock,
        )
        self.scheduler = Scheduler(TimerRepository(self.db), self.clock)
        self.scheduler.keep_for(
            Retention(self.db, settings.database.retention(), batch=settings.database.retention_batch)
        )
        self.commands = CommandRegistry()
        self.services = ServiceRegistry()
        self.interactions = InteractionRouter(self.bus, self.metrics)
        self.suspensions = SuspensionService(
            SuspensionRepository(self.db), bus=self.bus, scheduler=self.scheduler, metrics=self.metrics
        )
        self.cases = CaseService(
            CaseRepository(self.db),
            bus=self.bus,
            metrics=self.metrics,
            store_text=settings.database.store_message_text,
            suspensions=self.suspensions,
        )
        use_http = settings.http.enabled if http is None else http
        self.http: HttpServer | None = (
            HttpServer(
                health=self.health,
                ready=lambda: self.monitor.readiness(),
                live=lambda: self.monitor.liveness(),
                metrics=self.metrics,
                host=settings.http.host,
                port=settings.http.port,
                max_body_bytes=settings.http.max_body_bytes,
            )
            if use_http
            else None
        )
        self.core = Core(
            settings=settings,
            clock=self.clock,
            metrics=self.metrics,
            db=self.db,
            agents=self.agents,
            decisions=self.decisions,
            bus=self.bus,
            router=self.router,
            publisher=self.publisher,
            scheduler=self.scheduler,
            commands=self.commands,
            services=self.services,
            interactions=self.interactions,
            cases=self.cases,
            suspensions=self.suspensions,
            http=self.http,
        )
        self.health_probes = self.core.health_probes
        self.cogs = CogRegistry(self.core, self.plugins.cogs)
        self.monitor = HealthMonitor(
            self.core, adapters=lambda: self.adapters, cogs=self.cogs, started=lambda: self.started_at is not None
        )
        self._adapters_given = list(adapters) if adapters is not None else None
        self.adapters: list[Adapter] = []
        self._opened_adapters: list[Adapter] = []
        self._bus_started = False
        # The one writer of its database: a second process on the same file is refused (AlreadyRunning).
        self.exclusive = exclusive
        self.started_at: float | None = None
        self._stopped = asyncio.Event()
        self._register_core_commands()

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open everything in order. When a step fails, whatever was opened is closed again before the error goes
        on; failures an operator can fix arrive as a ``StewardError`` (``DatabaseError``, ``AlreadyRunning``,
        ``AdapterFatal`` ...) that names the problem and what to do."""
        try:
            await self._open_database()
            await self._start_core()
            await self._start_adapters()
        except BaseException as exc:
            _log_start_failure(exc)
            await self.stop()
            raise
        self.started_at = time.time()
        log.info("steward_started", cogs=sorted(self.cogs.cogs), adapters=[a.platform for a in self.adapters])

    async def _open_database(self) -> None:
        path = self.db.path
        try:
            await self.db.open(exclusive=self.exclusive)
            await self.db.migrate("core", CORE_MIGRATIONS)
            await self.db.migrate(CASES_COMPONENT, CASES_MIGRATIONS)
            await self.db.migrate(SUSPENSIONS_COMPONENT, SUSPENSIONS_MIGRATIONS)
        except DatabaseLocked as exc:
            owner = f"pid {exc.pid}" if exc.pid is not None else "pid unknown"
            raise AlreadyRunning(
                f"another Steward ({owner}) is using {path}", hint="stop it or give this one its own [database] path"
            ) from exc
        except DatabaseOpenError as exc:
            raise DatabaseError(exc.problem, hint=exc.hint) from exc
        except MigrationError as exc:
            raise DatabaseError(
                f"{path}: {exc}", hint="run the Steward version that wrote it, or restore a backup made by this one"
            ) from exc
        except (sqlite3.Error, OSError) as exc:
            described = describe_error(path, exc)
            raise DatabaseError(described.problem, hint=described.hint) from exc

    async def _start_core(self) -> None:
        await self.suspensions.load()
        await self.cogs.load_all(self.settings.cogs.enabled)
        self._refuse_newer_cog_schemas()
        for key, error in self.plugins.broken.items():
            # An installed cog that cannot even be imported would otherwise just be missing from the defaults.
            group, _, name = key.partition(":")
            if group == COGS_GROUP:
                self.cogs.failed[name] = f"plug-in unusable: {error}"
        await self.scheduler.rearm()
        self.scheduler.start()
        self._bus_started = True
        await self.bus.start()

    def _refuse_newer_cog_schemas(self) -> None:
        """A cog whose tables a newer Steward wrote cannot load; running without it would silently drop its rules,
        so the start fails as it does for the core's tables."""
        prefix = f"{MigrationError.__name__}: "
        for name, error in self.cogs.failed.items():
            if error.startswith(prefix):
                raise DatabaseError(
                    f"{self.db.path}: cog {name}: {error.removeprefix(prefix)}",
                    hint="run the Steward version that wrote it, or restore a backup made by this one",
                )

    async def _start_adapters(self) -> None:
        self.adapters = self._adapters_given if self._adapters_given is not None else build_adapters(self.settings)
        for adapter in self.adapters:
            self.router.add(adapter)
            # Listed before it is set up: an adapter that fails half-way through is stopped with the rest.
            self._opened_adapters.append(adapter)
            await adapter.setup(self.core)
        await self.monitor.start()
        if self.http is not None:
            try:
                await self.http.start()
            except OSError as exc:
                # The chat and the moderation go on without /healthz and /metrics; health (`status`) says so.
                log.error("http_unavailable", host=self.http.host, port=self.http.port, error=str(exc))
        for adapter in self.adapters:
            await adapter.start(self.core)
            log.info("adapter_started", platform=adapter.platform)

    async def stop(self) -> None:
        """Close what ``start`` opened, in reverse. Safe after a start that failed half-way and when called twice:
        each step is guarded and bounded in time, so one stuck part cannot keep the rest open."""
        opened = self._bus_started or bool(self._opened_adapters) or self.db.is_open
        if self._bus_started:
            # Finish the events already queued while the adapters can still perform their actions.
            try:
                await asyncio.wait_for(self.bus.join(), self.settings.bus.listener_timeout)
            except TimeoutError:
                log.warning("stop_drain_timeout", pending=self.bus.pending)
        adapters, self._opened_adapters = self._opened_adapters, []
        for adapter in reversed(adapters):
            await _guarded(f"adapter {adapter.platform}", adapter.stop)
        if self._bus_started:
            self._bus_started = False
            await _guarded("bus", self.bus.stop)
        await _guarded("cogs", self.cogs.unload_all)
        await _guarded("scheduler", self.scheduler.shutdown)
        if self.http is not None:
            await _guarded("http", self.http.stop)
        await _guarded("health monitor", self.monitor.stop)
        await _guarded("database", self.db.close)
        self._stopped.set()
        if opened:
            log.info("steward_stopped")

    async def run(self) -> None:
        """Start, run until an adapter ends, then stop everything, on every path.

        Returns when an adapter ended on its own (the console at the end of its input). Raises what ended it when
        an adapter's ``wait_closed`` raised (``AdapterFatal``: the platform refused us for good) or when ``start``
        failed; cancellation (a signal) stops everything and propagates.
        """
        try:
            await self.start()
            await self._wait_adapters()
        finally:
            await self.stop()

    async def _wait_adapters(self) -> None:
        waits = {asyncio.create_task(a.wait_closed(), name=f"steward-wait-{a.platform}"): a for a in self.adapters}
        if not waits:
            await asyncio.Event().wait()
        try:
            done, _pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        for task in done:
            error = task.exception()
            if error is not None:
                platform = waits[task].platform
                if isinstance(error, StewardError):
                    log.error("adapter_ended", platform=platform, problem=error.problem, code=int(error.code))
                else:
                    log.error("adapter_failed", platform=platform, error=repr(error), exc_info=error)
                raise error
        log.info("adapter_closed", platforms=sorted(waits[task].platform for task in done))

    async def publish(self, event: Event) -> bool:
        return await self.bus.publish(event)

    # --- health and core commands ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The full health report (``/healthz``, ``status``): see ``bot.health``."""
        report = self.monitor.report()
        report["uptime_seconds"] = round(time.time() - self.started_at, 1) if self.started_at else 0.0
        return report

    def _register_core_commands(self) -> None:
        async def help_command(inv: CommandInvocation) -> CommandReply:
            return CommandReply(self.commands.help_text(include_admin=inv.is_admin))

        async def status_command(inv: CommandInvocation) -> CommandReply:
            return CommandReply(summary(self.health()))

        self.commands.register(Command("help", "list the commands", help_command))
        self.commands.register(Command("status", "show what is running and its health", status_command))
