"""Loading a Detoxify model and scoring batches of texts with it, on PyTorch or ONNX Runtime.

Everything here is synchronous and meant to run in the toxicity cog's single inference thread. Heavy libraries
(torch, transformers, detoxify, onnxruntime) are imported only by the loader that needs them, so a disabled
toxicity cog, or one serving an ONNX file, never imports torch.

Both backends share one tokenisation path (a ``tokenizers.Tokenizer``, the fast tokenizer behind the Hugging
Face one): each text becomes one or more chunks of at most ``max_tokens`` tokens (consecutive chunks overlap a
little so that a phrase cut at a boundary is whole in one of them), chunks are sorted by length and scored in
batches, and a text's score per label is the maximum over its chunks.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from bot.logging import get_logger
from policy.toxicity import known_labels, max_over_chunks, spread_indices

if TYPE_CHECKING:
    import numpy as np

log = get_logger("steward.toxicity.model")

# Written next to an exported ONNX model by `steward model export`.
ONNX_METADATA = "steward-onnx.json"
ONNX_TOKENIZER = "tokenizer.json"

# Detoxify's release checkpoints (detoxify.detoxify.MODEL_URLS, checked by a test), known here so that an offline
# machine is detected before torch is imported.
DETOXIFY_CHECKPOINTS = {
    "original": "https://github.com/unitaryai/detoxify/releases/download/v0.1-alpha/toxic_original-c1212f89.ckpt",
    "unbiased": "https://github.com/unitaryai/detoxify/releases/download/v0.3-alpha/toxic_debiased-c7548aa0.ckpt",
    "multilingual": (
        "https://github.com/unitaryai/detoxify/releases/download/v0.4-alpha/multilingual_debiased-0b549669.ckpt"
    ),
}
HF_HUB = "https://huggingface.co"

# Detoxify's own renaming of the Jigsaw class names (detoxify.detoxify.load_checkpoint).
_CLASS_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
_ROBERTA_LIKE = frozenset({"roberta", "xlm-roberta", "camembert"})


class ModelLoadError(Exception):
    """The model cannot be loaded; the message says what is missing and how to fix it."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What to load and how to run it (from the ``[toxicity]`` section)."""

    model: str = "original"
    backend: str = "torch"
    checkpoint: Path | None = None
    model_dir: Path | None = None
    onnx_path: Path | None = None
    allow_pickle_checkpoint: bool = False
    download_timeout: float = 5.0
    max_tokens: int | None = None
    chunk_overlap: int = 32
    max_chunks: int = 32
    max_batch: int = 32
    threads: int = 0

    @classmethod
    def from_settings(cls, cfg: Any) -> ModelSpec:
        return cls(
            model=cfg.model,
            backend=cfg.backend,
            checkpoint=cfg.checkpoint,
            model_dir=cfg.model_dir,
            onnx_path=cfg.onnx_path,
            allow_pickle_checkpoint=cfg.allow_pickle_checkpoint,
            download_timeout=cfg.download_timeout,
            max_tokens=cfg.max_tokens,
            chunk_overlap=cfg.chunk_overlap,
            max_chunks=cfg.max_chunks,
            max_batch=cfg.max_batch,
            threads=cfg.threads,
        )

    @property
    def source(self) -> str:
        if self.backend == "onnx":
            return str(self.onnx_path)
        return str(self.checkpoint) if self.checkpoint else f"detoxify:{self.model}"


# --- tokenisation and chunking ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Encoded:
    """Chunks of token ids, and for each chunk the index of the text it came from."""

    chunks: list[list[int]]
    owners: list[int]
    truncated: int  # texts whose chunks were thinned out to max_chunks


