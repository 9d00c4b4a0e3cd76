"""How the scorer routes a message: fast, detoxify, cascade, both and auto, and the fast model as the fallback
whenever Detoxify cannot answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import StewardApp
from bot.scoring import ScorerState, TextScorer
from domain import Room

ROOM = Room(platform="test", server="s1", channel="general")
DETOXIFY_LABELS = {"toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"}
OFFENSIVE = "you are a worthless idiot"
CLEAN = "thanks, the release notes are very clear"


async def scorer_for(make_settings, adapter, clock, section: dict[str, Any]) -> tuple[StewardApp, Any]:
    app = StewardApp(make_settings(toxicity=section), adapters=[adapter], clock=clock)
    await app.start()
    scorer = app.services.get(TextScorer)
    assert await scorer.wait_loaded() is ScorerState.READY
    return app, scorer


def decided(app: StewardApp, backend: str) -> float:
    return app.metrics.value("steward_toxicity_decided_total", backend=backend) or 0.0


async def test_cascade_asks_detoxify_only_about_what_the_fast_model_does_not_clear(
    make_settings, adapter, clock, torch_section
) -> None:
    app, scorer = await scorer_for(make_settings, adapter, clock, {**torch_section, "mode": "cascade"})
    try:
        assert scorer.route() == "cascade"
        clean = await scorer.assess(CLEAN, ROOM, agent=True)
        assert set(clean.scores) == {"toxicity"} and clean.action is None
        flagged = await scorer.assess(OFFENSIVE, ROOM, agent=True)
        assert set(flagged.scores) == DETOXIFY_LABELS
        assert (decided(app, "fast"), decided(app, "detoxify")) == (1, 1)
        assert app.health()["components"]["toxicity"]["backend"] == "cascade"
    finally:
        await app.stop()


async def test_auto_is_cascade_once_detoxify_has_loaded(make_settings, adapter, clock, torch_section) -> None:
    app, scorer = await scorer_for(make_settings, adapter, clock, {**torch_section, "mode": "auto"})
    try:
        assert scorer.route() == "cascade"
        assert set((await scorer.assess(OFFENSIVE, ROOM, agent=False)).scores) == DETOXIFY_LABELS
    finally:
        await app.stop()


async def test_both_takes_the_more_severe_verdict(make_settings, adapter, clock, torch_section) -> None:
    # Detoxify (a random tiny model here) never crosses a threshold of 1.0; the fast model does on an insult.
    never = dict.fromkeys(DETOXIFY_LABELS | {"sexual_explicit"}, 1.0)
    section = {**torch_section, "mode": "both", "agent_thresholds": never}
    app, scorer = await scorer_for(make_settings, adapter, clock, section)
    try:
        offensive = await scorer.assess(OFFENSIVE, ROOM, agent=True)
        assert (offensive.label, offensive.action) == ("toxicity", "reject")
        assert offensive.reason.endswith("by the fast model")
        clean = await scorer.assess(CLEAN, ROOM, agent=True)
        assert clean.action is None and set(clean.scores) == DETOXIFY_LABELS  # tie: Detoxify's verdict
    finally:
        await app.stop()


async def test_fast_mode_never_loads_detoxify(make_settings, adapter, clock, torch_section) -> None:
    app, scorer = await scorer_for(make_settings, adapter, clock, {**torch_section, "mode": "fast"})
    try:
        assert scorer.detoxify is None and scorer.route() == "fast"
        health = app.health()["components"]["toxicity"]
        assert (health["backend"], health["detoxify"]) == ("fast", "off (mode fast)")
        assert (await scorer.assess(OFFENSIVE, ROOM, agent=True)).action == "reject"
    finally:
        await app.stop()


@pytest.mark.parametrize("mode", ["detoxify", "cascade", "both"])
async def test_a_failing_detoxify_batch_falls_back_to_the_fast_model(
    mode, make_settings, adapter, clock, torch_section, monkeypatch
) -> None:
    app, scorer = await scorer_for(make_settings, adapter, clock, {**torch_section, "mode": mode})
    try:

        async def broken(text: str) -> dict[str, float]:
            raise RuntimeError("inference thread died")

        monkeypatch.setattr(scorer.detoxify, "scores", broken)
        result = await scorer.assess(OFFENSIVE, ROOM, agent=True)
        assert result.available and (result.label, result.action) == ("toxicity", "reject")
        assert set(result.scores) == {"toxicity"} and result.reason.endswith("by the fast model")
    finally:
        await app.stop()


async def test_raw_input_is_a_setting(make_settings, adapter, clock) -> None:
    app, scorer = await scorer_for(make_settings, adapter, clock, {"mode": "fast", "fast_input": "raw"})
    try:
        assert scorer.fast is not None and scorer.fast.canonical_input is False
        # Cyrillic "і" letters: the raw text is not what the model learnt.
        assert (await scorer.assess("you are an \u0456d\u0456ot", ROOM, agent=True)).action is None
    finally:
        await app.stop()
