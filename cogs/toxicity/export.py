"""PyTorch -> ONNX with int8 dynamic quantization, checked against PyTorch on a probe set before it is accepted.

The export is written to a temporary directory next to the output and moved into place only when every label's
largest score difference on the probes is within the tolerance; a refused export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cogs.toxicity.model import ModelLoadError, ModelSpec, ToxicityModel
from cogs.toxicity.model.onnx_backend import ONNX_METADATA, ONNX_TOKENIZER, load_onnx
from cogs.toxicity.model.torch_backend import load_torch

ONNX_MODEL_NAME = "model.int8.onnx"
OPSET = 17


class ExportError(Exception):
    """The export could not be made (as opposed to made and refused for drift)."""


@dataclass(frozen=True, slots=True)
class ExportReport:
    onnx_path: Path
    accepted: bool
    tolerance: float
    drift: dict[str, float]
    probes: int
    fp32_bytes: int
    int8_bytes: int
    seconds: float
    labels: tuple[str, ...] = field(default=())

    @property
    def max_drift(self) -> float:
        return max(self.drift.values(), default=0.0)


def max_abs_difference(a: Sequence[Mapping[str, float]], b: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per label, the largest absolute score difference between two scorings of the same texts."""
    worst: dict[str, float] = {}
    for left, right in zip(a, b, strict=True):
        for label, value in left.items():
            diff = abs(value - right[label])
            if math.isnan(diff):
                diff = math.inf
            worst[label] = max(worst.get(label, 0.0), diff)
    return worst


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export_fp32(model: ToxicityModel, target: Path) -> None:
    import torch

    module = model.keep_alive
    names = list(model.encoder.input_names)

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.inner(**dict(zip(names, inputs, strict=True)))[0]
            return logits

    sample = model.encoder.arrays(model.encoder.encode(["a sample text for tracing", "two"]).chunks)
    args = tuple(torch.from_numpy(sample[name]) for name in names)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LogitsOnly(module).eval(),
            args,
            str(target),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _quantize(source: Path, target: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    # quantize_dynamic logs a pre-processing hint on the root logger for every model; it does not apply here.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def _silent(step: str) -> None:
    """The progress callback when the caller wants none."""


@contextlib.contextmanager
def _staging(output_dir: Path) -> Iterator[Path]:
    """A fresh directory next to ``output_dir`` for the export's files, removed afterwards whatever happens."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = output_dir.parent / f".{output_dir.name}.export-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _convert(model: ToxicityModel, fp32: Path, int8: Path, report: Callable[[str], None]) -> None:
    report("exporting to ONNX (fp32)")
    try:
        _export_fp32(model, fp32)
    except Exception as exc:
        raise ExportError(f"torch.onnx.export failed: {type(exc).__name__}: {exc}") from None
    report("quantizing to int8 (dynamic)")
    try:
        _quantize(fp32, int8)
    except Exception as exc:
        raise ExportError(f"quantization failed: {type(exc).__name__}: {exc}") from None


def _metadata(model: ToxicityModel, spec: ModelSpec) -> dict[str, Any]:
    """What ``load_onnx`` needs to serve the model (labels, token limit, inputs), and where it came from."""
    return {
        "format": 1,
        "labels": list(model.labels),
        "max_tokens": model.encoder.max_tokens,
        "pad_id": model.encoder.pad_id,
        "inputs": list(model.encoder.input_names),
        "quantization": "int8-dynamic",
        "opset": OPSET,
        "source": spec.source,
        "source_sha256": _sha256(spec.checkpoint) if spec.checkpoint else None,
        "arch": model.details.get("arch"),
    }


def _write_metadata(staging: Path, metadata: Mapping[str, Any]) -> None:
    (staging / ONNX_METADATA).write_text(json.dumps(metadata, indent=2), encoding="utf-8")


def _measure_drift(
    model: ToxicityModel, spec: ModelSpec, int8: Path, probes: Sequence[str], report: Callable[[str], None]
) -> dict[str, float]:
    """Per label, the largest difference between the torch model's and the staged int8 model's probe scores."""
    report(f"measuring drift on {len(probes)} probes")
    onnx_model = load_onnx(replace(spec, backend="onnx", onnx_path=int8), report)
    expected = model.score(list(probes))
    got = onnx_model.score(list(probes))
    return max_abs_difference(expected, got)


def _publish(staging: Path, output_dir: Path) -> None:
    output_dir.mkdir(exist_ok=True)
    for name in (ONNX_MODEL_NAME, ONNX_TOKENIZER, ONNX_METADATA):
        os.replace(staging / name, output_dir / name)


def export_onnx(
    spec: ModelSpec,
    output_dir: Path,
    *,
    tolerance: float,
    probes: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export the PyTorch model ``spec`` names to ``output_dir/model.int8.onnx`` (with its tokenizer and metadata),
    or refuse it when the int8 scores drift beyond ``tolerance`` on ``probes``."""
    report = progress or _silent
    if not probes:
        raise ExportError("the probe set is empty")
    started = time.perf_counter()
    try:
        model = load_torch(replace(spec, backend="torch"), report)
    except ModelLoadError as exc:
        raise ExportError(str(exc)) from None
    output_dir = output_dir.resolve()
    with _staging(output_dir) as staging:
        fp32 = staging / "model.fp32.onnx"
        int8 = staging / ONNX_MODEL_NAME
        _convert(model, fp32, int8, report)
        model.details["tokenizer"].backend_tokenizer.save(str(staging / ONNX_TOKENIZER))
        metadata = _metadata(model, spec)
        _write_metadata(staging, metadata)
        drift = _measure_drift(model, spec, int8, probes, report)
        accepted = max(drift.values(), default=0.0) <= tolerance
        sizes = (fp32.stat().st_size, int8.stat().st_size)
        metadata.update(drift={k: round(v, 6) for k, v in drift.items()}, tolerance=tolerance, probes=len(probes))
        _write_metadata(staging, metadata)
        if accepted:
            fp32.unlink()
            _publish(staging, output_dir)
        return ExportReport(
            onnx_path=output_dir / ONNX_MODEL_NAME,
            accepted=accepted,
            tolerance=tolerance,
            drift=drift,
            probes=len(probes),
            fp32_bytes=sizes[0],
            int8_bytes=sizes[1],
            seconds=time.perf_counter() - started,
            labels=model.labels,
        )