class ChunkEncoder:
    """Texts -> chunks of token ids -> padded arrays, with a private copy of the fast tokenizer."""

    def __init__(
        self,
        tokenizer: Any,
        *,
        max_tokens: int,
        overlap: int,
        max_chunks: int,
        pad_id: int,
        input_names: Sequence[str],
    ) -> None:
        from tokenizers import Tokenizer

        # A private copy: truncation and padding settings are per tokenizer object.
        self._tok = Tokenizer.from_str(tokenizer.to_str())
        self._tok.no_padding()
        specials = self._tok.post_processor.num_special_tokens_to_add(False) if self._tok.post_processor else 0
        if overlap >= max_tokens - specials:
            raise ModelLoadError(f"chunk_overlap {overlap} leaves no room in chunks of {max_tokens} tokens")
        self._tok.enable_truncation(max_tokens, stride=overlap, strategy="longest_first")
        self.max_tokens = max_tokens
        self.max_chunks = max_chunks
        self.pad_id = pad_id
        self.input_names = tuple(input_names)
        unknown = set(self.input_names) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown or "input_ids" not in self.input_names:
            raise ModelLoadError(f"the model takes inputs Steward cannot feed: {sorted(self.input_names)}")

    def encode(self, texts: Sequence[str]) -> Encoded:
        chunks: list[list[int]] = []
        owners: list[int] = []
        truncated = 0
        for index, encoding in enumerate(self._tok.encode_batch(list(texts))):
            pieces = [encoding.ids] + [extra.ids for extra in encoding.overflowing]
            if len(pieces) > self.max_chunks:
                pieces = [pieces[i] for i in spread_indices(len(pieces), self.max_chunks)]
                truncated += 1
            chunks.extend(pieces)
            owners.extend([index] * len(pieces))
        return Encoded(chunks, owners, truncated)

    def arrays(self, rows: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        import numpy as np

        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        out = {"input_ids": ids}
        if "attention_mask" in self.input_names:
            out["attention_mask"] = mask
        if "token_type_ids" in self.input_names:
            out["token_type_ids"] = np.zeros_like(ids)
        return out


# --- backends --------------------------------------------------------------------------------------------------------


class Forward(Protocol):
    def __call__(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray: ...


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


@dataclass(slots=True)
class ToxicityModel:
    """A loaded model: ``score(texts)`` -> one ``{label: probability}`` per text, in order."""

    backend: str
    source: str
    labels: tuple[str, ...]  # the model's output columns, Detoxify's names
    encoder: ChunkEncoder
    forward: Forward
    max_batch: int
    load_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    keep_alive: Any = None  # the torch module or ORT session behind ``forward``

    @property
    def judged_labels(self) -> tuple[str, ...]:
        return known_labels(self.labels)

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        encoded = self.encoder.encode(texts)
        probs = self.score_chunks(encoded.chunks)
        per_text: list[list[dict[str, float]]] = [[] for _ in texts]
        for owner, row in zip(encoded.owners, probs, strict=True):
            per_text[owner].append(row)
        return [max_over_chunks(rows) for rows in per_text]

    def score_chunks(self, chunks: Sequence[Sequence[int]]) -> list[dict[str, float]]:
        """Score token-id chunks, shortest together (less padding), returned in the order given."""
        import numpy as np

        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i]))
        out: list[dict[str, float]] = [{} for _ in chunks]
        for start in range(0, len(order), self.max_batch):
            picked = order[start : start + self.max_batch]
            logits = self.forward(self.encoder.arrays([chunks[i] for i in picked]))
            if logits.shape != (len(picked), len(self.labels)):
                raise RuntimeError(f"model returned shape {logits.shape}, expected ({len(picked)}, {len(self.labels)})")
            probs = _sigmoid(logits)
            if not np.isfinite(probs).all():
                raise RuntimeError("model returned non-finite scores")
            for i, row in zip(picked, probs.tolist(), strict=True):
                out[i] = dict(zip(self.labels, row, strict=True))
        return out


def load_model(spec: ModelSpec, progress: Callable[[str], None] | None = None) -> ToxicityModel:
    """Load the model ``spec`` names (blocking: run it in the inference thread)."""
    report = progress or (lambda step: None)
    started = time.perf_counter()
    if spec.backend == "onnx":
        model = load_onnx(spec, report)
    elif spec.backend == "torch":
        model = load_torch(spec, report)
    else:
        raise ModelLoadError(f"unknown backend {spec.backend!r}")
    model.load_seconds = time.perf_counter() - started
    return model


# --- PyTorch (Detoxify) ----------------------------------------------------------------------------------------------


def class_names(checkpoint: Mapping[str, Any]) -> list[str]:
    return [_CLASS_RENAMES.get(c, c) for c in checkpoint["config"]["dataset"]["args"]["classes"]]


def check_checkpoint(loaded: Any, where: str) -> dict[str, Any]:
    """The checkpoint dict Detoxify expects, or a ModelLoadError naming what is wrong."""
    try:
        args = loaded["config"]["arch"]["args"]
        classes = loaded["config"]["dataset"]["args"]["classes"]
        state = loaded["state_dict"]
    except (KeyError, TypeError):
        raise ModelLoadError(
            f"{where} is not a Detoxify checkpoint: it needs config.arch.args, config.dataset.args.classes "
            "and state_dict"
        ) from None
    if not isinstance(args, Mapping) or not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise ModelLoadError(f"{where}: config.arch.args must be a table and the classes a list of names")
    missing = {"model_type", "model_name", "tokenizer_name", "num_classes"} - set(args)
    if missing:
        raise ModelLoadError(f"{where}: config.arch.args lacks {sorted(missing)}")
    if len(classes) != int(args["num_classes"]):
        raise ModelLoadError(f"{where}: {len(classes)} classes but num_classes is {args['num_classes']}")
    if not isinstance(state, Mapping) or not state:
        raise ModelLoadError(f"{where}: state_dict is empty")
    return loaded


