"""The toxicity model: what to load (``ModelSpec``), loading it (``load_model``), scoring with it (``ToxicityModel``).

Submodules, one job each: ``spec`` (settings -> what to load), ``encoder`` (tokenising and chunking), ``loaded``
(scoring batches with a loaded model), ``loader`` (backend dispatch), ``offline`` (is the download reachable,
checked before torch is imported), ``checkpoint`` (reading and checking a Detoxify checkpoint), ``torch_backend``
and ``onnx_backend``. Nothing here imports torch, numpy, transformers or onnxruntime until a model is loaded.
"""

from __future__ import annotations

from cogs.toxicity.model.loaded import ToxicityModel
from cogs.toxicity.model.loader import load_model
from cogs.toxicity.model.spec import ModelLoadError, ModelSpec

__all__ = ["ModelLoadError", "ModelSpec", "ToxicityModel", "load_model"]
