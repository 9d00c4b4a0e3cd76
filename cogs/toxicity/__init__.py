"""The toxicity cog: a fast model that ships in a package, and Detoxify when it loads, as the text scorer.

It provides the ``TextScorer`` service (``bot.scoring``); the moderator calls it for agents'
messages before they are posted and humans' messages after. Health (state, model, backend, error) is reported as
the ``toxicity`` component of ``/healthz`` and the console's ``status``.

Modules: ``cog`` (the cog class), ``config`` (the ``[toxicity]`` section), ``scorer`` (the service: routing by
mode, fallback, judging per room), ``fast`` (the fast model), ``detox`` (Detoxify's background load),
``diagnose`` (why Detoxify is unavailable, what to run), ``batcher`` (micro-batching off the event loop),
``model`` (loading and running Detoxify on torch or ONNX), ``export`` and ``cli`` (``steward model export``,
``fetch``, ``status``), ``probes`` (the export's probe texts), ``synthetic`` (random checkpoints for tests and
benchmarks). Importing this package imports no torch, numpy, transformers or onnxruntime.
"""

from bot.plugins import CogPlugin, CommandsPlugin
from cogs.toxicity.config import ToxicitySettings

PLUGIN = CogPlugin(
    name="toxicity",
    settings=ToxicitySettings,
    cog="cogs.toxicity.cog:ToxicityCog",
    order=10,
    description="the toxicity models (fast, Detoxify), served to the moderator as the text scorer",
)

# `steward model ...`: toxicity model tools (imported only when the CLI runs)
COMMANDS = CommandsPlugin(name="toxicity", module="cogs.toxicity.cli")

__all__ = ["COMMANDS", "PLUGIN"]
