"""Cases as a core service: any cog records what it did to whom and why, numbered per server.

The moderator opens a case for each rejection and each action on a person; presence records forced leaves and
the conversation moderator its interventions. Each case is written once (``storage/cases.py``), logged, counted
(``steward_moderation_cases_total``) and announced on the bus as a ``ModerationDecision`` other cogs can hear.
``record(entry, suspend=terms)`` writes a case together with the suspension it causes and that suspension's end
timer, in one transaction, and announces both after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot.bus import EventBus
from bot.events import ModerationDecision
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.suspensions import SuspensionService, SuspensionTerms
from domain import Actor, Room
from storage.cases import CaseRecord, CaseRepository, NewCase
from storage.core import text_hash
from storage.suspensions import Suspension

log = get_logger("steward.cases")


@dataclass(frozen=True, slots=True)
class CaseEntry:
    """A case to open: where, about whom, when, the decision and what was done."""

    room: Room
    target: Actor
    at: float
    verdict: str
    rule: str
    reason: str
    text: str = ""
    action: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)
    message_id: str | None = None
    log_only: bool = False
    points: float = 0.0


class CaseService:
    def __init__(
        self,
        repo: CaseRepository,
        *,
        bus: EventBus,
        metrics: Metrics,
        store_text: bool,
        suspensions: SuspensionService | None = None,
    ) -> None:
        self.repo = repo
        self.bus = bus
        self.store_text = store_text
        self.suspensions = suspensions
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
        entry = CaseEntry(
            room, target, at, verdict, rule, reason, text, action, dict(scores or {}), message_id, log_only, points
        )
        case, _ = await self.record(entry)
        return case

    async def record(
        self, entry: CaseEntry, *, suspend: SuspensionTerms | None = None
    ) -> tuple[CaseRecord, Suspension | None]:
        """Record a case and, with ``suspend``, the suspension it causes and that suspension's end timer, all in one
        transaction (a crash leaves all three or none); then log, count and announce them."""
        suspensions = self.suspensions
        if suspend is not None and suspensions is None:
            raise RuntimeError("this case service was built without the suspension service")
        suspension = None
        async with self.repo.db.transaction() as conn:
            case = await self.repo.open_in(conn, self._new_case(entry))
            if suspend is not None and suspensions is not None:
                suspension = await suspensions.add_in(conn, suspend, case_number=case.number)
                await self.repo.link_suspension_in(conn, case.id, suspension.id)
                case = replace(case, suspension_id=suspension.id)
        await self._announce(case, entry)
        if suspend is not None and suspension is not None and suspensions is not None:
            await suspensions.announce(suspension, suspend)
        return case, suspension

    def _new_case(self, entry: CaseEntry) -> NewCase:
        room, target, text = entry.room, entry.target, entry.text
        return NewCase(
            server=room.server_key,
            room=room.key,
            at=entry.at,
            target_kind=target.kind.value,
            target_id=target.id,
            target_name=target.display_name,
            verdict=entry.verdict,
            rule=entry.rule,
            reason=entry.reason,
            text_hash=text_hash(text),
            action=entry.action,
            scores=dict(entry.scores),
            text=text if self.store_text and text else None,
            message_id=entry.message_id,
            log_only=entry.log_only,
            points=entry.points,
        )

    async def _announce(self, case: CaseRecord, entry: CaseEntry) -> None:
        target, room = entry.target, entry.room
        self._opened.labels(target.kind.value, entry.verdict, entry.rule, str(entry.log_only).lower()).inc()
        log.info(
            "moderation_case_opened",
            server=case.server,
            case=case.number,
            room=room.key,
            target=target.id,
            target_kind=target.kind.value,
            verdict=entry.verdict,
            rule=entry.rule,
            reason=entry.reason,
            action=entry.action,
            log_only=entry.log_only,
            message_id=entry.message_id,
        )
        await self.bus.publish(
            ModerationDecision(
                at=entry.at,
                room=room,
                target=target,
                verdict=entry.verdict,
                rule=entry.rule,
                reason=entry.reason,
                message_id=entry.message_id,
                case_id=case.number,
                scores=MappingProxyType(dict(entry.scores)),
                log_only=entry.log_only,
            )
        )

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
