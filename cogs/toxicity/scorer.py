"""The text scorer the moderator uses: the fast model, Detoxify when it loads, or both, judged per room.

``ToxicityScorer`` owns the fast model (``cogs.toxicity.fast``, loaded at start in its own inference thread,
about a second) and the Detoxify engine (``cogs.toxicity.detox``, loaded in the background), routes each message
by ``mode`` (fast / detoxify / cascade / both; auto = cascade once Detoxify is ready, fast until then), judges
the scores against the room's thresholds, and reports health: which backend answers, and when Detoxify does not,
why and what to run (``cogs.toxicity.diagnose``). Detoxify failing never leaves messages unscored: the fast
model answers instead. Nor does Detoxify being too slow for the traffic: a text it cannot answer within
``deadline_ms`` of its ``assess`` (or that finds ``queue_limit`` texts waiting) is answered by the fast model too,
counted and reported as shedding (``cogs.toxicity.shedding``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.logging import get_logger
from bot.metrics import Metrics
from bot.scoring import ScorerState, TextAssessment
from cogs.toxicity.batcher import MicroBatcher, Overloaded
from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.detox import DetoxifyEngine
from cogs.toxicity.diagnose import Diagnosis, explain
from cogs.toxicity.fast import LABEL, FastModel
from cogs.toxicity.metrics import ToxicityMetrics
from cogs.toxicity.model import ToxicityModel, load_model
from cogs.toxicity.shedding import Shedding
from domain import Room
from policy.toxicity import ACTION_SEVERITY, Judgement, judge, unavailable_action

log = get_logger("steward.toxicity")

FAST = "fast"
DETOXIFY = "detoxify"
# A text shorter than this is scored by the fast model on the loop: it costs at most ~0.2 ms there (~0.05 ms for
# a chat message), less than the hand-off to the inference thread and back; a longer one goes to the thread.
INLINE_CHARS = 500
BACKEND_NAMES = {FAST: "the fast model", DETOXIFY: "Detoxify"}


@dataclass(frozen=True, slots=True)
class _Verdict:
    """One backend's scores and their judgement."""

    backend: str
    scores: Mapping[str, float]
    judgement: Judgement

    @property
    def severity(self) -> int:
        action = self.judgement.action
        return -1 if action is None else ACTION_SEVERITY.get(action, 0)


