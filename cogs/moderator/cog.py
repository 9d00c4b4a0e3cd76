"""The moderator cog: gates every agent message before it is posted, moderates humans after the fact, escalates,
and keeps numbered cases.

- The *gate* (registered on the agent publisher) builds a ``ModerationContext`` from the submission and the room's
  hot state and asks ``ModeratorService.evaluate``. Anything but APPROVE becomes a case, a log line, a metric and a
  ``ModerationDecision`` event; rejections count towards a suspension.
- The ``MessageCreated`` listener keeps the hot state up to date (the publisher's ``via_steward`` echo for agents;
  humans' messages end loops and reply chains) and moderates humans, and agents that post around the gate.
- Suspensions and warning points live in SQLite; a durable timer ends each suspension.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from cachetools import LRUCache

from bot.actions import Action, DeleteMessage, SendDirectMessage, TimeoutMember
from bot.cog import Cog, listener
from bot.commands import CommandError, CommandInvocation, command
from bot.events import (
    AgentSuspended,
    AgentUnsuspended,
    MessageCreated,
    MessageEdited,
    MessageScored,
    ModerationDecision,
)
from bot.publisher import Decision, Verdict
from bot.scoring import TEXT_SCORER
from cogs.moderator.config import ModeratorSettings
from cogs.moderator.gates import ModeratorGates, Pending
from cogs.moderator.service import ModerationContext, ModeratorService, SuspensionBook, server_key
from domain import Actor, ActorKind, Room
from policy.moderation import (
    AuthorKind,
    compile_filters,
    decayed_points,
    filter_reason,
    ladder_step,
    within_window,
)
from policy.moderation_text import normalize
from storage.core import text_hash
from storage.moderation import (
    MODERATION_MIGRATIONS,
    CaseRecord,
    CaseRepository,
    InMemoryRoomState,
    NewCase,
    PointsRepository,
    Suspension,
    SuspensionRepository,
)

UNSUSPEND_TIMER = "moderator.unsuspend"
_PENDING_LIMIT = 10_000


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


class ModeratorCog(Cog):
    name = "moderator"

    async def cog_load(self) -> None:
        ctx = self.ctx
        await ctx.db.migrate("moderation", MODERATION_MIGRATIONS)
        top: ModeratorSettings = ctx.config()
        self.state = InMemoryRoomState(
            history_size=top.state.history_size,
            max_rooms=top.state.max_rooms,
            idle_seconds=top.state.idle_room_seconds,
        )
        self.cases = CaseRepository(ctx.db)
        self.suspension_repo = SuspensionRepository(ctx.db)
        self.points = PointsRepository(ctx.db)
        self.suspensions = SuspensionBook()
        self.suspensions.load(await self.suspension_repo.open())
        self.service = ModeratorService(
            config=ctx.config, state=self.state, suspensions=self.suspensions, scorer=lambda: ctx.service(TEXT_SCORER)
        )
        self._pending: LRUCache[tuple[str, str], Pending] = LRUCache(maxsize=_PENDING_LIMIT)
        metrics = ctx.metrics
        self._cases_metric = metrics.counter(
            "steward_moderation_cases_total",
            "Moderation cases opened, by target kind, verdict, rule and log-only flag",
            ["target", "verdict", "rule", "log_only"],
        )
        self._suspensions_metric = metrics.counter(
            "steward_moderation_suspensions_total", "Agent suspensions started and ended", ["event"]
        )
        self._actions_metric = metrics.counter(
            "steward_moderation_human_actions_total", "Actions taken on humans' messages", ["action"]
        )
        self._exempt_metric = metrics.counter(
            "steward_moderation_exempt_total", "Messages not moderated because the author is exempt", []
        )
        self._rooms_gauge = metrics.gauge("steward_moderation_rooms", "Rooms held in the moderator's hot state", [])
        self.gates = ModeratorGates(self)
        ctx.add_gate(self.gates.rules)
        ctx.add_gate(self.gates.model)
        ctx.add_timer_handler(UNSUSPEND_TIMER, self._on_unsuspend_timer)
        ctx.every(60.0, self._evict, job_id="evict-idle-rooms")
        ctx.add_health("moderator", self._health)
        ctx.provide("moderator", self.service)
        ctx.log.info("moderator_ready", open_suspensions=len(self.suspensions))

    # --- upkeep ----------------------------------------------------------------------------------------------------

    async def _evict(self) -> None:
        gone = self.state.evict_idle()
        self._rooms_gauge.set(self.state.room_count)
        if gone:
            self.ctx.log.info("moderator_rooms_evicted", count=gone, rooms=self.state.room_count)

    def _health(self) -> dict[str, Any]:
        scorer = self.ctx.service(TEXT_SCORER)
        return {
            "up": True,
            "rooms": self.state.room_count,
            "suspended": len(self.suspensions),
            "scorer": scorer.state.value if scorer is not None else "absent",
        }

    def _stash(self, room: Room, agent: str, pending: Pending) -> None:
        self._pending[(room.key, agent)] = pending  # (the least recently stashed goes beyond the limit)

    # --- events ----------------------------------------------------------------------------------------------------

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> list[Action] | None:
        author = event.author
        if event.via_steward:
            self._remember_agent_echo(event)
            return None
        if author.kind is ActorKind.HUMAN:
            self.service.remember_other(event.room, event.message_id, event.at, AuthorKind.HUMAN)
            return await self._moderate_human(event)
        if author.kind is ActorKind.AGENT:
            return await self._moderate_agent_after(event)
        self.service.remember_other(event.room, event.message_id, event.at, AuthorKind.BOT)
        return None

    def _remember_agent_echo(self, event: MessageCreated) -> None:
        agent = event.author.id
        pending = self._pending.pop((event.room.key, agent), None)
        if pending is not None and pending.posted_text != event.text:
            pending = None  # another message (a draft held back earlier, or edited by a later gate)
        if pending is None:
            # Posted without this gate's notes at hand (a released draft ...): work the payload out from the text.
            settings = self.ctx.config(event.room)
            payload = self.service.payload(event.text, normalize(event.text), settings)
            self.service.remember_agent(
                event.room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=payload
            )
            return
        self.service.remember_agent(
            event.room,
            agent,
            event.message_id,
            event.at,
            reply_to=event.reply_to,
            payload=pending.payload,
            depth=pending.depth,
        )
        if pending.scores:
            self.ctx.bus.publish_nowait(
                MessageScored(
                    at=event.at,
                    room=event.room,
                    message_id=event.message_id,
                    author=event.author,
                    scores=MappingProxyType(dict(pending.scores)),
                )
            )

    async def _moderate_agent_after(self, event: MessageCreated) -> list[Action] | None:
        """An agent that posted with its own bot user, around the gate: the same chain, applied after the fact."""
        room, agent = event.room, event.author.id
        context: ModerationContext = self.service.context(
            room, event.text, event.at, reply_to=event.reply_to, thread_id=event.thread_id
        )
        decision = await self.service.evaluate(agent, context)
        if decision.verdict is Verdict.APPROVE:
            self.service.remember_agent(
                room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=context.payload
            )
            if decision.scores:
                await self._publish_scores(event, decision.scores)
            return None
        settings: ModeratorSettings = self.ctx.config(room)
        case = await self._open_case(
            room=room,
            target=event.author,
            decision=decision,
            text=event.text,
            at=event.at,
            action="delete",
            log_only=settings.log_only,
            message_id=event.message_id,
        )
        if decision.scores:
            await self._publish_scores(event, decision.scores)
        if settings.log_only:
            self.service.remember_agent(
                room, agent, event.message_id, event.at, reply_to=event.reply_to, payload=context.payload
            )
            return None
        if decision.verdict is Verdict.REJECT and decision.rule != "suspended":
            await self._count_rejection(agent, room, event.at, case, settings)
        return [DeleteMessage(room=room, message_id=event.message_id, reason=f"{decision.rule}: {decision.reason}")]

    async def _publish_scores(self, event: MessageCreated | MessageEdited, scores: Mapping[str, float]) -> None:
        await self.ctx.bus.publish(
            MessageScored(
                at=event.at,
                room=event.room,
                message_id=event.message_id,
                author=event.author,
                scores=MappingProxyType(dict(scores)),
            )
        )

    # --- humans ----------------------------------------------------------------------------------------------------

    @listener(MessageEdited)
    async def on_edit(self, event: MessageEdited) -> list[Action] | None:
        """An edit is a new chance to slip something past the filters: humans' edits are judged like new messages."""
        if event.author.kind is not ActorKind.HUMAN:
            return None
        return await self._moderate_human(event)

    async def _moderate_human(self, event: MessageCreated | MessageEdited) -> list[Action] | None:
        room, author = event.room, event.author
        settings: ModeratorSettings = self.ctx.config(room)
        humans = settings.humans
        if not settings.enabled or not humans.enabled:
            return None
        if author.id in humans.exempt_users or (author.roles & set(humans.exempt_roles)):
            self._exempt_metric.inc()
            return None
        rule, reason, tox_action = None, "", None
        if settings.filters.enabled:
            filters = compile_filters(settings.filters.words, settings.filters.patterns)
            if not filters.empty:
                hit = filters.find(normalize(event.text))
                if hit is not None:
                    rule, reason = "filters", filter_reason(hit)
        scores: Mapping[str, float] = {}
        if settings.toxicity.enabled:
            assessment = await self.service.assess(event.text, room, agent=False)
            if assessment is not None:
                scores = assessment.scores
                if assessment.scores:
                    await self._publish_scores(event, assessment.scores)
                if rule is None and assessment.action is not None:
                    rule = "toxicity"
                    reason = assessment.reason or f"the model flagged it ({assessment.label or 'toxicity'})"
                    tox_action = assessment.action
        if rule is None:
            return None

        server = server_key(room)
        delete = humans.delete and tox_action not in ("warn", "log")
        add_points = tox_action != "log"
        before = await self.points.get(server, author.id)
        current = (
            decayed_points(before.points, before.updated_at, event.at, humans.decay_points_per_hour) if before else 0.0
        )
        gained = humans.points_per_violation if add_points else 0.0
        total = current + gained
        step = ladder_step(total, [s.step() for s in humans.ladder]) if add_points else None
        if tox_action == "timeout" and (step is None or step.action != "timeout"):
            timeouts = [s.step() for s in sorted(humans.ladder, key=lambda s: s.points) if s.action == "timeout"]
            step = timeouts[0] if timeouts else step

        actions: list[Action] = []
        described: list[str] = []
        where = f"#{room.channel}"
        if delete:
            actions.append(DeleteMessage(room=room, message_id=event.message_id, reason=f"{rule}: {reason}"))
            described.append("delete")
        if step is not None and step.action == "warn":
            actions.append(
                SendDirectMessage(
                    target_platform=room.platform,
                    user_id=author.id,
                    text=f"Warning from the moderators of {where}: your message {reason}"
                    + (" and was removed." if delete else ".")
                    + f" You have {total:.1f} warning point(s); they fade over time.",
                )
            )
            described.append("warn")
        elif step is not None and step.action == "timeout":
            actions.append(
                TimeoutMember(room=room, user_id=author.id, seconds=step.seconds, reason=f"{rule}: {reason}")
            )
            described.append(f"timeout {step.seconds}s")
        if not described:
            described.append("log")

        verdict = "delete" if delete else "flag"
        decision = Decision(Verdict.REJECT, rule, reason, event.text, MappingProxyType(dict(scores)))
        await self._open_case(
            room=room,
            target=author,
            decision=decision,
            text=event.text,
            at=event.at,
            action="+".join(described),
            log_only=settings.log_only,
            message_id=event.message_id,
            points=0.0 if settings.log_only else gained,
            verdict=verdict,
        )
        if settings.log_only:
            return None
        if gained:
            await self.points.set(server, author.id, total, event.at)
        for done in described:
            self._actions_metric.labels(done.split(" ")[0]).inc()
        return actions

    # --- cases -----------------------------------------------------------------------------------------------------

    async def _open_case(
        self,
        *,
        room: Room,
        target: Actor,
        decision: Decision,
        text: str,
        at: float,
        action: str,
        log_only: bool,
        message_id: str | None = None,
        points: float = 0.0,
        verdict: str | None = None,
    ) -> CaseRecord:
        store_text = self.ctx.settings.database.store_message_text
        verdict = verdict or decision.verdict.value
        case = await self.cases.open(
            NewCase(
                server=server_key(room),
                room=room.key,
                at=at,
                target_kind=target.kind.value,
                target_id=target.id,
                target_name=target.display_name,
                verdict=verdict,
                rule=decision.rule,
                reason=decision.reason,
                text_hash=text_hash(text),
                action=action,
                scores=dict(decision.scores),
                text=text if store_text else None,
                message_id=message_id,
                log_only=log_only,
                points=points,
            )
        )
        self._cases_metric.labels(target.kind.value, verdict, decision.rule, str(log_only).lower()).inc()
        self.ctx.log.info(
            "moderation_case_opened",
            server=case.server,
            case=case.number,
            room=room.key,
            target=target.id,
            target_kind=target.kind.value,
            verdict=verdict,
            rule=decision.rule,
            reason=decision.reason,
            action=action,
            log_only=log_only,
            message_id=message_id,
        )
        await self.ctx.bus.publish(
            ModerationDecision(
                at=at,
                room=room,
                target=target,
                verdict=verdict,
                rule=decision.rule,
                reason=decision.reason,
                message_id=message_id,
                case_id=case.number,
                scores=MappingProxyType(dict(decision.scores)),
                log_only=log_only,
            )
        )
        return case

    # --- escalation ------------------------------------------------------------------------------------------------

    async def _count_rejection(
        self, agent: str, room: Room, at: float, case: CaseRecord, settings: ModeratorSettings
    ) -> None:
        esc = settings.escalation
        if not esc.enabled:
            return
        scope = room.key if esc.scope == "room" else server_key(room)
        times = within_window([*self.state.rejections(agent, scope), at], at, esc.window_seconds)
        if len(times) < esc.rejections:
            self.state.set_rejections(agent, scope, times)
            return
        self.state.set_rejections(agent, scope, [])
        reason = f"{len(times)} rejected messages within {esc.window_seconds:g}s (last: {case.rule})"
        suspension = await self.suspension_repo.add(
            agent=agent,
            server=server_key(room),
            room=room.key if esc.scope == "room" else None,
            started_at=at,
            until=at + esc.suspend_seconds,
            reason=reason,
            case_number=case.number,
        )
        await self.cases.link_suspension(case.id, suspension.id)
        self.suspensions.add(suspension)
        await self.ctx.scheduler.schedule_at(
            UNSUSPEND_TIMER, str(suspension.id), suspension.until, {"suspension": suspension.id}
        )
        self._suspensions_metric.labels("started").inc()
        self.ctx.log.warning(
            "agent_suspended",
            agent=agent,
            server=suspension.server,
            room=suspension.room,
            until=suspension.until,
            reason=reason,
            case=case.number,
        )
        await self.ctx.bus.publish(
            AgentSuspended(
                at=at,
                agent=agent,
                platform=room.platform,
                server=room.server,
                room=room if esc.scope == "room" else None,
                until=suspension.until,
                reason=reason,
            )
        )

    async def _on_unsuspend_timer(self, key: str, payload: Mapping[str, Any]) -> None:
        suspension = await self.suspension_repo.get(int(key))
        if suspension is None or suspension.ended_at is not None:
            return
        await self._end_suspension(suspension, at=suspension.until, by="expired")

    async def _end_suspension(self, suspension: Suspension, *, at: float, by: str) -> bool:
        if not await self.suspension_repo.end(suspension.id, at=at, by=by):
            return False
        self.suspensions.remove(suspension.id)
        self._suspensions_metric.labels("ended").inc()
        platform, _, server = suspension.server.partition(":")
        room = Room.parse(suspension.room) if suspension.room else None
        self.ctx.log.info(
            "agent_unsuspended", agent=suspension.agent, server=suspension.server, room=suspension.room, by=by
        )
        await self.ctx.bus.publish(
            AgentUnsuspended(at=at, agent=suspension.agent, platform=platform, server=server, room=room)
        )
        return True

    # --- commands --------------------------------------------------------------------------------------------------

    @staticmethod
    def _server_of(inv: CommandInvocation) -> str:
        if inv.room is not None:
            return server_key(inv.room)
        return f"{inv.actor.platform}:"

    @staticmethod
    def _line(case: CaseRecord) -> str:
        flags = "".join([" [log-only]" if case.log_only else "", " [pardoned]" if case.pardoned else ""])
        target = case.target_name or case.target_id
        return (
            f"#{case.number} {_when(case.at)} {case.target_kind} {target}: {case.verdict} ({case.rule}) "
            f"{case.reason}{flags}"
        )

    @command("cases", "list the latest moderation cases in this server", usage="[user]")
    async def cases_command(self, inv: CommandInvocation) -> str:
        target = inv.args[0] if inv.args else None
        found = await self.cases.list(self._server_of(inv), target=target, limit=10)
        if not found:
            return f"no cases for {target}" if target else "no cases yet"
        return "\n".join(self._line(c) for c in found)

    @command("case", "show one moderation case", usage="<number>")
    async def case_command(self, inv: CommandInvocation) -> str:
        case = await self._case_arg(inv)
        lines = [self._line(case), f"room: {case.room}", f"action: {case.action or '-'}"]
        if case.message_id:
            lines.append(f"message: {case.message_id}")
        lines.append(f"text sha256: {case.text_hash}")
        if case.text is not None:
            lines.append(f"text: {case.text}")
        if case.scores:
            lines.append("scores: " + ", ".join(f"{k}={v:.2f}" for k, v in sorted(case.scores.items())))
        if case.points:
            lines.append(f"warning points: {case.points:g}")
        if case.suspension_id is not None:
            suspension = await self.suspension_repo.get(case.suspension_id)
            if suspension is not None:
                state = f"ended ({suspension.ended_by})" if suspension.ended_at is not None else "active"
                lines.append(f"suspension: until {_when(suspension.until)}, {state}")
        if case.pardoned:
            lines.append(f"pardoned by {case.pardoned_by} at {_when(case.pardoned_at or 0)}: {case.pardon_reason}")
        return "\n".join(lines)

    async def _case_arg(self, inv: CommandInvocation) -> CaseRecord:
        if not inv.args:
            raise CommandError("give a case number")
        try:
            number = int(inv.args[0].lstrip("#"))
        except ValueError:
            raise CommandError(f"{inv.args[0]!r} is not a case number") from None
        case = await self.cases.get(self._server_of(inv), number)
        if case is None:
            raise CommandError(f"there is no case #{number} in this server")
        return case

    @command(
        "pardon",
        "pardon a case: lifts the suspension or warning points it caused",
        usage="<number> [reason]",
        admin_only=True,
    )
    async def pardon_command(self, inv: CommandInvocation) -> str:
        case = await self._case_arg(inv)
        reason = " ".join(inv.args[1:]) or "no reason given"
        at = self.ctx.clock.now()
        if not await self.cases.pardon(case.id, at=at, by=inv.actor.id, reason=reason):
            raise CommandError(f"case #{case.number} is already pardoned")
        done = [f"case #{case.number} pardoned"]
        if case.suspension_id is not None:
            suspension = await self.suspension_repo.get(case.suspension_id)
            if suspension is not None and suspension.ended_at is None:
                await self._end_suspension(suspension, at=at, by=f"pardon:{inv.actor.id}")
                await self.ctx.scheduler.cancel(UNSUSPEND_TIMER, str(suspension.id))
                done.append(f"suspension of {suspension.agent} lifted")
        if case.points and not case.log_only:
            settings: ModeratorSettings = self.ctx.config(Room.parse(case.room))
            held = await self.points.get(case.server, case.target_id)
            if held is not None:
                current = decayed_points(held.points, held.updated_at, at, settings.humans.decay_points_per_hour)
                left = max(0.0, current - case.points)
                await self.points.set(case.server, case.target_id, left, at)
                done.append(f"{case.points:g} warning point(s) removed ({left:.1f} left)")
        self.ctx.log.info("moderation_case_pardoned", server=case.server, case=case.number, by=inv.actor.id)
        return "; ".join(done)

    @command("suspensions", "list the agents suspended in this server")
    async def suspensions_command(self, inv: CommandInvocation) -> str:
        server = self._server_of(inv)
        now = self.ctx.clock.now()
        found = [s for s in await self.suspension_repo.open() if s.server == server and s.until > now]
        if not found:
            return "no agent is suspended"
        return "\n".join(
            f"{s.agent} in {s.room or 'the whole server'} until {_when(s.until)} (case #{s.case_number}): {s.reason}"
            for s in found
        )
