"""The parts of a running Steward, handed to cogs (through their ``CogContext``) and to adapters.

``StewardApp`` builds one ``Core`` and owns the lifecycle; everything a plug-in may use is a typed field here, so
a plug-in depends on these parts and never on the app that wires them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.bus import EventBus
from bot.cases import CaseService
from bot.clock import Clock
from bot.commands import CommandRegistry
from bot.config import Settings
from bot.events import Event
from bot.http import HttpServer
from bot.interactions import InteractionRouter
from bot.metrics import Metrics
from bot.publisher import AgentPublisher
from bot.router import ActionRouter
from bot.scheduler import Scheduler
from bot.services import ServiceRegistry
from bot.suspensions import SuspensionService
from storage.core import AgentRepository, DecisionLog
from storage.db import Database

HealthProbe = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True, eq=False)
class Core:
    settings: Settings
    clock: Clock
    metrics: Metrics
    db: Database
    agents: AgentRepository
    decisions: DecisionLog
    bus: EventBus
    router: ActionRouter
    publisher: AgentPublisher
    scheduler: Scheduler
    commands: CommandRegistry
    services: ServiceRegistry
    interactions: InteractionRouter
    cases: CaseService
    suspensions: SuspensionService
    http: HttpServer | None
    health_probes: dict[str, HealthProbe] = field(default_factory=dict)

    async def publish(self, event: Event) -> bool:
        """Queue ``event`` on the bus (False when it was dropped: the queue stayed full)."""
        return await self.bus.publish(event)
