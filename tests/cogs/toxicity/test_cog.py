"""The toxicity cog in a running app: background loading, the text scorer service, per-room thresholds, health,
fail-open / fail-closed, the admin command."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.app import StewardApp
from bot.commands import CommandInvocation
from bot.config import load_settings
from bot.scoring import ScorerState, TextScorer
from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.fast import FastModel, FastModelError
from cogs.toxicity.model import load_model
from cogs.toxicity.scorer import ToxicityScorer
from domain import Actor, Room

ROOM = Room(platform="test", server="s1", channel="general")
ADMIN = Actor(platform="test", id="admin")


async def started(make_settings, adapter, clock, **sections: Any) -> StewardApp:
    app = StewardApp(make_settings(**sections), adapters=[adapter], clock=clock)
    await app.start()
    return app


async def test_disabled_by_default_in_tests_provides_a_disabled_scorer(app) -> None:
    scorer = app.services.get(TextScorer)
    assert scorer.state is ScorerState.DISABLED
    result = await scorer.assess("anything", ROOM, agent=True)
    assert (result.available, result.action) == (False, None)
    assert app.health()["components"]["toxicity"] == {"up": True, "state": "disabled", "required": False, "kind": "cog"}
    assert app.health()["status"] == "ok"


@pytest.mark.parametrize("backend", ["torch", "onnx"])
async def test_ready_model_scores_and_judges_with_room_overrides(
    backend, make_settings, adapter, clock, torch_section, onnx_section
) -> None:
    section = torch_section if backend == "torch" else onnx_section
    app = await started(make_settings, adapter, clock, toxicity=section)
    try:
        scorer = app.services.get(TextScorer)
        assert await scorer.wait_loaded() is ScorerState.READY
        health = app.health()["components"]["toxicity"]
        assert health["up"] and health["state"] == "ready"
        assert (health["backend"], health["detoxify"], health["detoxify_runtime"]) == ("detoxify", "ready", backend)
        assert "toxicity" in health["labels"]

        # Defaults (0.8 etc.) against this model's scores: find a label to put a threshold just under.
        baseline = await scorer.assess("you are an idiot", ROOM, agent=True)
        assert baseline.available
        assert set(baseline.scores) == {
            "toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"
        }  # fmt: skip
        score = baseline.scores["threat"]
    finally:
        await app.stop()

    # The server lowers the threat threshold under the score; one channel only logs it; another ignores it.
    below = round(max(score - 0.05, 0.0), 3)
    above = round(min(score + 0.05, 1.0), 3)
    high = dict.fromkeys(baseline.scores, 1.0)
    overrides = {
        "s1": {
            "toxicity": {
                "agent_thresholds": {**high, "threat": below},
                "human_thresholds": {**high, "threat": below},
                "human_actions": {"threat": "timeout"},
            },
            "channels": {
                "logged": {"toxicity": {"agent_actions": {"threat": "log"}}},
                "strict_off": {"toxicity": {"agent_thresholds": {"threat": above}}},
            },
        }
    }
    app = await started(
        make_settings, adapter, clock, toxicity={**section, "agent_thresholds": high, "human_thresholds": high},
        servers=overrides,
    )  # fmt: skip
    try:
        scorer = app.services.get(TextScorer)
        await scorer.wait_loaded()
        text = "you are an idiot"
        agent = await scorer.assess(text, ROOM, agent=True)
        assert (agent.label, agent.action) == ("threat", "reject")
        assert agent.reason.startswith("threat ")
        human = await scorer.assess(text, ROOM, agent=False)
        assert human.action == "timeout"
        logged = await scorer.assess(text, Room("test", "s1", "logged"), agent=True)
        assert (logged.label, logged.action) == ("threat", None) and logged.reason.startswith("threat ")
        assert app.metrics.value("steward_toxicity_flagged_total", audience="agent", label="threat", action="log")
        assert (await scorer.assess(text, Room("test", "s1", "strict_off"), agent=True)).action is None
        elsewhere = await scorer.assess(text, Room("test", "s2", "general"), agent=True)
        assert elsewhere.action is None and elsewhere.available
        assert app.metrics.value("steward_toxicity_flagged_total", audience="agent", label="threat", action="reject")
        assert app.metrics.value("steward_toxicity_scored_total", audience="human") == 1
    finally:
        await app.stop()


async def test_concurrent_assessments_get_their_own_scores(make_settings, adapter, clock, torch_section, tiny):
    app = await started(make_settings, adapter, clock, toxicity={**torch_section, "max_batch": 8})
    try:
        scorer = app.services.get(TextScorer)
        await scorer.wait_loaded()
        texts = [f"message number {i} " + "word " * (i % 7) for i in range(60)] + ["long " * 200 + "you idiot"]
        results = await asyncio.gather(*(scorer.assess(t, ROOM, agent=True) for t in texts))
        reference = scorer.model.score(texts)
        for result, expected in zip(results, reference, strict=True):
            for label, value in result.scores.items():
                assert value == pytest.approx(expected[label], abs=1e-5)
        assert app.metrics.value("steward_toxicity_batch_size_count") < len(texts)
    finally:
        await app.stop()


async def test_a_detoxify_that_cannot_load_leaves_the_fast_model_answering_and_says_why(
    make_settings, adapter, clock, tiny, tmp_path
) -> None:
    missing = tmp_path / "missing.ckpt"
    section = {"mode": "detoxify", "checkpoint": str(missing), "model_dir": str(tiny.directory)}
    app = await started(make_settings, adapter, clock, toxicity=section)
    try:
        scorer = app.services.get(TextScorer)
        assert await scorer.wait_loaded() is ScorerState.READY
        assert "toxicity" in app.cogs.cogs and not app.cogs.failed
        health = app.health()["components"]["toxicity"]
        # Asked for by name and not there: the fast model answers, and Steward says it is weaker than configured.
        assert (health["up"], health["backend"], health["detoxify"]) == (False, "fast", "failed")
        assert health["reason"] == f"Detoxify not loaded: no checkpoint at {missing} (the fast model answers meanwhile)"
        assert health["detoxify_reason"] == f"no checkpoint at {missing}"
        assert "steward model fetch --model original" in health["detoxify_fix"]
        assert app.health()["status"] == "degraded"
        agent = await scorer.assess("you are a complete idiot", ROOM, agent=True)
        assert (agent.available, agent.label, agent.action) == (True, "toxicity", "reject")
        assert agent.reason.endswith("by the fast model")
        human = await scorer.assess("thanks, that was really helpful", ROOM, agent=False)
        assert (human.available, human.action) == (True, None)
        status = await app.commands.invoke(CommandInvocation.parse("status", actor=ADMIN, room=ROOM, is_admin=True))
        assert "toxicity: down (Detoxify not loaded: no checkpoint at " in status.text and "backend=fast" in status.text
        assert f"detoxify_reason=no checkpoint at {missing}" in status.text
        assert app.metrics.value("steward_toxicity_decided_total", backend="fast") == 2
    finally:
        await app.stop()


def _broken_fast() -> FastModel:
    raise FastModelError("alt-profanity-check is not installed (a base dependency): .venv/bin/pip install -e .")


@pytest.mark.parametrize(("fail_mode", "expected"), [("open", None), ("closed", "reject")])
async def test_with_no_model_at_all_agents_follow_the_fail_mode(fail_mode, expected, tmp_path) -> None:
    settings = load_settings(
        data={"toxicity": {"mode": "detoxify", "checkpoint": str(tmp_path / "x.ckpt"), "model_dir": str(tmp_path),
                           "fail_mode": fail_mode}}
    )  # fmt: skip
    from bot.metrics import Metrics

    metrics = Metrics()
    scorer = ToxicityScorer(
        settings.section("toxicity"),
        room_config=lambda room: settings.section("toxicity", room),
        metrics=metrics,
        fast_factory=_broken_fast,
    )
    await scorer.start()
    try:
        assert await scorer.wait_loaded() is ScorerState.FAILED
        health = scorer.health()
        assert health["up"] is False and health["backend"] == "none"
        assert health["reason"].startswith("no toxicity model loaded: ") and "x.ckpt" in health["reason"]
        assert health["fast_model"].startswith("unavailable: FastModelError: alt-profanity-check is not installed")
        agent = await scorer.assess("hello", ROOM, agent=True)
        assert (agent.available, agent.action) == (False, expected)
        human = await scorer.assess("hello", ROOM, agent=False)
        assert (human.available, human.action) == (False, None)
        assert metrics.value("steward_toxicity_unavailable_total", audience="agent", reason="failed") == 1
    finally:
        await scorer.close()


async def test_default_download_offline_fails_cleanly_and_the_fast_model_answers(
    make_settings, adapter, clock, offline, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    app = await started(make_settings, adapter, clock, toxicity={"download_timeout": 0.5})
    try:
        scorer = app.services.get(TextScorer)
        assert await scorer.wait_loaded() is ScorerState.READY
        assert "cannot reach github.com" in scorer.error
        health = app.health()["components"]["toxicity"]
        assert (health["state"], health["backend"], health["mode"], health["detoxify"]) == (
            "ready", "fast", "auto", "failed"
        )  # fmt: skip
        cached = tmp_path / "torch" / "hub" / "checkpoints" / "toxic_original-c1212f89.ckpt"
        assert health["detoxify_reason"] == f"no Detoxify weights cached at {cached}"
        assert health["detoxify_error"].startswith("cannot reach github.com")
        assert health["detoxify_fix"].startswith("on a machine with network access: .venv/bin/steward model fetch")
        assert app.health()["status"] == "ok"
    finally:
        await app.stop()


async def test_while_detoxify_loads_the_fast_model_answers_then_detoxify_does(tiny, make_settings) -> None:
    gate = threading.Event()

    def slow_loader(spec, progress):
        progress("waiting for the test")
        gate.wait(10)
        return load_model(spec, progress)

    settings = load_settings(
        data={"toxicity": {"mode": "detoxify", "checkpoint": str(tiny.checkpoint), "model_dir": str(tiny.directory)}}
    )
    cfg: ToxicitySettings = settings.section("toxicity")
    from bot.metrics import Metrics

    scorer = ToxicityScorer(
        cfg, room_config=lambda room: settings.section("toxicity", room), metrics=Metrics(), loader=slow_loader
    )
    await scorer.start()
    try:
        assert scorer.state is ScorerState.READY and scorer.route() == "fast"
        early = await scorer.assess("hello", ROOM, agent=True)
        assert early.available and set(early.scores) == {"toxicity"}
        await asyncio.sleep(0.05)
        health = scorer.health()
        assert (health["detoxify"], health["detoxify_step"], health["backend"]) == (
            "loading", "waiting for the test", "fast"
        )  # fmt: skip
        gate.set()
        assert await scorer.wait_loaded() is ScorerState.READY
        assert scorer.route() == "detoxify"
        late = await scorer.assess("hello", ROOM, agent=True)
        assert "threat" in late.scores
    finally:
        gate.set()
        await scorer.close()


async def test_while_loading_with_no_fast_model_agents_follow_the_fail_mode(tiny, make_settings) -> None:
    gate = threading.Event()

    def slow_loader(spec, progress):
        gate.wait(10)
        return load_model(spec, progress)

    section = {"mode": "detoxify", "checkpoint": str(tiny.checkpoint), "model_dir": str(tiny.directory),
               "fail_mode": "closed"}  # fmt: skip
    settings = load_settings(data={"toxicity": section})
    from bot.metrics import Metrics

    scorer = ToxicityScorer(
        settings.section("toxicity"),
        room_config=lambda room: settings.section("toxicity", room),
        metrics=Metrics(),
        loader=slow_loader,
        fast_factory=_broken_fast,
    )
    await scorer.start()
    try:
        assert scorer.state is ScorerState.LOADING
        loading = await scorer.assess("hello", ROOM, agent=True)
        assert (loading.available, loading.action) == (False, "reject")
        assert "loading" in loading.reason
        gate.set()
        assert await scorer.wait_loaded() is ScorerState.READY
        assert (await scorer.assess("hello", ROOM, agent=True)).available
    finally:
        gate.set()
        await scorer.close()


async def test_the_toxicity_command_shows_scores_and_outcomes(make_settings, adapter, clock, torch_section) -> None:
    app = await started(make_settings, adapter, clock, toxicity=torch_section)
    try:
        await app.services.get(TextScorer).wait_loaded()
        reply = await app.commands.invoke(
            CommandInvocation.parse("toxicity you are an idiot", actor=ADMIN, room=ROOM, is_admin=True)
        )
        assert reply.ok
        assert "toxicity 0." in reply.text and "as an agent's message:" in reply.text
        assert reply.text.startswith("backend: detoxify\n")
        empty = await app.commands.invoke(CommandInvocation.parse("toxicity", actor=ADMIN, room=ROOM, is_admin=True))
        assert not empty.ok and "give a text" in empty.text
        denied = await app.commands.invoke(CommandInvocation.parse("toxicity hi", actor=ADMIN, room=ROOM))
        assert not denied.ok
    finally:
        await app.stop()


def test_config_errors_name_the_key() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"toxicity\.agent_thresholds\.insult"):
        load_settings(data={"toxicity": {"agent_thresholds": {"insult": 2}}})
    with pytest.raises(ConfigError, match="onnx_path"):
        load_settings(data={"toxicity": {"backend": "onnx"}})
    with pytest.raises(ConfigError, match="model_dir"):
        load_settings(data={"toxicity": {"checkpoint": "/x.ckpt"}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(data={"servers": {"1": {"toxicity": {"human_actions": {"threat": "ban", "nope": 1}}}}})


def test_disabled_and_onnx_apps_never_import_torch_and_disabled_imports_no_numpy(tmp_path, tiny_onnx) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from bot.app import StewardApp
        from bot.config import load_settings
        from bot.scoring import TextScorer
        from domain import Room
        from tests.support import RecordingAdapter

        async def main():
            for i, section in enumerate([{{"enabled": False}},
                                         {{"backend": "onnx", "onnx_path": {str(tiny_onnx)!r}}}]):
                settings = load_settings(data={{"database": {{"path": {str(tmp_path)!r} + f"/s{{i}}.db"}},
                                                "http": {{"enabled": False}}, "cogs": {{"enabled": ["toxicity"]}},
                                                "toxicity": section}})
                app = StewardApp(settings, adapters=[RecordingAdapter()])
                await app.start()
                scorer = app.services.get(TextScorer)
                await scorer.wait_loaded()
                print(i, scorer.state, (await scorer.assess("hi", Room("test", "", "c"), agent=True)).available)
                await app.stop()
                if i == 0:
                    print("disabled:", sorted(m for m in ("numpy", "torch", "onnxruntime") if m in sys.modules))
            print("heavy:", sorted(m for m in ("torch", "transformers", "detoxify") if m in sys.modules))

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[3], timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "0 disabled False" in done.stdout and "1 ready True" in done.stdout
    assert "disabled: []" in done.stdout
    assert "heavy: []" in done.stdout
