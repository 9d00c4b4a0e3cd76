"""What model to load and how to run it: ``ModelSpec`` (from the ``[toxicity]`` section) and ``ModelLoadError``.

Plain data, no heavy imports: every loader takes a ``ModelSpec`` and raises ``ModelLoadError`` with a message
that says what is missing and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cogs.toxicity.config import ToxicitySettings


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
    def from_settings(cls, cfg: ToxicitySettings) -> ModelSpec:
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
