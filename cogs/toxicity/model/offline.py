"""Before any download: can the hosts Detoxify's default loading needs be reached? Fails in milliseconds offline.

Checked before torch is imported (seconds, hundreds of MB), so that an offline machine reports the model
unavailable at once instead of after the libraries' own retries (measured: ~25 s for the Hugging Face hub).
With an HTTPS proxy configured the check is left to the libraries.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from cogs.toxicity.model.spec import ModelLoadError, ModelSpec

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
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def _proxied() -> bool:
    return any(os.environ.get(name) for name in _PROXY_VARIABLES)


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
