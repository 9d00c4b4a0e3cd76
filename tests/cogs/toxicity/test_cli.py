"""``steward model export`` through the real ``steward`` command line."""

from __future__ import annotations

import json

from bot.cli import main
from cogs.toxicity.model import ModelSpec, load_model
from cogs.toxicity.model.onnx_backend import ONNX_METADATA


def test_export_writes_a_servable_int8_model_and_says_how_to_use_it(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "onnx"
    probes = tmp_path / "probes.txt"
    probes.write_text("an extra probe\n\nanother one\n", encoding="utf-8")
    code = main(
        [
            "model", "export", "--checkpoint", str(tiny.checkpoint), "--model-dir", str(tiny.directory),
            "--output", str(out), "--tolerance", "0.05", "--probes", str(probes),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "accepted" in captured.out and 'backend = "onnx"' in captured.out
    meta = json.loads((out / ONNX_METADATA).read_text())
    assert meta["quantization"] == "int8-dynamic" and meta["probes"] == 37
    assert max(meta["drift"].values()) <= 0.05
    assert sorted(p.name for p in out.iterdir()) == ["model.int8.onnx", "steward-onnx.json", "tokenizer.json"]
    model = load_model(ModelSpec(backend="onnx", onnx_path=out / "model.int8.onnx"))
    assert model.score(["hello"])[0].keys() == set(meta["labels"])


def test_an_export_drifting_beyond_the_tolerance_is_refused_and_leaves_nothing(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "onnx"
    code = main(
        [
            "model", "export", "--checkpoint", str(tiny.checkpoint), "--model-dir", str(tiny.directory),
            "--output", str(out), "--tolerance", "1e-9",
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "refused" in captured.err and "exceeds the tolerance" in captured.err
    assert not out.exists() or not any(out.iterdir())
    assert not any(p.name.startswith(".onnx.export") for p in tmp_path.iterdir())


def test_the_configured_tolerance_is_used_and_bad_input_is_a_clear_error(tiny, tmp_path, capsys) -> None:
    config = tmp_path / "steward.toml"
    config.write_text(
        f'[toxicity]\ncheckpoint = "{tiny.checkpoint}"\nmodel_dir = "{tiny.directory}"\nexport_tolerance = 1e-9\n',
        encoding="utf-8",
    )
    assert main(["model", "export", "--config", str(config), "--output", str(tmp_path / "o")]) == 1
    capsys.readouterr()
    missing = main(
        ["model", "export", "--checkpoint", str(tmp_path / "x.ckpt"), "--model-dir", str(tiny.directory),
         "--output", str(tmp_path / "o2"), "--config", str(config)]
    )  # fmt: skip
    assert missing == 2 and "does not exist" in capsys.readouterr().err
    config.write_text("[toxicity]\nexport_tolerance = 5\n", encoding="utf-8")
    assert main(["model", "export", "--config", str(config), "--output", str(tmp_path / "o3")]) == 2
    assert "export_tolerance" in capsys.readouterr().err
