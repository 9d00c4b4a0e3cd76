"""The toxicity cog: a Detoxify model, loaded once in the background, served to the moderator as the text scorer.

It provides the ``TextScorer`` service (``bot.scoring``); the moderator calls it for agents'
messages before they are posted and humans' messages after. Health (state, model, backend, error) is reported as
the ``toxicity`` component of ``/healthz`` and the console's ``status``.
"""

from bot.plugins import CogPlugin, CommandsPlugin
from cogs.toxicity.config import ToxicitySettings

PLUGIN = CogPlugin(
    name="toxicity",
    settings=ToxicitySettings,
    cog="cogs.toxicity.cog:ToxicityCog",
    order=10,
    description="the Detoxify model, served to the moderator as the text scorer",
)

# `steward model ...`: toxicity model tools (imported only when the CLI runs)
COMMANDS = CommandsPlugin(name="toxicity", module="cogs.toxicity.cli")

__all__ = ["COMMANDS", "PLUGIN"]
