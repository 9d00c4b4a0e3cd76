"""A micro-batcher: concurrent requests share one forward pass, and the event loop never runs the model.

Callers ``await batcher.submit(text)``. One worker task takes every text waiting (up to ``max_batch``) and runs
them as one batch in a single-thread executor; each caller gets its own text's result (or the batch's exception).
While a batch runs, new requests queue up and form the next batch, so under load the batches fill without any
waiting. When messages have been arriving together (the last batch had company), the worker also waits up to
``max_wait`` for more before starting a batch that is not full; a lone message after a quiet spell is not held
back at all, so at low load Steward adds only the hand-off to the inference thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")


@dataclass(slots=True)
class _Request(Generic[R]):
    text: str
    future: asyncio.Future[R]


class BatcherClosed(RuntimeError):
    """The batcher is shut down (or shutting down): the text was not scored."""


class MicroBatcher(Generic[R]):
    def __init__(
        self,
        score: Callable[[Sequence[str]], list[R]],
        executor: Executor,
        *,
        max_batch: int,
        max_wait: float,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._score = score
        self._executor = executor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Request[R]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._busy_lately = False

    def start(self) -> None:
        # The worker only ends when closed; should it ever die otherwise, the next request starts a new one rather
        # than waiting forever.
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="toxicity-batcher")

    async def close(self) -> None:
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        waiting: list[_Request[R]] = []
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        _close_all(waiting)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def submit(self, text: str) -> R:
        if self._closed:
            raise BatcherClosed("the scorer is shut down")
        self.start()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Request(text, future))
        return await future

    async def _gather(self) -> list[_Request[R]]:
        batch = [await self._queue.get()]
        # Let the callers woken in this same loop iteration (a burst) enqueue before the batch is cut.
        await asyncio.sleep(0)
        self._take_waiting(batch)
        if self._company_expected(batch):
            await self._wait_for_company(batch)
        # Company now (or requests already waiting for the next batch) means more is likely to come.
        self._busy_lately = len(batch) > 1 or not self._queue.empty()
        return batch

    def _take_waiting(self, batch: list[_Request[R]]) -> None:
        while len(batch) < self.max_batch and not self._queue.empty():
            batch.append(self._queue.get_nowait())

    def _company_expected(self, batch: list[_Request[R]]) -> bool:
        """Worth waiting for more: room in the batch, a wait allowed, and messages have been coming together."""
        return len(batch) < self.max_batch and self.max_wait > 0 and (self._busy_lately or len(batch) > 1)

    async def _wait_for_company(self, batch: list[_Request[R]]) -> None:
        """Fill ``batch`` with what arrives within ``max_wait`` (or until it is full)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                return

    async def _run(self) -> None:
        while True:
            batch = await self._gather()
            # A caller that gave up (cancelled) does not need scoring.
            live = [r for r in batch if not r.future.done()]
            if live:
                await self._score_batch(live)

    async def _score_batch(self, live: list[_Request[R]]) -> None:
        """Score ``live`` in the executor and settle each caller's future; a failure fails only these callers."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            results = await loop.run_in_executor(self._executor, self._score, [r.text for r in live])
            if len(results) != len(live):
                raise RuntimeError(f"scorer returned {len(results)} results for {len(live)} texts")
        except asyncio.CancelledError:
            _close_all(live)
            raise
        except Exception as exc:
            for request in live:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        for request, result in zip(live, results, strict=True):
            if not request.future.done():
                request.future.set_result(result)
        if self._on_batch is not None:
            self._on_batch(len(live), loop.time() - started)


def _close_all(requests: Iterable[_Request[R]]) -> None:
    """Tell every caller still waiting that the scorer is shutting down."""
    for request in requests:
        if not request.future.done():
            request.future.set_exception(BatcherClosed("the scorer is shutting down"))
