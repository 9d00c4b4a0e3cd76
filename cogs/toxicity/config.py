"""The ``[toxicity]`` section: which backends (mode), which Detoxify model and files, thresholds and actions.

Thresholds and actions can be overridden per server and per channel like any cog section; the model settings
(``model``, ``backend``, files, batching, the queue's bound and deadline) are read once from the top-level section
when the model loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.toxicity import AgentActions, FailMode, HumanActions, LabelThresholds

ModelName = Literal["original", "unbiased", "multilingual"]
Backend = Literal["torch", "onnx"]
Mode = Literal["auto", "fast", "detoxify", "cascade", "both"]
FastInput = Literal["canonical", "raw"]


class ToxicitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Load a toxicity model and score messages with it")
    mode: Mode = Field(
        default="auto",
        description=(
            "fast: the fast model only; detoxify: Detoxify, the fast model while it is unavailable; cascade: the "
            "fast model, then Detoxify for what it does not clear; both: both on every message, the more severe "
            "verdict; auto: cascade once Detoxify loads, fast until then or if it cannot"
        ),
    )
    fast_input: FastInput = Field(
        default="canonical", description="What the fast model scores: the normalised text (canonical) or the raw"
    )
    fast_agent_threshold: float = Field(
        default=0.58, ge=0, le=1, description="The fast model's toxicity score at or above which agents' messages act"
    )
    fast_human_threshold: float = Field(
        default=0.58, ge=0, le=1, description="The fast model's toxicity score at or above which humans' messages act"
    )
    cascade_floor: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="cascade: a fast score below this is clean without asking Detoxify; at or above, Detoxify judges",
    )
    model: ModelName = Field(
        default="original",
        description="Detoxify model: original (Jigsaw 2018), unbiased (2019, adds sexual_explicit) or multilingual",
    )
    backend: Backend = Field(
        default="torch",
        description="torch: the Detoxify checkpoint on PyTorch; onnx: an exported int8 model on ONNX Runtime",
    )
    checkpoint: Path | None = Field(
        default=None,
        description="Local Detoxify checkpoint file (.ckpt); unset means Detoxify's own download on first use",
    )
    model_dir: Path | None = Field(
        default=None,
        description="Local directory with the Hugging Face config.json and tokenizer files, for offline loading",
    )
    onnx_path: Path | None = Field(
        default=None,
        description="The exported ONNX model (from `steward model export`); its directory holds the tokenizer",
    )
    allow_pickle_checkpoint: bool = Field(
        default=False,
        description="Let a checkpoint that is not plain tensors and dicts be unpickled (runs code from the file)",
    )
    download_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the download hosts before reporting the model offline"
    )
    fail_mode: FailMode = Field(
        default="open",
        description="Agents' messages while the model is loading or failed: open (post) or closed (reject)",
    )
    agent_thresholds: LabelThresholds = Field(
        default_factory=LabelThresholds, description="Per-label thresholds for agents' messages (before posting)"
    )
    agent_actions: AgentActions = Field(
        default_factory=AgentActions, description="Per-label action for agents' messages: reject, log or ignore"
    )
    human_thresholds: LabelThresholds = Field(
        default_factory=LabelThresholds, description="Per-label thresholds for humans' messages (after posting)"
    )
    human_actions: HumanActions = Field(
        default_factory=HumanActions,
        description="Per-label action for humans' messages: timeout, delete, warn, log or ignore",
    )
    max_batch: int = Field(default=32, ge=1, le=1024, description="Most texts (chunks) scored in one forward pass")
    max_wait_ms: float = Field(
        default=2.0, ge=0, le=1000, description="Longest a message waits for others to share its batch"
    )
    queue_limit: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Most texts waiting for Detoxify; a text that finds it full is scored by the fast model",
    )
    deadline_ms: float = Field(
        default=2000.0,
        gt=0,
        le=600_000,
        description=(
            "Longest a text waits for Detoxify: a text whose wait would be longer, or is, is scored by the fast "
            "model (kept under the bus's listener_timeout)"
        ),
    )
    max_tokens: int | None = Field(
        default=None, ge=8, description="Tokens per chunk; unset means the model's own limit (512 for BERT)"
    )
    chunk_overlap: int = Field(default=32, ge=0, description="Tokens shared by consecutive chunks of a long text")
    max_chunks: int = Field(
        default=32, ge=1, description="Most chunks scored per text; beyond, chunks evenly spread incl. first and last"
    )
    threads: int = Field(default=0, ge=0, description="Inference threads; 0 means the runtime's default")
    export_tolerance: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="`steward model export` refuses an ONNX model whose scores differ from PyTorch's by more",
    )

    @model_validator(mode="after")
    def _files(self) -> ToxicitySettings:
        if self.checkpoint is not None and self.model_dir is None:
            raise ValueError("checkpoint needs model_dir (the directory with config.json and the tokenizer files)")
        if self.backend == "onnx" and self.onnx_path is None:
            raise ValueError("backend 'onnx' needs onnx_path (made by `steward model export`)")
        if self.max_tokens is not None and self.chunk_overlap >= self.max_tokens // 2:
            raise ValueError("chunk_overlap must be less than half of max_tokens")
        return self
