"""Why Detoxify is not serving, and what to run to make it serve: for health, the console's status and the CLI.

``explain(spec, error)`` turns the loader's error and what is on this machine (the runtime's packages, the
weights in the torch hub cache, the configured files) into one reason and the commands that fix it. The
commands are ones this repository has: the ``toxicity`` and ``onnx`` extras of ``pyproject.toml`` and
``steward model fetch`` / ``steward model export`` (tests check both exist). No heavy import: packages are
looked up with ``importlib.util.find_spec``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from cogs.toxicity.model.offline import DETOXIFY_CHECKPOINTS, torch_hub_dir
from cogs.toxicity.model.spec import ModelSpec

# What each runtime imports, and the extra of pyproject.toml that installs it.
RUNTIME_PACKAGES = {"torch": ("torch", "transformers", "detoxify"), "onnx": ("onnxruntime", "tokenizers")}
RUNTIME_EXTRA = {"torch": "toxicity", "onnx": "onnx"}
# torch first, pinned to the CPU build (the extra pins the same version; see the Makefile).
TORCH_FIRST = ".venv/bin/pip install 'torch==2.13.0'"


def install_command(extra: str) -> str:
    return f".venv/bin/pip install -e '.[{extra}]'"


def fetch_command(model: str) -> str:
    return f".venv/bin/steward model fetch --model {model} --output models/detoxify-{model}"


def use_lines(model: str) -> str:
    """What to set once ``fetch_command(model)``'s directory is on this machine."""
    folder = f"models/detoxify-{model}"
    return f'set [toxicity] checkpoint = "{folder}/checkpoint.ckpt", model_dir = "{folder}"'


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Why Detoxify is not serving (``reason``) and the commands, in order, that would make it serve (``fix``)."""

    reason: str
    fix: tuple[str, ...] = ()

    def fix_text(self) -> str:
        return "; then ".join(self.fix)


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_packages(backend: str) -> list[str]:
    """The runtime's packages that are not installed (or cannot be found by the import system)."""
    return [name for name in RUNTIME_PACKAGES.get(backend, ()) if not _installed(name)]


def cached_checkpoint(model: str) -> Path | None:
    """Where Detoxify's download of ``model`` sits in the torch hub cache (None for an unknown model)."""
    url = DETOXIFY_CHECKPOINTS.get(model)
    if url is None:
        return None
    return torch_hub_dir() / "checkpoints" / Path(urlparse(url).path).name


def _packages(spec: ModelSpec) -> Diagnosis | None:
    missing = missing_packages(spec.backend)
    if not missing:
        return None
    extra = RUNTIME_EXTRA[spec.backend]
    fix = (TORCH_FIRST, install_command(extra)) if spec.backend == "torch" else (install_command(extra),)
    return Diagnosis(f"{', '.join(missing)} not installed (the '{extra}' extra)", fix)


def _files(spec: ModelSpec) -> Diagnosis | None:
    if spec.backend == "onnx":
        if spec.onnx_path is not None and not spec.onnx_path.is_file():
            return Diagnosis(
                f"no ONNX model at {spec.onnx_path}",
                (
                    f"{fetch_command(spec.model)}",
                    f".venv/bin/steward model export --checkpoint models/detoxify-{spec.model}/checkpoint.ckpt "
                    f"--model-dir models/detoxify-{spec.model} --output {spec.onnx_path.parent}",
                ),
            )
        return None
    if spec.checkpoint is not None:
        if not spec.checkpoint.is_file():
            return Diagnosis(f"no checkpoint at {spec.checkpoint}", (fetch_command(spec.model), use_lines(spec.model)))
        if spec.model_dir is not None and not (spec.model_dir / "config.json").is_file():
            return Diagnosis(
                f"no config.json in model_dir {spec.model_dir}", (fetch_command(spec.model), use_lines(spec.model))
            )
        return None
    cached = cached_checkpoint(spec.model)
    if cached is not None and not cached.is_file():
        return Diagnosis(
            f"no Detoxify weights cached at {cached}",
            (
                f"on a machine with network access: {fetch_command(spec.model)}",
                f"copy models/detoxify-{spec.model} here and {use_lines(spec.model)}",
            ),
        )
    return None


def explain(spec: ModelSpec, error: str | None) -> Diagnosis:
    """The first thing missing (packages, then files), else the loader's own error as the reason."""
    found = _packages(spec) or _files(spec)
    if found is not None:
        return found
    return Diagnosis(error or "not loaded", ())
