"""The text scorer the moderator uses: a Detoxify model loaded once in the background, batched, judged per room.

``DetoxifyScorer`` owns the scorer's lifecycle (background load, close), answers ``assess`` (scores judged against
the room's thresholds, or the fail-open / fail-closed answer while there is no model) and reports health.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import Any

from bot.logging import get_logger
from bot.metrics import Metrics
from bot.scoring import ScorerState, TextAssessment
from cogs.toxicity.batcher import MicroBatcher
from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.metrics import ToxicityMetrics
from cogs.toxicity.model import ModelLoadError, ModelSpec, ToxicityModel, load_model
from domain import Room
from policy.toxicity import judge, unavailable_action

log = get_logger("steward.toxicity")


class DetoxifyScorer:
    """Implements ``bot.scoring.TextScorer``.

    ``start()`` returns at once; the model loads in the inference thread while the bot runs. Until it is ready (or
    when it failed or is disabled) ``assess`` answers ``available=False`` with the room's fail-open / fail-closed
    action for agents.
    """

    def __init__(
        self,
        settings: ToxicitySettings,
        *,
        room_config: Callable[[Room | None], ToxicitySettings],
        metrics: Metrics,
        loader: Callable[..., ToxicityModel] = load_model,
    ) -> None:
        self._settings = settings
        self._room_config = room_config
        self._loader = loader
        self.spec = ModelSpec.from_settings(settings)
        self._state = ScorerState.DISABLED if not settings.enabled else ScorerState.LOADING
        self.error: str | None = None
        self.model: ToxicityModel | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._batcher: MicroBatcher[dict[str, float]] | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._step = ""
        self._metrics = ToxicityMetrics.register(metrics)

    # --- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def state(self) -> ScorerState:
        return self._state

    async def start(self) -> None:
        if self._state is ScorerState.DISABLED:
            log.info("toxicity_disabled")
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity")
        self._load_task = asyncio.create_task(self._load(), name="toxicity-load")

    async def wait_loaded(self) -> ScorerState:
        """Until loading has finished (ready or failed); returns the state."""
        if self._load_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._load_task)
        return self._state

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        log.info("toxicity_model_loading", backend=self.spec.backend, model=self.spec.source)

        def progress(step: str) -> None:
            self._step = step
            log.info("toxicity_model_loading_step", step=step, elapsed=round(time.perf_counter() - started, 2))

        assert self._executor is not None
        try:
            model = await loop.run_in_executor(self._executor, self._loader, self.spec, progress)
        except asyncio.CancelledError:
            raise
        except ModelLoadError as exc:
            self._fail(str(exc), started)
            return
        except Exception as exc:
            self._fail(f"{type(exc).__name__}: {exc}", started)
            log.exception("toxicity_model_load_crashed")
            return
        self.model = model
        self._batcher = MicroBatcher(
            model.score,
            self._executor,
            max_batch=self._settings.max_batch,
            max_wait=self._settings.max_wait_ms / 1000.0,
            on_batch=self._metrics.observe_batch,
        )
        self._batcher.start()
        self._state = ScorerState.READY
        self._step = ""
        self._metrics.model_loaded(model.load_seconds)
        log.info(
            "toxicity_model_ready",
            backend=model.backend,
            model=model.source,
            labels=list(model.judged_labels),
            max_tokens=model.encoder.max_tokens,
            seconds=round(model.load_seconds, 2),
        )

    def _fail(self, error: str, started: float) -> None:
        self._state = ScorerState.FAILED
        self.error = error
        self._metrics.ready.set(0)
        log.error(
            "toxicity_model_unavailable",
            error=error,
            seconds=round(time.perf_counter() - started, 2),
            fail_mode=self._settings.fail_mode,
            note="the bot runs on its other rules; agents' messages follow fail_mode",
        )

    async def close(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._load_task
        if self._batcher is not None:
            await self._batcher.close()
        if self._executor is not None:
            # A load still running in the thread finishes there; nothing waits for it.
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._state is not ScorerState.DISABLED:
            self._metrics.ready.set(0)

    # --- scoring ----------------------------------------------------------------------------------------------------

    async def scores(self, text: str) -> Mapping[str, float]:
        """The model's scores for the labels Steward judges (raises when the model is not ready)."""
        if self._batcher is None or self.model is None:
            raise RuntimeError(f"the toxicity model is {self._state}")
        raw = await self._batcher.submit(text)
        return {label: raw[label] for label in self.model.judged_labels}

    async def assess(self, text: str, room: Room, *, agent: bool) -> TextAssessment:
        cfg = self._room_config(room)
        audience = "agent" if agent else "human"
        if self._state is not ScorerState.READY:
            return self._unavailable(cfg, agent, audience, str(self._state), f"toxicity model {self._state}")
        try:
            scores = await self.scores(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("toxicity_scoring_failed", error=f"{type(exc).__name__}: {exc}", room=room.key, agent=agent)
            return self._unavailable(cfg, agent, audience, "error", f"toxicity scoring failed: {type(exc).__name__}")
        self._metrics.scored.labels(audience=audience).inc()
        if agent:
            verdict = judge(scores, cfg.agent_thresholds.as_dict(), cfg.agent_actions.as_dict())
        else:
            verdict = judge(scores, cfg.human_thresholds.as_dict(), cfg.human_actions.as_dict())
        action = verdict.action
        if action is not None:
            self._metrics.flagged.labels(audience=audience, label=verdict.label, action=action).inc()
        if agent and action == "log":
            # The gate knows one action for agents (reject): a logged label lets the message through, and the
            # label, reason and scores still go into the decision.
            action = None
        return TextAssessment(
            scores=MappingProxyType(dict(scores)), label=verdict.label, action=action, reason=verdict.reason
        )

    def _unavailable(self, cfg: ToxicitySettings, agent: bool, audience: str, why: str, reason: str) -> TextAssessment:
        self._metrics.unavailable.labels(audience=audience, reason=why).inc()
        action = unavailable_action(cfg.fail_mode, agent=agent)
        if action is not None:
            reason += " (fail-closed)"
        return TextAssessment(available=False, action=action, reason=reason)

    # --- health -----------------------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The ``toxicity`` component: up when the model is ready (or the cog is disabled); required when the
        section is enabled and some label acts on messages, so a model that did not load degrades Steward."""
        info: dict[str, Any] = {
            "up": self._state in (ScorerState.READY, ScorerState.DISABLED),
            "state": str(self._state),
        }
        if self._state is ScorerState.DISABLED:
            info["required"] = False
            return info
        info["required"] = _acts(self._settings)
        info["loaded"] = self.model is not None
        info["backend"] = self.spec.backend
        info["model"] = self.spec.source
        info["fail_mode"] = self._settings.fail_mode
        if self._state is ScorerState.LOADING:
            info["reason"] = "model loading" + (f" ({self._step})" if self._step else "")
            if self._step:
                info["step"] = self._step
        if self.model is not None:
            info["labels"] = ",".join(self.model.judged_labels)
            info["load_seconds"] = round(self.model.load_seconds, 2)
            info["pending"] = self._batcher.pending if self._batcher else 0
        if self.error:
            info["error"] = self.error
            info["reason"] = f"model not loaded: {self.error}"
        if self._state is not ScorerState.READY:
            info["effect"] = (
                "agents' messages are rejected (fail_mode closed)"
                if self._settings.fail_mode == "closed"
                else "agents' messages are posted unscored (fail_mode open)"
            ) + "; humans' messages are not scored"
        return info


def _acts(settings: ToxicitySettings) -> bool:
    """Whether any label does something to a message (reject, timeout, delete, warn), not only log or ignore."""
    quiet = {"log", "ignore"}
    actions = [*settings.agent_actions.as_dict().values(), *settings.human_actions.as_dict().values()]
    return any(action not in quiet for action in actions)
