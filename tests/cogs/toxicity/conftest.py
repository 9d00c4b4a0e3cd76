"""A tiny random BERT in Detoxify's checkpoint format, built once per session, and its int8 ONNX export."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from cogs.toxicity.export import export_onnx
from cogs.toxicity.model import ModelSpec
from cogs.toxicity.probes import PROBES
from cogs.toxicity.synthetic import Synthetic, build_checkpoint


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Synthetic:
    # Named like a released checkpoint ("bert-base-uncased"): loading must never ask the hub for it.
    return build_checkpoint(tmp_path_factory.mktemp("tiny-detoxify"), hub_name="bert-base-uncased")


@pytest.fixture(scope="session")
def tiny_onnx(tiny, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-onnx") / "exported"
    report = export_onnx(
        ModelSpec(checkpoint=tiny.checkpoint, model_dir=tiny.directory), out, tolerance=0.05, probes=PROBES
    )
    assert report.accepted, report.drift
    return report.onnx_path


@pytest.fixture
def torch_section(tiny) -> dict[str, Any]:
    return {
        "mode": "detoxify",
        "checkpoint": str(tiny.checkpoint),
        "model_dir": str(tiny.directory),
        "max_wait_ms": 1.0,
    }


@pytest.fixture
def onnx_section(tiny_onnx) -> dict[str, Any]:
    return {"mode": "detoxify", "backend": "onnx", "onnx_path": str(tiny_onnx), "max_wait_ms": 1.0}


@pytest.fixture
def offline(monkeypatch) -> None:
    """The network is down: every outbound connection fails at once, like on the build machines."""

    def refuse(*args: Any, **kwargs: Any) -> socket.socket:
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
