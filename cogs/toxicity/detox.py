"""``DetoxifyEngine``: the Detoxify model, loaded once in the background and scored in micro-batches off the loop.

One job: the Detoxify model's lifecycle (background load in its own inference thread, progress, failure with the
loader's message, close) and ``scores(text)`` through a ``MicroBatcher`` bounded by ``queue_limit``. Which model
answers a message, and how its scores are judged, is the scorer's business (``cogs.toxicity.scorer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from bot.logging import get_logger
from bot.scoring import ScorerState
from cogs.toxicity.batcher import MicroBatcher
from cogs.toxicity.config import ToxicitySettings
from cogs.toxicity.metrics import ToxicityMetrics
from cogs.toxicity.model import ModelLoadError, ModelSpec, ToxicityModel, load_model

log = get_logger("steward.toxicity")


class DetoxifyEngine:
    """The Detoxify model behind the scorer: ``start()`` returns at once, the load runs in the inference thread."""

    def __init__(
        self,
        settings: ToxicitySettings,
        *,
        metrics: ToxicityMetrics,
        loader: Callable[..., ToxicityModel] = load_model,
    ) -> None:
        self._settings = settings
        self._loader = loader
        self._metrics = metrics
        self.spec = ModelSpec.from_settings(settings)
        self.state = ScorerState.LOADING
        self.error: str | None = None
        self.model: ToxicityModel | None = None
        self.step = ""
        self._executor: ThreadPoolExecutor | None = None
        self._batcher: MicroBatcher[dict[str, float]] | None = None
        self._load_task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.state is ScorerState.READY

    @property
    def pending(self) -> int:
        return self._batcher.pending if self._batcher is not None else 0

    @property
    def idle(self) -> bool:
        """Loaded, and nothing scored or waiting."""
        return self._batcher is not None and self._batcher.idle

    def expected_wait(self) -> float:
        """Seconds a text sent now would wait for Detoxify (0 before it is loaded or has scored a batch)."""
        return self._batcher.expected_wait() if self._batcher is not None else 0.0

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity-detoxify")
        self._load_task = asyncio.create_task(self._load(), name="toxicity-load")

    async def wait_loaded(self) -> ScorerState:
        """Until loading has finished (ready or failed); returns the state."""
        if self._load_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._load_task)
        return self.state

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        log.info("toxicity_model_loading", backend=self.spec.backend, model=self.spec.source)

        def progress(step: str) -> None:
            self.step = step
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
            max_pending=self._settings.queue_limit,
        )
        self._batcher.start()
        self.state = ScorerState.READY
        self.step = ""
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
        self.state = ScorerState.FAILED
        self.error = error
        log.warning(
            "toxicity_model_unavailable",
            error=error,
            seconds=round(time.perf_counter() - started, 2),
            note="messages are scored by the fast model instead",
        )

    async def scores(self, text: str, *, within: float | None = None) -> Mapping[str, float]:
        """Detoxify's scores for the labels Steward judges (raises when the model is not ready, and
        ``batcher.Overloaded`` when its queue is full or it cannot answer ``within`` seconds)."""
        if self._batcher is None or self.model is None:
            raise RuntimeError(f"the Detoxify model is {self.state}")
        raw = await self._batcher.submit(text, within=within)
        return {label: raw[label] for label in self.model.judged_labels}

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
