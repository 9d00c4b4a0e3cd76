"""The toxicity cog: a Detoxify model, loaded once in the background, served to the moderator as the text scorer.

It provides ``app.services["text_scorer"]`` (``bot.scoring.TextScorer``); the moderator calls it for agents'
messages before they are posted and humans' messages after. Health (state, model, backend, error) is reported as
the ``toxicity`` component of ``/healthz`` and the console's ``status``.

Modules: ``cog`` (the cog class), ``config`` (the ``[toxicity]`` section), ``scorer`` (the service: background
load, fallback, judging per room), ``batcher`` (micro-batching off the event loop), ``model`` (loading and
running the model on torch or ONNX), ``export`` and ``cli`` (``steward model export``), ``probes`` (the export's
probe texts), ``synthetic`` (random checkpoints for tests and benchmarks). Importing this package imports no
torch, numpy, transformers or onnxruntime.
"""

from __future__ import annotations

from cogs.toxicity.cog import COG, ToxicityCog

__all__ = ["COG", "ToxicityCog"]
