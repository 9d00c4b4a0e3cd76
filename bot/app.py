"""The app: wires config -> storage -> bus -> publisher -> cogs -> scheduler -> HTTP -> adapters, and tears them
down in reverse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bot.adapter import Adapter
from bot.bus import EventBus
from bot.cases import CaseService
from bot.clock import Clock, SystemClock
from bot.cog import CogRegistry
from bot.commands import Command, CommandInvocation, CommandRegistry, CommandReply
from bot.config import ConfigError, Settings
from bot.core import Core
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
from storage.db import Database
from storage.suspensions import SUSPENSIONS_COMPONENT, SUSPENSIONS_MIGRATIONS, SuspensionRepository

log = get_logger("steward.app")


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
    ) -> None:
        self.settings = settings
        self.plugins = plugins or installed()
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.db = Database(settings.database.path)
        self.agents = AgentRepository(self.db)
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
        self.started_at: float | None = None
        self._stopped = asyncio.Event()
        self._register_core_commands()

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.db.open()
        await self.db.migrate("core", CORE_MIGRATIONS)
        await self.db.migrate(CASES_COMPONENT, CASES_MIGRATIONS)
        await self.db.migrate(SUSPENSIONS_COMPONENT, SUSPENSIONS_MIGRATIONS)
        await self.suspensions.load()
        await self.cogs.load_all(self.settings.cogs.enabled)
        for key, error in self.plugins.broken.items():
            # An installed cog that cannot even be imported would otherwise just be missing from the defaults.
            group, _, name = key.partition(":")
            if group == COGS_GROUP:
                self.cogs.failed[name] = f"plug-in unusable: {error}"
        await self.scheduler.rearm()
        self.scheduler.start()
        await self.bus.start()
        self.adapters = self._adapters_given if self._adapters_given is not None else build_adapters(self.settings)
        for adapter in self.adapters:
            self.router.add(adapter)
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
        self.started_at = time.time()
        log.info("steward_started", cogs=sorted(self.cogs.cogs), adapters=[a.platform for a in self.adapters])

    async def stop(self) -> None:
        # Finish the events already queued while the adapters can still perform their actions.
        try:
            await asyncio.wait_for(self.bus.join(), self.settings.bus.listener_timeout)
        except TimeoutError:
            log.warning("stop_drain_timeout", pending=self.bus.pending)
        for adapter in reversed(self.adapters):
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter_stop_failed", platform=adapter.platform)
        await self.bus.stop(drain=True)
        await self.cogs.unload_all()
        await self.scheduler.shutdown()
        if self.http is not None:
            await self.http.stop()
        await self.monitor.stop()
        await self.db.close()
        self._stopped.set()
        log.info("steward_stopped")

    async def run(self) -> None:
        """Start, run until an adapter ends (the console at end of input) or the task is cancelled, then stop."""
        await self.start()
        try:
            waits = [asyncio.create_task(a.wait_closed()) for a in self.adapters]
            _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            await self.stop()

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
