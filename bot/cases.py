"""Cases as a core service: any cog records what it did to whom and why, numbered per server.

The moderator opens a case for each rejection and each action on a person; presence records forced leaves and
the conversation moderator its interventions. Each case is written once (``storage/cases.py``), logged, counted
(``steward_moderation_cases_total``) and announced on the bus as a ``ModerationDecision`` other cogs can hear.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bot.bus import EventBus
from bot.events import ModerationDecision
from bot.logging import get_logger
from bot.metrics import Metrics
from domain import Actor, Room
from storage.cases import CaseRecord, CaseRepository, NewCase
from storage.core import text_hash

log = get_logger("steward.cases")


class CaseService:
    def __init__(self, repo: CaseRepository, *, bus: EventBus, metrics: Metrics, store_text: bool) -> None:
        self.repo = repo
        self.bus = bus
        self.store_text = store_text
        self._opened = metrics.counter(
            "steward_moderation_cases_total",
            "Moderation cases opened, by target kind, verdict, rule and log-only flag",
            ["target", "verdict", "rule", "log_only"],
        )

    async def open(
        self,
        *,
        room: Room,
        target: Actor,
        at: float,
        verdict: str,
        rule: str,
        reason: str,
        text: str = "",
        action: str = "",
        scores: Mapping[str, float] | None = None,
        message_id: str | None = None,
        log_only: bool = False,
        points: float = 0.0,
    ) -> CaseRecord:
        """Record a case (its number is taken inside the write), then log, count and announce it."""
        case = await self.repo.open(
            NewCase(
                server=room.server_key,
                room=room.key,
                at=at,
                target_kind=target.kind.value,
                target_id=target.id,
                target_name=target.display_name,
                verdict=verdict,
                rule=rule,
                reason=reason,
                text_hash=text_hash(text),
                action=action,
                scores=dict(scores or {}),
                text=text if self.store_text and text else None,
                message_id=message_id,
                log_only=log_only,
                points=points,
            )
        )
        self._opened.labels(target.kind.value, verdict, rule, str(log_only).lower()).inc()
        log.info(
            "moderation_case_opened",
            server=case.server,
            case=case.number,
            room=room.key,
            target=target.id,
            target_kind=target.kind.value,
            verdict=verdict,
            rule=rule,
            reason=reason,
            action=action,
            log_only=log_only,
            message_id=message_id,
        )
        await self.bus.publish(
            ModerationDecision(
                at=at,
                room=room,
                target=target,
                verdict=verdict,
                rule=rule,
                reason=reason,
                message_id=message_id,
                case_id=case.number,
                scores=MappingProxyType(dict(scores or {})),
                log_only=log_only,
            )
        )
        return case

    async def get(self, server: str, number: int) -> CaseRecord | None:
        return await self.repo.get(server, number)

    async def get_by_id(self, case_id: int) -> CaseRecord | None:
        return await self.repo.get_by_id(case_id)

    async def list(self, server: str, *, target: str | None = None, limit: int = 10) -> list[CaseRecord]:
        return await self.repo.list(server, target=target, limit=limit)

    async def link_suspension(self, case_id: int, suspension_id: int) -> None:
        await self.repo.link_suspension(case_id, suspension_id)

    async def pardon(self, case_id: int, *, at: float, by: str, reason: str) -> bool:
        """Record a pardon; False when the case was already pardoned."""
        return await self.repo.pardon(case_id, at=at, by=by, reason=reason)
