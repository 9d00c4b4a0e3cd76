"""Detoxify checkpoints: read a local one safely (plain tensors unless pickling is allowed), fetch the released one,
and check either has the shape Detoxify's loader expects.

Imports torch only inside the functions that read files, so checking a loaded dict costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogs.toxicity.model.spec import ModelLoadError

# Detoxify's own renaming of the Jigsaw class names (detoxify.detoxify.load_checkpoint).
_CLASS_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
_ARCH_KEYS = frozenset({"model_type", "model_name", "tokenizer_name", "num_classes"})


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
    missing = _ARCH_KEYS - set(args)
    if missing:
        raise ModelLoadError(f"{where}: config.arch.args lacks {sorted(missing)}")
    if len(classes) != int(args["num_classes"]):
        raise ModelLoadError(f"{where}: {len(classes)} classes but num_classes is {args['num_classes']}")
    if not isinstance(state, Mapping) or not state:
        raise ModelLoadError(f"{where}: state_dict is empty")
    checked: dict[str, Any] = loaded
    return checked


def read_checkpoint(path: Path, *, allow_pickle: bool) -> dict[str, Any]:
    """A local checkpoint file, read with ``weights_only`` unless ``allow_pickle``, and checked."""
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


def download_checkpoint(url: str) -> dict[str, Any]:
    """Detoxify's own download (torch.hub, cached); the file name carries a hash prefix that is checked."""
    import torch

    try:
        loaded = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=False, check_hash=True)
    except Exception as exc:
        raise ModelLoadError(f"cannot download {url}: {exc}") from None
    return check_checkpoint(loaded, url)
