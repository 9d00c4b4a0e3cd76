"""Loading and scoring with the real code paths (Detoxify, transformers, ONNX Runtime) on a tiny random model."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from cogs.toxicity.export import max_abs_difference
from cogs.toxicity.model import ModelLoadError, ModelSpec, load_model
from cogs.toxicity.model.offline import DETOXIFY_CHECKPOINTS, torch_hub_dir
from cogs.toxicity.synthetic import build_checkpoint
from policy.toxicity import max_over_chunks

TEXTS = ["hello world", "you are an idiot", "I will find you and hurt you", "thanks, nice code", "ok"]
DETOXIFY_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")


@pytest.fixture(scope="module")
def torch_model(tiny):
    return load_model(ModelSpec(checkpoint=tiny.checkpoint, model_dir=tiny.directory))


@pytest.fixture(scope="module")
def onnx_model(tiny_onnx):
    return load_model(ModelSpec(backend="onnx", onnx_path=tiny_onnx))


def test_torch_backend_loads_a_hub_named_checkpoint_offline_with_detoxify_label_names(torch_model, offline) -> None:
    assert torch_model.backend == "torch"
    assert torch_model.labels == DETOXIFY_LABELS
    assert torch_model.encoder.max_tokens == 64
    scores = torch_model.score(TEXTS)
    assert len(scores) == len(TEXTS)
    for row in scores:
        assert set(row) == set(DETOXIFY_LABELS)
        assert all(0.0 <= v <= 1.0 for v in row.values())
    # The texts are told apart (the model reads them), so results can be matched to callers.
    assert len({round(row["toxicity"], 6) for row in scores}) == len(TEXTS)


def test_torch_scores_match_detoxify_predict(tmp_path, torch_model) -> None:
    from detoxify import Detoxify

    # The same weights (same seed), named by directory so that Detoxify itself can load them offline.
    local = build_checkpoint(tmp_path / "local")
    reference = Detoxify(checkpoint=str(local.checkpoint), huggingface_config_path=str(local.directory))
    expected = reference.predict(TEXTS)
    ours = torch_model.score(TEXTS)
    for i, row in enumerate(ours):
        for label in DETOXIFY_LABELS:
            assert row[label] == pytest.approx(expected[label][i], abs=1e-5)


def test_batched_scores_equal_one_at_a_time(torch_model) -> None:
    together = torch_model.score(TEXTS)
    alone = [torch_model.score([t])[0] for t in TEXTS]
    assert max(max_abs_difference(together, alone).values()) < 1e-5


def test_onnx_backend_agrees_with_torch_within_the_export_tolerance(onnx_model, torch_model) -> None:
    assert onnx_model.backend == "onnx"
    assert onnx_model.labels == DETOXIFY_LABELS
    drift = max_abs_difference(torch_model.score(TEXTS), onnx_model.score(TEXTS))
    assert max(drift.values()) <= 0.05


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_long_texts_are_chunked_and_score_the_max_over_chunks(backend, torch_model, onnx_model) -> None:
    model = torch_model if backend == "torch" else onnx_model
    long_text = " ".join(["hello world nice code"] * 60) + " you are an idiot I will hurt you"
    encoded = model.encoder.encode([long_text])
    assert len(encoded.chunks) > 1
    assert all(len(chunk) <= model.encoder.max_tokens for chunk in encoded.chunks)
    whole = model.score([long_text])[0]
    per_chunk = model.score_chunks(encoded.chunks)
    assert whole == max_over_chunks(per_chunk)
    # The first chunk alone is what a truncating scorer would see; the tail can only raise the score.
    assert all(whole[label] >= per_chunk[0][label] for label in whole)
    assert any(whole[label] > per_chunk[0][label] for label in whole)


def test_chunk_limit_keeps_the_first_and_last_chunks(tiny) -> None:
    model = load_model(ModelSpec(checkpoint=tiny.checkpoint, model_dir=tiny.directory, max_chunks=3))
    full = load_model(ModelSpec(checkpoint=tiny.checkpoint, model_dir=tiny.directory, max_chunks=1000))
    text = " ".join(f"word{i}" for i in range(400))
    limited = model.encoder.encode([text])
    every = full.encoder.encode([text])
    assert len(every.chunks) > 3
    assert limited.truncated == 1
    assert limited.chunks[0] == every.chunks[0] and limited.chunks[-1] == every.chunks[-1]
    assert len(limited.chunks) == 3


def test_empty_input_scores_nothing(torch_model) -> None:
    assert torch_model.score([]) == []


def test_missing_checkpoint_is_a_clear_error(tmp_path, tiny) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(ModelSpec(checkpoint=tmp_path / "nope.ckpt", model_dir=tiny.directory))


def test_a_file_that_is_not_a_detoxify_checkpoint_is_refused(tmp_path, tiny) -> None:
    bad = tmp_path / "bad.ckpt"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(ModelLoadError, match="not a Detoxify checkpoint"):
        load_model(ModelSpec(checkpoint=bad, model_dir=tiny.directory))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a torch file at all")
    with pytest.raises(ModelLoadError, match=r"cannot be read: not a torch checkpoint"):
        load_model(ModelSpec(checkpoint=garbage, model_dir=tiny.directory))


class Opaque:
    pass


def test_a_checkpoint_that_needs_unpickling_code_is_refused_unless_allowed(tmp_path, tiny) -> None:
    loaded = torch.load(tiny.checkpoint, weights_only=True)
    loaded["extra"] = Opaque()
    risky = tmp_path / "risky.ckpt"
    torch.save(loaded, risky)
    spec = ModelSpec(checkpoint=risky, model_dir=tiny.directory)
    with pytest.raises(ModelLoadError, match=r"Opaque.*allow_pickle_checkpoint"):
        load_model(spec)
    assert load_model(replace(spec, allow_pickle_checkpoint=True)).labels == DETOXIFY_LABELS


def test_model_dir_without_config_is_a_clear_error(tmp_path, tiny) -> None:
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        load_model(ModelSpec(checkpoint=tiny.checkpoint, model_dir=tmp_path))


def test_default_download_fails_fast_and_clearly_when_offline(tmp_path, offline, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ModelLoadError, match=r"cannot reach github\.com.*toxicity\.checkpoint"):
        load_model(ModelSpec(model="original", download_timeout=0.5))
    # A cached checkpoint still needs the hub for the config and tokenizer, unless model_dir names them.
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "toxic_original-c1212f89.ckpt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"cannot reach huggingface\.co"):
        load_model(ModelSpec(model="original", download_timeout=0.5))


def test_the_download_table_matches_detoxify_and_the_torch_hub_rule(tmp_path, monkeypatch) -> None:
    from detoxify.detoxify import MODEL_URLS

    for name, url in DETOXIFY_CHECKPOINTS.items():
        assert MODEL_URLS[name] == url
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert torch_hub_dir() == Path(torch.hub.get_dir())
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert torch_hub_dir() == Path(torch.hub.get_dir())


def test_onnx_without_its_metadata_is_a_clear_error(tmp_path, tiny_onnx) -> None:
    lonely = tmp_path / "model.onnx"
    lonely.write_bytes(tiny_onnx.read_bytes())
    with pytest.raises(ModelLoadError, match="steward model export"):
        load_model(ModelSpec(backend="onnx", onnx_path=lonely))
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(ModelSpec(backend="onnx", onnx_path=tmp_path / "absent.onnx"))


def test_serving_onnx_never_imports_torch(tiny_onnx) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cogs.toxicity.model import ModelSpec, load_model
        model = load_model(ModelSpec(backend="onnx", onnx_path=Path({str(tiny_onnx)!r})))
        scores = model.score(["you are an idiot"])
        assert 0.0 <= scores[0]["toxicity"] <= 1.0
        heavy = sorted(m for m in ("torch", "transformers", "detoxify") if m in sys.modules)
        print("heavy:", heavy)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[3], timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout


@pytest.mark.parametrize(
    ("model_type", "positions", "pad", "tokenizer_max", "wanted", "expected"),
    [
        ("bert", 512, 0, 512, None, 512),
        ("roberta", 514, 1, 512, None, 512),  # Detoxify unbiased: RoBERTa reserves pad_token_id + 1 positions
        ("xlm-roberta", 514, 1, 1_000_000_000_000, None, 512),  # multilingual: the tokenizer sets no limit
        ("bert", 512, 0, 512, 128, 128),
        ("bert", 64, 0, 64, 512, 64),  # more than the model can take is clamped
    ],
)
def test_token_limit_follows_the_model(model_type, positions, pad, tokenizer_max, wanted, expected) -> None:
    from types import SimpleNamespace

    from cogs.toxicity.model.torch_backend import model_token_limit

    config = SimpleNamespace(model_type=model_type, max_position_embeddings=positions, pad_token_id=pad)
    assert model_token_limit(config, tokenizer_max, wanted) == expected
