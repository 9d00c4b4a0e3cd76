"""``steward model fetch`` (a released model into a directory the offline loader reads) and ``steward model
status`` (which backend, and what Detoxify still needs, with commands that work)."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from bot.cli import main
from cogs.toxicity.fetch import CHECKPOINT_NAME, fetch_model
from cogs.toxicity.model import ModelSpec, load_model
from cogs.toxicity.model.checkpoint import read_checkpoint


def test_fetch_writes_a_plain_checkpoint_and_the_hub_files_and_proves_they_load(tiny, tmp_path) -> None:
    asked: list[str] = []

    def download(model: str, timeout: float):
        asked.append(model)
        # The released files are full pickles; what fetch writes must load with weights_only.
        return torch.load(tiny.checkpoint, map_location="cpu", weights_only=False)

    def hub_files(name: str, output: Path, timeout: float) -> None:
        asked.append(name)
        for path in tiny.directory.iterdir():
            if path.name != tiny.checkpoint.name:
                shutil.copy(path, output / path.name)

    out = tmp_path / "models" / "detoxify-unbiased"
    report = fetch_model("unbiased", out, download=download, hub_files=hub_files)
    assert asked == ["unbiased", "bert-base-uncased"]
    assert report.checkpoint == out / CHECKPOINT_NAME and report.model_dir == out
    assert read_checkpoint(report.checkpoint, allow_pickle=False)["state_dict"]
    assert f'checkpoint = "{out / CHECKPOINT_NAME}"' in report.config_lines()
    model = load_model(ModelSpec(checkpoint=report.checkpoint, model_dir=out))
    assert model.judged_labels == report.labels and "toxicity" in report.labels


def test_fetch_offline_fails_at_once_with_the_reason(offline, tmp_path, capsys) -> None:
    code = main(["model", "fetch", "--model", "original", "--output", str(tmp_path / "m"), "--timeout", "0.5"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach github.com to download the model" in err
    assert "run this command on a machine with network access and copy the output directory here" in err
    assert not (tmp_path / "m").exists()


def test_status_says_the_fast_model_answers_and_what_detoxify_needs(tmp_path, offline, monkeypatch, capsys) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    config = tmp_path / "steward.toml"
    config.write_text("[toxicity]\n")
    assert main(["model", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "mode: auto" in out and "fast model: alt-profanity-check" in out
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "toxic_original-c1212f89.ckpt"
    assert f"detoxify: not available: no Detoxify weights cached at {cached}" in out
    assert "to fix: on a machine with network access: .venv/bin/steward model fetch --model original" in out
    assert "backend: fast (Detoxify unavailable" in out


def test_status_with_local_files_loads_detoxify_when_asked(tiny, tmp_path, capsys) -> None:
    config = tmp_path / "steward.toml"
    config.write_text(
        f'[toxicity]\nmode = "cascade"\ncheckpoint = "{tiny.checkpoint}"\nmodel_dir = "{tiny.directory}"\n'
    )
    assert main(["model", "status", "--config", str(config)]) == 0
    assert "its packages and files are here" in capsys.readouterr().out
    assert main(["model", "status", "--config", str(config), "--load"]) == 0
    out = capsys.readouterr().out
    assert "detoxify: ready (toxicity, severe_toxicity" in out and "backend: cascade once Detoxify has loaded" in out


def test_status_names_a_missing_checkpoint(tiny, tmp_path, capsys) -> None:
    config = tmp_path / "steward.toml"
    gone = tmp_path / "gone.ckpt"
    config.write_text(f'[toxicity]\ncheckpoint = "{gone}"\nmodel_dir = "{tiny.directory}"\n')
    assert main(["model", "status", "--config", str(config)]) == 0  # the fast model still answers
    out = capsys.readouterr().out
    assert f"detoxify: not available: no checkpoint at {gone}" in out
    assert "to fix: .venv/bin/steward model fetch --model original --output models/detoxify-original" in out
