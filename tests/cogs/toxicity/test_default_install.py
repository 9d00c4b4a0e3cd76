"""The default configuration on a machine without Detoxify's weights: the fast model moderates people and gates
agents, health says so, and the commands it prints to get Detoxify exist."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.actions import DeleteMessage, PostAsAgent, SendDirectMessage
from bot.app import StewardApp
from bot.events import MessageCreated
from bot.publisher import Verdict
from bot.scoring import TextScorer
from cogs.toxicity.diagnose import RUNTIME_EXTRA, fetch_command, install_command
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord
from tests.support import steward_env

ROOT = Path(__file__).resolve().parents[3]
ROOM = Room(platform="test", server="s1", channel="general")


@pytest.fixture
async def default_app(make_settings, adapter, clock, offline, tmp_path, monkeypatch):
    """Every cog, the [toxicity] section as shipped (nothing set), no network and an empty torch hub cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    app = StewardApp(make_settings(toxicity={}), adapters=[adapter], clock=clock)
    await app.start()
    await app.agents.register(AgentRecord(name="helper", platform="test", owner_id="owner"))
    await app.services.get(TextScorer).wait_loaded()
    try:
        yield app
    finally:
        await app.stop()


async def test_an_offensive_agent_message_is_rejected_and_a_clean_one_posted(default_app, adapter) -> None:
    rejected = await default_app.publisher.submit("helper", ROOM, "you are a worthless idiot")
    assert rejected.decision.verdict is Verdict.REJECT and rejected.decision.rule == "toxicity"
    posted = await default_app.publisher.submit("helper", ROOM, "the build is green, merging now")
    assert posted.posted
    assert [a.text for a in adapter.of(PostAsAgent)] == ["the build is green, merging now"]


async def test_an_offensive_human_message_is_acted_on(default_app, adapter, clock) -> None:
    for number, text in enumerate(["shut up you stupid moron", "thanks, that fixed it"], start=1):
        clock.advance(5)
        author = Actor("test", "carol", ActorKind.HUMAN, "carol", frozenset())
        await default_app.bus.dispatch(
            MessageCreated(at=clock.now(), room=ROOM, message_id=f"h{number}", author=author, text=text)
        )
    await default_app.bus.join()
    warnings = adapter.of(SendDirectMessage)
    assert [w.user_id for w in warnings] == ["carol"] and "toxicity" in warnings[0].text
    assert adapter.of(DeleteMessage) == []  # the default action for toxicity is a warning


async def test_health_reports_ok_with_the_fast_backend_and_how_to_get_detoxify(default_app) -> None:
    report = default_app.health()
    assert report["status"] == "ok"
    toxicity = report["components"]["toxicity"]
    assert toxicity["up"] and toxicity["backend"] == "fast" and toxicity["fast_model"].startswith("alt-profanity")
    assert toxicity["detoxify"] == "failed"
    assert fetch_command("original") in toxicity["detoxify_fix"]


def test_the_extras_the_fixes_name_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in RUNTIME_EXTRA.values():
        assert extra in extras
        assert install_command(extra) == f".venv/bin/pip install -e '.[{extra}]'"
    assert any(dep.startswith("torch==2.13.0") for dep in extras["toxicity"])  # what TORCH_FIRST pins


@pytest.mark.parametrize("command", ["fetch", "export", "status"])
def test_the_steward_model_commands_the_fixes_name_exist(command, tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "model", command, "--help"],
        cwd=tmp_path,
        env=steward_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    if command == "fetch":
        # The exact arguments the fix prints parse (--model original --output DIR).
        assert "--model" in done.stdout and "--output" in done.stdout and "original" in done.stdout
