"""The moderator cog: wires the moderator's parts to the core and routes the events to them.

- Two gates (``gates.ModeratorGates``) judge every agent message before it is posted: the text rules at
  ``GateOrder.RULES`` and the model (toxicity) rule at ``GateOrder.MODEL``.
- The ``MessageCreated`` listener keeps the rooms' hot state up to date (the publisher's ``via_steward`` echo for
  agents; humans' messages end loops and reply chains), sends humans' messages and edits through the human
  pipeline (``humans``) and agents that post around the gate through the agent chain after the fact.
- Cases and suspensions are the core's (``ctx.cases``, ``ctx.suspensions``); escalation (``escalation``) opens
  suspensions, the commands (``commands``) read and pardon. Warning points are the moderator's own table.
"""

from __future__ import annotations

from typing import Any

from bot.actions import Action
from bot.cog import Cog, listener
from bot.commands import Command
from bot.events import MessageCreated, MessageEdited
from bot.publisher import GateOrder
from bot.scoring import TextAssessment, TextScorer
from cogs.moderator.agents import AgentModeration
from cogs.moderator.commands import CaseCommands
from cogs.moderator.config import ModeratorSettings, lookback_seconds
from cogs.moderator.escalation import Escalation
from cogs.moderator.gates import ModeratorGates
from cogs.moderator.human_rules import with_rule_checks
from cogs.moderator.humans import HumanPipeline, WarningPoints, human_steps
from cogs.moderator.outcomes import ActionOutcomes
from cogs.moderator.service import ModeratorService
from domain import ActorKind, Room
from policy.moderation import AuthorKind
from storage.moderation import MODERATION_MIGRATIONS, InMemoryRoomState, PointsRepository


class ModeratorCog(Cog[ModeratorSettings]):
    name = "moderator"

    async def cog_load(self) -> None:
        ctx = self.ctx
        await ctx.db.migrate("moderation", MODERATION_MIGRATIONS)
        top = ctx.config()
        # A room is forgotten once it is quieter than both the idle setting and every window any room's rules read
        # (so eviction changes no decision: a duplicate or a cooldown within its window still finds its history).
        longest = max(lookback_seconds(cfg) for cfg in ctx.settings.variants_as(ModeratorSettings, self.name))
        self.state = InMemoryRoomState(
            history_size=top.state.history_size,
            max_rooms=top.state.max_rooms,
            idle_seconds=max(top.state.idle_room_seconds, longest),
        )
        self.service = ModeratorService(
            config=ctx.config, state=self.state, suspensions=ctx.suspensions, scorer=self._scorer
        )
        escalation = Escalation(state=self.state, cases=ctx.cases)
        metrics = ctx.metrics
        self.outcomes = ActionOutcomes(ctx.router.perform, metrics)
        self.agents = AgentModeration(ctx, self.service, escalation, self.outcomes)
        points = WarningPoints(PointsRepository(ctx.db))
        self.humans = HumanPipeline(
            with_rule_checks(  # links and mentions after the word filters
                human_steps(
                    points=points,
                    cases=ctx.cases,
                    assess=self._assess_human,
                    publish_scores=self.agents.publish_scores,
                    outcomes=self.outcomes,
                    exempt_metric=metrics.counter(
                        "steward_moderation_exempt_total", "Messages not moderated because the author is exempt", []
                    ),
                    actions_metric=metrics.counter(
                        "steward_moderation_human_actions_total", "Actions taken on humans' messages", ["action"]
                    ),
                    clock=ctx.clock.now,
                )
            )
        )
        self._commands = CaseCommands(ctx, points)
        self._rooms_gauge = metrics.gauge("steward_moderation_rooms", "Rooms held in the moderator's hot state", [])
        self.gates = ModeratorGates(self.agents)
        ctx.add_gate(self.gates.rules, order=GateOrder.RULES)
        ctx.add_gate(self.gates.model, order=GateOrder.MODEL)
        ctx.every(top.state.sweep_seconds, self._evict, job_id="evict-idle-rooms")
        ctx.add_health("moderator", self._health)
        ctx.add_health("moderator_actions", self.outcomes.health)
        ctx.log.info("moderator_ready", open_suspensions=len(ctx.suspensions))

    def commands(self) -> list[Command]:
        return self._commands.commands(self.name)

    # --- events -----------------------------------------------------------------------------------------------------

    @listener(MessageCreated)
    async def on_message(self, event: MessageCreated) -> list[Action] | None:
        kind = event.author.kind
        if event.via_steward:
            self.agents.remember_echo(event)
            return None
        if kind is ActorKind.HUMAN:
            self.service.remember_other(event.room, event.message_id, event.at, AuthorKind.HUMAN)
            await self.humans.run(event, self.ctx.config(event.room))
            return None
        if kind is ActorKind.AGENT:
            await self.agents.moderate_after(event)
            return None
        self.service.remember_other(event.room, event.message_id, event.at, AuthorKind.BOT)
        return None

    @listener(MessageEdited)
    async def on_edit(self, event: MessageEdited) -> None:
        """An edit is a new chance to slip something past the filters: humans' edits are judged like new messages."""
        await self.humans.run(event, self.ctx.config(event.room))

    # --- services ---------------------------------------------------------------------------------------------------

    def _scorer(self) -> TextScorer | None:
        return self.ctx.service(TextScorer)

    async def _assess_human(self, text: str, room: Room, waited: float) -> TextAssessment | None:
        return await self.service.assess(text, room, agent=False, waited=waited)

    # --- upkeep -----------------------------------------------------------------------------------------------------

    async def _evict(self) -> None:
        await self.evict()

    async def evict(self) -> int:
        """Forget the rooms (and agents' counters) idle past every window, and their plans; return how many."""
        gone = self.state.evict_idle()
        self.service.keep_plans(self.state.__contains__)
        self._rooms_gauge.set(self.state.room_count)
        if gone:
            self.ctx.log.info("moderator_rooms_evicted", count=gone, rooms=self.state.room_count)
        return gone

    def _health(self) -> dict[str, Any]:
        scorer = self._scorer()
        return {
            "up": True,
            "rooms": self.state.room_count,
            "suspended": len(self.ctx.suspensions),
            "scorer": scorer.state.value if scorer is not None else "absent",
        }
