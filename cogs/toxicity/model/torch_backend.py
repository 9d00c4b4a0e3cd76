"""The PyTorch backend: a Detoxify checkpoint (local or Detoxify's download) built by Detoxify, served on torch.

Loads through Detoxify's own ``get_model_and_tokenizer`` with the checkpoint's hub model name pointed at the local
``model_dir``, so that nothing goes to the network when the files are on disk. torch, transformers and detoxify
are imported only when ``load_torch`` runs (and only after the offline check, when downloading).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from bot.logging import get_logger
from cogs.toxicity.model.checkpoint import class_names, download_checkpoint, read_checkpoint
from cogs.toxicity.model.encoder import ChunkEncoder
from cogs.toxicity.model.loaded import Forward, ToxicityModel
from cogs.toxicity.model.offline import check_download_possible
from cogs.toxicity.model.spec import ModelLoadError, ModelSpec

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = get_logger("steward.toxicity.model")

_ROBERTA_LIKE = frozenset({"roberta", "xlm-roberta", "camembert"})


def _import_runtime(spec: ModelSpec) -> Any:
    """Import torch, transformers and Detoxify (or say which extra is missing), set quiet and to ``spec.threads``;
    returns Detoxify's loading module."""
    try:
        import torch
        import transformers
        from detoxify import detoxify as dx  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelLoadError(
            f"backend 'torch' needs the toxicity extra (.venv/bin/pip install -e '.[toxicity]'): {exc}"
        ) from None
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    if spec.threads:
        torch.set_num_threads(spec.threads)
    return dx


def _checkpoint(spec: ModelSpec, url: str | None, report: Callable[[str], None]) -> dict[str, Any]:
    if spec.checkpoint is not None:
        report(f"reading checkpoint {spec.checkpoint}")
        return read_checkpoint(spec.checkpoint, allow_pickle=spec.allow_pickle_checkpoint)
    assert url is not None
    report(f"fetching {url} (torch.hub cache)")
    return download_checkpoint(url)


def _arch_args(spec: ModelSpec, loaded: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Detoxify's model arguments, and the local config directory (None: the hub)."""
    args = dict(loaded["config"]["arch"]["args"])
    if spec.model_dir is None:
        return args, None
    if not (spec.model_dir / "config.json").is_file():
        raise ModelLoadError(f"model_dir {spec.model_dir} has no config.json")
    hf_dir = str(spec.model_dir)
    # Detoxify reads the config from args["model_type"] (a hub name) before the local path: point both at the
    # local directory so that nothing goes to the network.
    args["model_type"] = hf_dir
    return args, hf_dir


def _build(dx: Any, spec: ModelSpec, args: dict[str, Any], state_dict: Any, hf_dir: str | None) -> tuple[Any, Any]:
    try:
        model, tokenizer = dx.get_model_and_tokenizer(**args, state_dict=state_dict, huggingface_config_path=hf_dir)
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"cannot build the model from {spec.source}: {exc}") from None
    model.eval()
    return model, tokenizer


def _encoder(spec: ModelSpec, model: Any, tokenizer: Any) -> ChunkEncoder:
    backend_tokenizer = getattr(tokenizer, "backend_tokenizer", None)
    if backend_tokenizer is None:
        raise ModelLoadError("the tokenizer has no fast (tokenizers) backend; model_dir needs tokenizer.json")
    max_tokens = model_token_limit(model.config, tokenizer.model_max_length, spec.max_tokens)
    input_names = ["input_ids", "attention_mask"]
    if "token_type_ids" in getattr(tokenizer, "model_input_names", ()):
        input_names.append("token_type_ids")
    return ChunkEncoder(
        backend_tokenizer,
        max_tokens=max_tokens,
        overlap=spec.chunk_overlap,
        max_chunks=spec.max_chunks,
        pad_id=int(tokenizer.pad_token_id or 0),
        input_names=input_names,
    )


def _forward(model: Any) -> Forward:
    import torch

    def forward(arrays: Mapping[str, npt.NDArray[np.int64]]) -> npt.NDArray[Any]:
        with torch.inference_mode():
            out = model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
        logits: npt.NDArray[Any] = out[0].float().numpy()
        return logits

    return forward


def load_torch(spec: ModelSpec, report: Callable[[str], None]) -> ToxicityModel:
    url = None
    if spec.checkpoint is None:
        # Offline machines fail here in milliseconds, before torch's import (seconds, hundreds of MB) is paid.
        url = check_download_possible(spec)
    report("importing torch and transformers")
    dx = _import_runtime(spec)
    loaded = _checkpoint(spec, url, report)
    args, hf_dir = _arch_args(spec, loaded)
    report(f"building {args['model_name']} ({len(loaded['state_dict'])} tensors)")
    model, tokenizer = _build(dx, spec, args, loaded["state_dict"], hf_dir)
    labels = tuple(class_names(loaded))
    encoder = _encoder(spec, model, tokenizer)
    return ToxicityModel(
        backend="torch",
        source=spec.source,
        labels=labels,
        encoder=encoder,
        forward=_forward(model),
        max_batch=spec.max_batch,
        details={
            "arch": args["model_name"],
            "max_tokens": encoder.max_tokens,
            "tokenizer": tokenizer,
            "config": model.config,
        },
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
