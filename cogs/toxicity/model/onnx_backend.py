"""The ONNX Runtime backend: serve the int8 model written by ``steward model export``, without torch.

The export directory holds ``model.int8.onnx``, ``tokenizer.json`` and ``steward-onnx.json`` (labels, token
limit, pad id, measured drift). Imports only ``onnxruntime`` and ``tokenizers``, and only when ``load_onnx`` runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cogs.toxicity.model.encoder import ChunkEncoder
from cogs.toxicity.model.loaded import Forward, ToxicityModel
from cogs.toxicity.model.spec import ModelLoadError, ModelSpec

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from tokenizers import Tokenizer

# Written next to an exported ONNX model by `steward model export`.
ONNX_METADATA = "steward-onnx.json"
ONNX_TOKENIZER = "tokenizer.json"
_REQUIRED_METADATA = ("labels", "max_tokens", "pad_id")


def read_onnx_metadata(onnx_path: Path) -> dict[str, Any]:
    meta_path = onnx_path.parent / ONNX_METADATA
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{meta_path} is missing: export the model with `steward model export`") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path} cannot be read: {exc}") from None
    for key in _REQUIRED_METADATA:
        if key not in meta:
            raise ModelLoadError(f"{meta_path} lacks {key!r}")
    return meta


def _import_runtime() -> Any:
    """onnxruntime (or which extra is missing); tokenizers is checked here too."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
        import tokenizers  # noqa: F401  (needed by the encoder; a missing one is reported here, not later)
    except ImportError as exc:
        raise ModelLoadError(
            f"backend 'onnx' needs the onnx extra (.venv/bin/pip install -e '.[onnx]'): {exc}"
        ) from None
    return ort


def _read_tokenizer(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path.parent / ONNX_TOKENIZER))
    except Exception as exc:
        raise ModelLoadError(f"{path.parent / ONNX_TOKENIZER} cannot be read: {exc}") from None


def _session(ort: Any, path: Path, threads: int) -> Any:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelLoadError(f"ONNX Runtime cannot load {path}: {exc}") from None


def _forward(session: Any) -> Forward:
    output = session.get_outputs()[0].name

    def forward(arrays: Mapping[str, npt.NDArray[np.int64]]) -> npt.NDArray[Any]:
        logits: npt.NDArray[Any] = session.run([output], dict(arrays))[0]
        return logits

    return forward


def _labels(meta: Mapping[str, Any], path: Path) -> tuple[str, ...]:
    labels = tuple(str(label) for label in meta["labels"])
    if not labels or any(not isinstance(label, str) for label in meta["labels"]):
        raise ModelLoadError(f"{path.parent / ONNX_METADATA}: labels must be a list of names")
    return labels


def load_onnx(spec: ModelSpec, report: Callable[[str], None]) -> ToxicityModel:
    if spec.onnx_path is None:
        raise ModelLoadError("backend 'onnx' needs toxicity.onnx_path")
    ort = _import_runtime()
    path = spec.onnx_path
    if not path.is_file():
        raise ModelLoadError(f"ONNX model {path} does not exist; make it with `steward model export`")
    meta = read_onnx_metadata(path)
    report(f"reading tokenizer and ONNX model {path}")
    tokenizer = _read_tokenizer(path)
    session = _session(ort, path, spec.threads)
    max_tokens = int(meta["max_tokens"])
    if spec.max_tokens is not None:
        max_tokens = min(max_tokens, spec.max_tokens)
    encoder = ChunkEncoder(
        tokenizer,
        max_tokens=max_tokens,
        overlap=spec.chunk_overlap,
        max_chunks=spec.max_chunks,
        pad_id=int(meta["pad_id"]),
        input_names=[i.name for i in session.get_inputs()],
    )
    forward = _forward(session)
    return ToxicityModel(
        backend="onnx",
        source=str(path),
        labels=_labels(meta, path),
        encoder=encoder,
        forward=forward,
        max_batch=spec.max_batch,
        details={"max_tokens": max_tokens, "quantization": meta.get("quantization", "unknown")},
        keep_alive=session,
    )
