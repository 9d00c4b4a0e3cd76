"""The toxicity cog: a Detoxify model, loaded once in the background, served to the moderator as the text scorer.

It provides the ``TextScorer`` service (``bot.scoring``); the moderator calls it for agents'
messages before they are posted and humans' messages after. Health (state, model, backend, error) is reported as
the ``toxicity`` component of ``/healthz`` and the console's ``status``.

Modules: ``cog`` (the cog class), ``config`` (the ``[toxicity]`` section), ``scorer`` (the service: background
load, fallback, judging per room), ``batcher`` (micro-batching off the event loop), ``model`` (loading and
running the model on torch or ONNX), ``export`` and ``cli`` (``steward model export``), ``probes`` (the export's
probe texts), ``synthetic`` (random checkpoints for tests and benchmarks). Importing this package imports no
torch, numpy, transformers or onnxruntime.
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
