"""``steward model fetch``: put a released Detoxify model where the offline loader finds it, and prove it loads.

Run on a machine that can reach the download hosts (GitHub releases, the Hugging Face hub); copy the directory
to the bot's machine. Writes into ``output``: ``checkpoint.ckpt`` (the released checkpoint, hash-checked, saved
again as plain tensors and data so that it loads with ``torch.load(weights_only=True)``), and the model's
``config.json`` and tokenizer files; then loads them the way the bot will (``load_model`` with ``checkpoint`` and
``model_dir``) and scores a probe, so that a copy that cannot work is found here, not in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cogs.toxicity.model import ModelLoadError, ModelSpec, load_model
from cogs.toxicity.model.checkpoint import check_checkpoint, download_checkpoint
from cogs.toxicity.model.offline import DETOXIFY_CHECKPOINTS, HF_HUB, check_reachable

CHECKPOINT_NAME = "checkpoint.ckpt"


@dataclass(frozen=True, slots=True)
class FetchReport:
    checkpoint: Path
    model_dir: Path
    labels: tuple[str, ...]
    seconds: float

    def config_lines(self) -> str:
        return f'[toxicity]\ncheckpoint = "{self.checkpoint}"\nmodel_dir = "{self.model_dir}"'


def _reach(url: str, timeout: float) -> None:
    """The offline loader's fast reachability check, with advice that fits this command."""
    try:
        check_reachable(url, timeout)
    except ModelLoadError as exc:
        reason = str(exc).split(";")[0]
        raise ModelLoadError(
            f"{reason}; run this command on a machine with network access and copy the output directory here"
        ) from None


def _download(model: str, timeout: float) -> dict[str, Any]:
    """The released checkpoint of ``model`` (torch.hub's download, hash-checked)."""
    url = DETOXIFY_CHECKPOINTS.get(model)
    if url is None:
        raise ModelLoadError(f"Detoxify has no model {model!r}; known: {sorted(DETOXIFY_CHECKPOINTS)}")
    _reach(url, timeout)
    return download_checkpoint(url)


def _hub_files(name: str, output: Path, timeout: float) -> None:
    """The hub model's config and tokenizer (Detoxify's ``model_type``, e.g. bert-base-uncased) into ``output``."""
    _reach(HF_HUB, timeout)
    try:
        from transformers import AutoConfig, AutoTokenizer
    except ImportError as exc:
        raise ModelLoadError(f"transformers is missing (.venv/bin/pip install -e '.[toxicity]'): {exc}") from None
    try:
        AutoConfig.from_pretrained(name).save_pretrained(output)
        AutoTokenizer.from_pretrained(name).save_pretrained(output)
    except OSError as exc:
        raise ModelLoadError(f"cannot fetch {name} from the hub: {exc}") from None


def _save_plain(loaded: dict[str, Any], path: Path) -> None:
    """The checkpoint as plain tensors and data (what ``weights_only`` loading accepts)."""
    import torch

    plain = {"config": loaded["config"], "state_dict": dict(loaded["state_dict"])}
    tmp = path.with_suffix(".part")
    torch.save(plain, tmp)
    tmp.replace(path)


def fetch_model(
    model: str,
    output: Path,
    *,
    timeout: float = 10.0,
    progress: Callable[[str], None] = lambda step: None,
    download: Callable[[str, float], dict[str, Any]] = _download,
    hub_files: Callable[[str, Path, float], None] = _hub_files,
) -> FetchReport:
    """Fetch ``model`` (original / unbiased / multilingual) into ``output`` and check that it loads offline."""
    started = time.perf_counter()
    progress(f"downloading the {model} checkpoint")
    loaded = check_checkpoint(download(model, timeout), model)
    output.mkdir(parents=True, exist_ok=True)
    checkpoint = output / CHECKPOINT_NAME
    _save_plain(loaded, checkpoint)
    hub_name = str(loaded["config"]["arch"]["args"]["model_type"])
    progress(f"fetching {hub_name}'s config and tokenizer")
    hub_files(hub_name, output, timeout)
    progress("loading it as the bot will (offline)")
    spec = ModelSpec(model=model, checkpoint=checkpoint, model_dir=output)
    loaded_model = load_model(spec, progress)
    loaded_model.score(["hello"])
    return FetchReport(checkpoint, output, loaded_model.judged_labels, time.perf_counter() - started)
