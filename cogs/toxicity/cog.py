"""``ToxicityCog``: wires the toxicity scorer (fast model, Detoxify) into the app (service, health) and adds the
admin ``toxicity`` command.

The scorer itself (loading, batching, judging) is ``cogs.toxicity.scorer``; this module only registers it and
answers the command.
"""

from __future__ import annotations

from bot.cog import Cog
from bot.commands import CommandError, CommandInvocation, CommandReply, command
from bot.scoring import ScorerState, TextAssessment, TextScorer
from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.scorer import ToxicityScorer
from domain import Room


class ToxicityCog(Cog[ToxicitySettings]):
    """Provides the text scorer the moderator uses; loads before the moderator."""

    name = "toxicity"
    scorer: ToxicityScorer

    async def cog_load(self) -> None:
        settings = self.ctx.config()
        # A listener that waits for the model past the bus's timeout is cut off and its message never moderated:
        # Detoxify's deadline leaves at least half of the listener's time for the rest of its work.
        deadline = min(settings.deadline_ms / 1000.0, self.ctx.settings.bus.listener_timeout / 2)
        self.scorer = ToxicityScorer(settings, room_config=self.ctx.config, metrics=self.ctx.metrics, deadline=deadline)
        self.ctx.provide(TextScorer, self.scorer)
        self.ctx.add_health("toxicity", self.scorer.health)
        await self.scorer.start()

    async def cog_unload(self) -> None:
        scorer = getattr(self, "scorer", None)
        if scorer is not None:
            await scorer.close()

    @command(
        "toxicity",
        "score a text with the toxicity model and show what an agent's and a human's message would get here",
        usage="<text>",
        admin_only=True,
        options=(("text", "the text to score"),),
    )
    async def toxicity_command(self, inv: CommandInvocation) -> CommandReply:
        text = inv.raw.strip()
        if not text:
            raise CommandError("give a text to score")
        if self.scorer.state is not ScorerState.READY:
            health = self.scorer.health()
            detail = f": {health['error']}" if health.get("error") else ""
            return CommandReply(f"the toxicity model is {self.scorer.state}{detail}", ok=False)
        room = inv.room or Room(platform="console", server="", channel="toxicity")
        agent = await self.scorer.assess(text, room, agent=True)
        human = await self.scorer.assess(text, room, agent=False)
        scores = ", ".join(f"{label} {value:.3f}" for label, value in agent.scores.items())
        return CommandReply(
            f"backend: {self.scorer.route()}\nscores: {scores}\nas an agent's message: {_outcome(agent)}\n"
            f"as a human's message: {_outcome(human)}"
        )


def _outcome(assessment: TextAssessment) -> str:
    """What a message would get, e.g. ``reject (threat 0.71 >= 0.60)`` or ``allowed``."""
    reason = f" ({assessment.reason})" if assessment.reason else ""
    return f"{assessment.action or 'allowed'}{reason}"


COG = ToxicityCog