class ToxicityScorer:
    """Implements ``bot.scoring.TextScorer``.

    ``start()`` loads the fast model (off the loop) and starts Detoxify's background load unless ``mode`` is
    ``fast``. While no model is ready (disabled, or the fast model failed and Detoxify is still loading or
    failed) ``assess`` answers ``available=False`` with the room's fail-open / fail-closed action for agents.
    """

    def __init__(
        self,
        settings: ToxicitySettings,
        *,
        room_config: Callable[[Room | None], ToxicitySettings],
        metrics: Metrics,
        loader: Callable[..., ToxicityModel] = load_model,
        fast_factory: Callable[[], FastModel] | None = None,
        deadline: float | None = None,
    ) -> None:
        self._settings = settings
        self._room_config = room_config
        self._metrics = ToxicityMetrics.register(metrics)
        # The counters every message bumps, bound to their labels once.
        self._scored = {audience: self._metrics.scored.labels(audience=audience) for audience in ("agent", "human")}
        self._decided = {backend: self._metrics.decided.labels(backend=backend) for backend in (FAST, DETOXIFY)}
        self.enabled = settings.enabled
        self.mode = settings.mode
        canonical_input = settings.fast_input == "canonical"
        self._fast_factory = fast_factory or (lambda: FastModel(canonical_input=canonical_input))
        self.fast: FastModel | None = None
        self.fast_error: str | None = None
        self._fast_executor: ThreadPoolExecutor | None = None
        self._fast_batcher: MicroBatcher[dict[str, float]] | None = None
        wants_detoxify = self.enabled and self.mode != FAST
        self.detoxify = DetoxifyEngine(settings, metrics=self._metrics, loader=loader) if wants_detoxify else None
        self._diagnosis: Diagnosis | None = None
        # Seconds from ``assess`` within which Detoxify must answer, else the fast model does.
        self.deadline = settings.deadline_ms / 1000.0 if deadline is None else deadline
        self.shedding = Shedding(self._metrics)

    # --- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def state(self) -> ScorerState:
        if not self.enabled:
            return ScorerState.DISABLED
        if self._fast_batcher is not None or (self.detoxify is not None and self.detoxify.ready):
            return ScorerState.READY
        if self.fast is None and self.fast_error is None:
            return ScorerState.LOADING
        if self.detoxify is not None and self.detoxify.state is ScorerState.LOADING:
            return ScorerState.LOADING
        return ScorerState.FAILED

    @property
    def model(self) -> ToxicityModel | None:
        """The Detoxify model, once loaded."""
        return self.detoxify.model if self.detoxify is not None else None

    @property
    def error(self) -> str | None:
        """Detoxify's load error, else the fast model's."""
        detoxify_error = self.detoxify.error if self.detoxify is not None else None
        return detoxify_error or self.fast_error

    async def start(self) -> None:
        if not self.enabled:
            log.info("toxicity_disabled")
            return
        # The fast model first, then Detoxify's background load: two threads importing numpy (or scikit-learn and
        # torch) for the first time at once can leave one of them with a half-initialised module.
        await self._load_fast()
        if self.detoxify is not None:
            self.detoxify.start()
        self._metrics.ready.set(1 if self.state is ScorerState.READY else 0)

    async def _load_fast(self) -> None:
        self._fast_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity-fast")
        loop = asyncio.get_running_loop()
        try:
            self.fast = await loop.run_in_executor(self._fast_executor, self._fast_factory)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.fast_error = f"{type(exc).__name__}: {exc}"
            log.error("toxicity_fast_model_unavailable", error=self.fast_error)
            return
        self._fast_batcher = MicroBatcher(
            self.fast.score_batch,
            self._fast_executor,
            max_batch=self._settings.max_batch,
            max_wait=self._settings.max_wait_ms / 1000.0,
        )
        self._fast_batcher.start()
        log.info(
            "toxicity_fast_model_ready",
            model=self.fast.source,
            input=self._settings.fast_input,
            seconds=round(self.fast.load_seconds, 3),
            mode=self.mode,
        )

    async def wait_loaded(self) -> ScorerState:
        """Until every backend has finished loading (ready or failed); returns the state."""
        if self.detoxify is not None:
            await self.detoxify.wait_loaded()
        return self.state

    async def close(self) -> None:
        if self.detoxify is not None:
            await self.detoxify.close()
        if self._fast_batcher is not None:
            await self._fast_batcher.close()
        if self._fast_executor is not None:
            self._fast_executor.shutdown(wait=False, cancel_futures=True)
        if self.enabled:
            self._metrics.ready.set(0)

    # --- routing ----------------------------------------------------------------------------------------------------

    def route(self) -> str:
        """How the next message is scored: fast, detoxify, cascade or both (what is ready decides, then mode)."""
        detoxify_ready = self.detoxify is not None and self.detoxify.ready
        if not detoxify_ready:
            return FAST
        if self._fast_batcher is None:
            return DETOXIFY
        return "cascade" if self.mode == "auto" else self.mode

    async def _fast_verdict(self, text: str, cfg: ToxicitySettings, agent: bool) -> _Verdict:
        assert self._fast_batcher is not None and self.fast is not None
        if len(text) < INLINE_CHARS:
            scores = {LABEL: self.fast.probability(text)}  # what ``score_batch`` gives, without the thread hop
        else:
            scores = await self._fast_batcher.submit(text)
        limit = cfg.fast_agent_threshold if agent else cfg.fast_human_threshold
        actions = (cfg.agent_actions if agent else cfg.human_actions).as_dict()
        return _Verdict(FAST, scores, judge(scores, {LABEL: limit}, {LABEL: actions[LABEL]}))

    async def _detoxify_verdict(self, text: str, cfg: ToxicitySettings, agent: bool, until: float) -> _Verdict:
        assert self.detoxify is not None
        now = asyncio.get_running_loop().time()
        if self.detoxify.idle:
            # An idle model is not overloaded: a message that waited elsewhere still gets it (one text's time).
            until = max(until, now + self.deadline)
        within = until - now
        scores = await self.detoxify.scores(text, within=within)
        if agent:
            judgement = judge(scores, cfg.agent_thresholds.as_dict(), cfg.agent_actions.as_dict())
        else:
            judgement = judge(scores, cfg.human_thresholds.as_dict(), cfg.human_actions.as_dict())
        return _Verdict(DETOXIFY, scores, judgement)

    async def _detoxify_or(
        self, fallback: _Verdict | None, text: str, cfg: ToxicitySettings, agent: bool, until: float
    ) -> _Verdict:
        """Detoxify's verdict by ``until`` (loop time); if it fails or cannot answer by then, the fast model's
        (``fallback``, or scored now)."""
        try:
            verdict = await self._detoxify_verdict(text, cfg, agent, until)
        except asyncio.CancelledError:
            raise
        except Overloaded as exc:
            audience = "agent" if agent else "human"
            self.shedding.shed(audience, exc.reason, pending=exc.pending, expected_wait=exc.expected_wait)
        except Exception as exc:
            log.error("toxicity_detoxify_scoring_failed", error=f"{type(exc).__name__}: {exc}", fallback=FAST)
        else:
            self.shedding.served()
            return verdict
        if fallback is not None:
            return fallback
        return await self._fast_verdict(text, cfg, agent)

    async def _verdict(self, route: str, text: str, cfg: ToxicitySettings, agent: bool, waited: float) -> _Verdict:
        if route == FAST:
            return await self._fast_verdict(text, cfg, agent)
        # The deadline counts from the message's arrival: what it waited before (in the bus's queue) is spent.
        until = asyncio.get_running_loop().time() + self.deadline - waited
        if route == DETOXIFY:
            return await self._detoxify_or(None, text, cfg, agent, until)
        fast = await self._fast_verdict(text, cfg, agent)
        if route == "cascade":
            if fast.scores[LABEL] < cfg.cascade_floor:
                return fast
            return await self._detoxify_or(fast, text, cfg, agent, until)
        deep = await self._detoxify_or(fast, text, cfg, agent, until)
        # both: the more severe verdict; on a tie Detoxify's (more labels, finer scores).
        return fast if fast.severity > deep.severity else deep

    # --- assessing --------------------------------------------------------------------------------------------------

    async def assess(self, text: str, room: Room, *, agent: bool, waited: float = 0.0) -> TextAssessment:
        cfg = self._room_config(room)
        audience = "agent" if agent else "human"
        state = self.state
        if state is not ScorerState.READY:
            return self._unavailable(cfg, agent, audience, str(state), f"toxicity model {state}")
        try:
            verdict = await self._verdict(self.route(), text, cfg, agent, waited)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("toxicity_scoring_failed", error=f"{type(exc).__name__}: {exc}", room=room.key, agent=agent)
            return self._unavailable(cfg, agent, audience, "error", f"toxicity scoring failed: {type(exc).__name__}")
        self._scored[audience].inc()
        self._decided[verdict.backend].inc()
        judgement = verdict.judgement
        action = judgement.action
        reason = judgement.reason
        if action is not None:
            self._metrics.flagged.labels(audience=audience, label=judgement.label, action=action).inc()
            reason = f"{reason} by {BACKEND_NAMES[verdict.backend]}"
        if agent and action == "log":
            # The gate knows one action for agents (reject): a logged label lets the message through, and the
            # label, reason and scores still go into the decision.
            action = None
        return TextAssessment(
            scores=MappingProxyType(dict(verdict.scores)), label=judgement.label, action=action, reason=reason
        )

    def _unavailable(self, cfg: ToxicitySettings, agent: bool, audience: str, why: str, reason: str) -> TextAssessment:
        self._metrics.unavailable.labels(audience=audience, reason=why).inc()
        action = unavailable_action(cfg.fail_mode, agent=agent)
        if action is not None:
            reason += " (fail-closed)"
        return TextAssessment(available=False, action=action, reason=reason)

    # --- health -----------------------------------------------------------------------------------------------------

    def diagnosis(self) -> Diagnosis | None:
        """Why Detoxify is not serving and what to run (None while it loads, serves, or is not wanted)."""
        if self.detoxify is None or self.detoxify.state is not ScorerState.FAILED:
            return None
        if self._diagnosis is None:
            self._diagnosis = explain(self.detoxify.spec, self.detoxify.error)
        return self._diagnosis

    def detoxify_expected(self) -> bool:
        """Whether the config asks for Detoxify rather than taking it if available: a mode that uses it by name
        (detoxify, cascade, both) or local Detoxify files named (checkpoint, onnx_path)."""
        if self.detoxify is None:
            return False
        spec = self.detoxify.spec
        return self.mode != "auto" or spec.checkpoint is not None or spec.onnx_path is not None

    def health(self) -> dict[str, Any]:
        """The ``toxicity`` component: up while a model answers (or the cog is disabled), except when the config
        asks for Detoxify and it failed; required when the section is enabled and some label acts on messages.
        Says which backend answers and, when Detoxify does not, why and what to run."""
        state = self.state
        info: dict[str, Any] = {"up": state in (ScorerState.READY, ScorerState.DISABLED), "state": str(state)}
        if state is ScorerState.DISABLED:
            info["required"] = False
            return info
        diagnosis = self.diagnosis()
        if state is ScorerState.READY and diagnosis is not None and self.detoxify_expected():
            # Configured to use Detoxify (by mode or by naming its files) and it failed: weaker than configured.
            info["up"] = False
            info["reason"] = f"Detoxify not loaded: {diagnosis.reason} (the fast model answers meanwhile)"
        info["required"] = _acts(self._settings)
        info["backend"] = self.route() if state is ScorerState.READY else "none"
        info["mode"] = self.mode
        info["fast_model"] = self.fast.source if self.fast is not None else f"unavailable: {self.fast_error}"
        info.update(self._detoxify_health())
        info["fail_mode"] = self._settings.fail_mode
        if state is not ScorerState.READY:
            info["reason"] = f"no toxicity model loaded: {self.error}" if self.error else "toxicity model loading"
            info["effect"] = (
                "agents' messages are rejected (fail_mode closed)"
                if self._settings.fail_mode == "closed"
                else "agents' messages are posted unscored (fail_mode open)"
            ) + "; humans' messages are not scored"
        return info

    def _detoxify_health(self) -> dict[str, Any]:
        engine = self.detoxify
        if engine is None:
            return {"detoxify": "off (mode fast)"}
        info: dict[str, Any] = {
            "detoxify": str(engine.state),
            "detoxify_runtime": engine.spec.backend,
            "detoxify_model": engine.spec.source,
        }
        if engine.state is ScorerState.LOADING and engine.step:
            info["detoxify_step"] = engine.step
        if engine.model is not None:
            info["labels"] = ",".join(engine.model.judged_labels)
            info["detoxify_load_seconds"] = round(engine.model.load_seconds, 2)
            info["pending"] = engine.pending
            info["expected_wait"] = round(engine.expected_wait(), 3)
            info.update(self.shedding.health())
        diagnosis = self.diagnosis()
        if diagnosis is not None:
            info["detoxify_error"] = engine.error
            info["detoxify_reason"] = diagnosis.reason
            if diagnosis.fix:
                info["detoxify_fix"] = diagnosis.fix_text()
        return info


def _acts(settings: ToxicitySettings) -> bool:
    """Whether any label does something to a message (reject, timeout, delete, warn), not only log or ignore."""
    quiet = {"log", "ignore"}
    actions = [*settings.agent_actions.as_dict().values(), *settings.human_actions.as_dict().values()]
    return any(action not in quiet for action in actions)