def read_checkpoint(path: Path, *, allow_pickle: bool) -> dict[str, Any]:
    import pickle

    import torch

    if not path.is_file():
        raise ModelLoadError(f"checkpoint {path} does not exist")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:
            raise ModelLoadError(
                f"checkpoint {path} holds objects other than tensors and plain data ({found.group(1)}); if you "
                "trust the file, set toxicity.allow_pickle_checkpoint = true"
            ) from None
        raise ModelLoadError(f"checkpoint {path} cannot be read: not a torch checkpoint, or damaged") from None
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelLoadError(f"checkpoint {path} cannot be read: {exc}") from None
    return check_checkpoint(loaded, str(path))


def _proxied() -> bool:
    return any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"))


def check_reachable(url: str, timeout: float) -> None:
    """Fail fast, with a clear message, when a download host cannot be reached (offline machines): the libraries'
    own retries would otherwise take tens of seconds (measured: ~25 s for the Hugging Face hub)."""
    if _proxied():
        return
    host = urlparse(url).hostname or url
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as exc:
        raise ModelLoadError(
            f"cannot reach {host} to download the model ({exc}); for offline use set toxicity.checkpoint and "
            "toxicity.model_dir to local files (see docs/toxicity.md)"
        ) from None


def torch_hub_dir() -> Path:
    """Where torch.hub caches downloads (torch.hub.get_dir's rule), without importing torch."""
    home = os.environ.get("TORCH_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(cache) / "torch" / "hub"


def check_download_possible(spec: ModelSpec) -> str:
    """Detoxify's download URL for ``spec.model``, after checking that what is not cached can be fetched."""
    url = DETOXIFY_CHECKPOINTS.get(spec.model)
    if url is None:
        raise ModelLoadError(f"Detoxify has no model {spec.model!r}; known: {sorted(DETOXIFY_CHECKPOINTS)}")
    cached = torch_hub_dir() / "checkpoints" / Path(urlparse(url).path).name
    if not cached.is_file():
        check_reachable(url, spec.download_timeout)
    if spec.model_dir is None:
        check_reachable(HF_HUB, spec.download_timeout)
    return url


def load_torch(spec: ModelSpec, report: Callable[[str], None]) -> ToxicityModel:
    url = None
    if spec.checkpoint is None:
        # Offline machines fail here in milliseconds, before torch's import (seconds, hundreds of MB) is paid.
        url = check_download_possible(spec)
    report("importing torch and transformers")
    try:
        import torch
        import transformers
        from detoxify import detoxify as dx
    except ImportError as exc:
        raise ModelLoadError(
            f"backend 'torch' needs the toxicity extra (pip install 'steward-bot[toxicity]'): {exc}"
        ) from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if spec.threads:
        torch.set_num_threads(spec.threads)

    if spec.checkpoint is not None:
        report(f"reading checkpoint {spec.checkpoint}")
        loaded = read_checkpoint(spec.checkpoint, allow_pickle=spec.allow_pickle_checkpoint)
    else:
        assert url is not None
        report(f"fetching {url} (torch.hub cache)")
        # Detoxify's own download (torch.hub, cached); the file name carries a hash prefix that is checked.
        try:
            loaded = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=False, check_hash=True)
        except Exception as exc:
            raise ModelLoadError(f"cannot download {url}: {exc}") from None
        loaded = check_checkpoint(loaded, url)

    args = dict(loaded["config"]["arch"]["args"])
    hf_dir: str | None = None
    if spec.model_dir is not None:
        if not (spec.model_dir / "config.json").is_file():
            raise ModelLoadError(f"model_dir {spec.model_dir} has no config.json")
        hf_dir = str(spec.model_dir)
        # Detoxify reads the config from args["model_type"] (a hub name) before the local path: point both at the
        # local directory so that nothing goes to the network.
        args["model_type"] = hf_dir
    report(f"building {args['model_name']} ({len(loaded['state_dict'])} tensors)")
    try:
        model, tokenizer = dx.get_model_and_tokenizer(
            **args, state_dict=loaded["state_dict"], huggingface_config_path=hf_dir
        )
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"cannot build the model from {spec.source}: {exc}") from None
    model.eval()
    labels = tuple(class_names(loaded))

    backend_tokenizer = getattr(tokenizer, "backend_tokenizer", None)
    if backend_tokenizer is None:
        raise ModelLoadError("the tokenizer has no fast (tokenizers) backend; model_dir needs tokenizer.json")
    max_tokens = model_token_limit(model.config, tokenizer.model_max_length, spec.max_tokens)
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in getattr(tokenizer, "model_input_names", ()):
        input_names.append("token_type_ids")
    encoder = ChunkEncoder(
        backend_tokenizer,
        max_tokens=max_tokens,
        overlap=spec.chunk_overlap,
        max_chunks=spec.max_chunks,
        pad_id=int(tokenizer.pad_token_id or 0),
        input_names=input_names,
    )

    def forward(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            out = model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
        return out[0].float().numpy()

    return ToxicityModel(
        backend="torch",
        source=spec.source,
        labels=labels,
        encoder=encoder,
        forward=forward,
        max_batch=spec.max_batch,
        details={"arch": args["model_name"], "max_tokens": max_tokens, "tokenizer": tokenizer, "config": model.config},
        keep_alive=model,
    )


def model_token_limit(config: Any, tokenizer_max: int | None, wanted: int | None) -> int:
    """Tokens per chunk: the position embeddings' limit (RoBERTa-style models reserve padding_idx + 1 positions),
    the tokenizer's, and the configured value, whichever is smallest."""
    limit = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in _ROBERTA_LIKE:
        limit -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    if tokenizer_max and tokenizer_max < 1_000_000:
        limit = min(limit, int(tokenizer_max))
    if wanted is not None:
        if wanted > limit:
            log.warning("toxicity_max_tokens_clamped", wanted=wanted, limit=limit)
        limit = min(limit, wanted)
    return limit


# --- ONNX Runtime ----------------------------------------------------------------------------------------------------


def read_onnx_metadata(onnx_path: Path) -> dict[str, Any]:
    meta_path = onnx_path.parent / ONNX_METADATA
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{meta_path} is missing: export the model with `steward model export`") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path} cannot be read: {exc}") from None
    for key in ("labels", "max_tokens", "pad_id"):
        if key not in meta:
            raise ModelLoadError(f"{meta_path} lacks {key!r}")
    return meta


