"""``load_model``: the one entry point that loads what a ``ModelSpec`` names, on the backend it names.

Blocking; run it in the inference thread. Each backend module imports its heavy libraries only when called, so
choosing ONNX never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cogs.toxicity.model.loaded import ToxicityModel
from cogs.toxicity.model.spec import ModelLoadError, ModelSpec


def _silent(step: str) -> None:
    """The progress callback when the caller wants none."""


def load_model(spec: ModelSpec, progress: Callable[[str], None] | None = None) -> ToxicityModel:
    """Load the model ``spec`` names (blocking: run it in the inference thread)."""
    report = progress or _silent
    started = time.perf_counter()
    if spec.backend == "onnx":
        from cogs.toxicity.model.onnx_backend import load_onnx

        model = load_onnx(spec, report)
    elif spec.backend == "torch":
        from cogs.toxicity.model.torch_backend import load_torch

        model = load_torch(spec, report)
    else:
        raise ModelLoadError(f"unknown backend {spec.backend!r}")
    model.load_seconds = time.perf_counter() - started
    return model
