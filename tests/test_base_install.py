"""`make run` installs the bot without its optional extras: the bot must start and chat without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import steward_env

ROOT = Path(__file__).resolve().parents[1]

# What only the optional extras (toxicity, onnx, export, redis, postgres) bring.
EXTRAS_ONLY = (
    "torch",
    "transformers",
    "detoxify",
    "onnxruntime",
    "onnx",
    "onnxscript",
    "tokenizers",
    "redis",
    "asyncpg",
)

BLOCKER = f"""
import importlib.abc, sys
BLOCKED = {EXTRAS_ONLY!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not installed)", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def test_the_bot_runs_without_the_optional_extras(tmp_path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = steward_env(site, STEWARD_HTTP__PORT="0")
    help_text = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0, help_text.stderr
    assert "replay" in help_text.stdout
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        input=(
            "hello\n/as helper the deploy is done\n/as helper you are a worthless idiot\n"
            "shut up you stupid moron\n/status\n"
        ),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "#2 [general] helper (agent): the deploy is done" in result.stdout
    assert "cogs: conversation, moderator, presence, sentiment, toxicity" in result.stdout
    # Detoxify cannot load without its extra: the fast model, shipped in a base dependency, moderates instead.
    assert "✗ rejected by toxicity: toxicity 1.00" in result.stdout  # the offensive agent message, not posted
    assert "helper (agent): you are a worthless idiot" not in result.stdout
    assert "✉ to you: Warning from the moderators of #general: your message toxicity 1.00" in result.stdout
    assert "status: ok" in result.stdout
    toxicity = next(line for line in result.stdout.splitlines() if line.startswith("toxicity:"))
    assert toxicity.startswith("toxicity: up; state=ready, backend=fast, mode=auto")
    assert "detoxify=failed" in toxicity
    assert "detoxify_reason=torch, transformers, detoxify not installed (the 'toxicity' extra)" in toxicity
    assert "detoxify_fix=.venv/bin/pip install 'torch==2.13.0'; then .venv/bin/pip install -e '.[toxicity]'" in toxicity