def load_onnx(spec: ModelSpec, report: Callable[[str], None]) -> ToxicityModel:
    if spec.onnx_path is None:
        raise ModelLoadError("backend 'onnx' needs toxicity.onnx_path")
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelLoadError(f"backend 'onnx' needs the onnx extra (pip install 'steward-bot[onnx]'): {exc}") from None
    path = spec.onnx_path
    if not path.is_file():
        raise ModelLoadError(f"ONNX model {path} does not exist; make it with `steward model export`")
    meta = read_onnx_metadata(path)
    report(f"reading tokenizer and ONNX model {path}")
    try:
        tokenizer = Tokenizer.from_file(str(path.parent / ONNX_TOKENIZER))
    except Exception as exc:
        raise ModelLoadError(f"{path.parent / ONNX_TOKENIZER} cannot be read: {exc}") from None
    options = ort.SessionOptions()
    if spec.threads:
        options.intra_op_num_threads = spec.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelLoadError(f"ONNX Runtime cannot load {path}: {exc}") from None
    input_names = [i.name for i in session.get_inputs()]
    max_tokens = int(meta["max_tokens"])
    if spec.max_tokens is not None:
        max_tokens = min(max_tokens, spec.max_tokens)
    encoder = ChunkEncoder(
        tokenizer,
        max_tokens=max_tokens,
        overlap=spec.chunk_overlap,
        max_chunks=spec.max_chunks,
        pad_id=int(meta["pad_id"]),
        input_names=input_names,
    )
    output = session.get_outputs()[0].name

    def forward(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        return session.run([output], dict(arrays))[0]

    labels = tuple(str(label) for label in meta["labels"])
    if not labels or any(not isinstance(label, str) for label in meta["labels"]):
        raise ModelLoadError(f"{path.parent / ONNX_METADATA}: labels must be a list of names")
    return ToxicityModel(
        backend="onnx",
        source=str(path),
        labels=labels,
        encoder=encoder,
        forward=forward,
        max_batch=spec.max_batch,
        details={"max_tokens": max_tokens, "quantization": meta.get("quantization", "unknown")},
        keep_alive=session,
    )


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
