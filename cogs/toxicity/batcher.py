"""A micro-batcher: concurrent requests share one forward pass, and the event loop never runs the model.

Callers ``await batcher.submit(text)``. One worker task takes every text waiting (up to ``max_batch``) and runs
them as one batch in a single-thread executor; each caller gets its own text's result (or the batch's exception).
While a batch runs, new requests queue up and form the next batch, so under load the batches fill without any
waiting. When messages have been arriving together (the last batch had company), the worker also waits up to
``max_wait`` for more before starting a batch that is not full; a lone message after a quiet spell is not held
back at all, so at low load Steward adds only the hand-off to the inference thread.

Bounded, for a model slower than the traffic: with ``max_pending`` set, a request that finds that many texts waiting
is refused at once, and a request with a time budget (``submit(text, within=seconds)``) is refused at once when the
wait it would have (the batch running and every text queued ahead of it, at the seconds a text the recent batches
took) exceeds its budget, or abandoned when the budget runs out before its result comes; a batch takes no more
texts than it can score before the soonest deadline among them. Each refusal is an
``Overloaded`` carrying why (``queue_full``, ``wait``, ``deadline``, or ``late``: no budget left), so the caller
can answer another way (the scorer asks the fast model); an abandoned text is not scored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

R = TypeVar("R")


_NEVER = float("inf")


@dataclass(slots=True)
class _Request(Generic[R]):
    text: str
    future: asyncio.Future[R]
    deadline: float = _NEVER  # loop time by which its caller needs the answer
    taken: bool = False  # in a batch (no longer waiting)
    abandoned: bool = False  # its caller's budget ran out while it waited


class BatcherClosed(RuntimeError):
    """The batcher is shut down (or shutting down): the text was not scored."""


QUEUE_FULL = "queue_full"
WAIT = "wait"
DEADLINE = "deadline"
LATE = "late"


class Overloaded(RuntimeError):
    """The model cannot answer within the caller's budget (``reason``: queue_full, wait, deadline, or late: the
    budget was spent before the text was submitted)."""

    def __init__(self, reason: str, *, pending: int, expected_wait: float) -> None:
        super().__init__(f"toxicity model overloaded ({reason}): {pending} waiting, ~{expected_wait:.2f} s wait")
        self.reason = reason
        self.pending = pending
        self.expected_wait = expected_wait


_SMOOTHING = 0.3  # weight of the latest batch in the seconds-a-text estimate


class MicroBatcher(Generic[R]):
    def __init__(
        self,
        score: Callable[[Sequence[str]], list[R]],
        executor: Executor,
        *,
        max_batch: int,
        max_wait: float,
        on_batch: Callable[[int, float], None] | None = None,
        max_pending: int | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_pending is not None and max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._score = score
        self._executor = executor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._on_batch = on_batch
        self._queue: deque[_Request[R]] = deque()
        self._arrived = asyncio.Event()  # set when a request is queued
        self._worker: asyncio.Task[None] | None = None
        self._closed = False
        self._busy_lately = False
        self.max_pending = max_pending
        self._waiting = 0  # requests queued and not abandoned
        self._running = 0  # texts in the batch being scored
        self._running_since = 0.0
        self.seconds_per_text: float | None = None  # smoothed over the recent batches; None until one ran

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
        waiting = list(self._queue)
        self._queue.clear()
        self._waiting = 0
        _close_all(waiting)

    @property
    def pending(self) -> int:
        """Texts waiting for a batch (not those whose callers gave up)."""
        return self._waiting

    @property
    def idle(self) -> bool:
        """Nothing scored or waiting."""
        return not self._running and not self._waiting

    def expected_wait(self) -> float:
        """Seconds a text submitted now would wait for its result: what is left of the running batch and every
        text queued, at the recent seconds a text (0 until a batch has been timed)."""
        per_text = self.seconds_per_text
        if per_text is None:
            return 0.0
        left = 0.0
        if self._running:
            elapsed = asyncio.get_running_loop().time() - self._running_since
            left = max(0.0, self._running * per_text - elapsed)
        return left + (self._waiting + 1) * per_text

    async def submit(self, text: str, *, within: float | None = None) -> R:
        """``text``'s result; with ``within`` (seconds), ``Overloaded`` rather than a longer wait."""
        if self._closed:
            raise BatcherClosed("the scorer is shut down")
        self.start()
        if self.max_pending is not None and self._waiting >= self.max_pending:
            raise Overloaded(QUEUE_FULL, pending=self._waiting, expected_wait=self.expected_wait())
        loop = asyncio.get_running_loop()
        deadline = _NEVER
        if within is not None:
            if within <= 0:
                raise Overloaded(LATE, pending=self._waiting, expected_wait=self.expected_wait())
            expected = self.expected_wait()
            if expected > within:
                raise Overloaded(WAIT, pending=self._waiting, expected_wait=expected)
            deadline = loop.time() + within
        future: asyncio.Future[R] = loop.create_future()
        request = _Request(text, future, deadline)
        self._queue.append(request)
        self._waiting += 1
        self._arrived.set()
        if within is None:
            return await request.future
        try:
            return await asyncio.wait_for(request.future, within)
        except TimeoutError:
            if not request.taken:
                request.abandoned = True
                self._waiting -= 1
            raise Overloaded(DEADLINE, pending=self._waiting, expected_wait=self.expected_wait()) from None

    # --- forming batches ------------------------------------------------------------------------------------------

    def _take_next(self, batch: list[_Request[R]]) -> bool:
        """Move the first request waiting into ``batch`` if it fits; False when none waits or it does not fit.

        It fits when the batch with it would still end (at the recent seconds a text) before the soonest deadline
        of its texts: a text admitted on the expected wait gets its answer in time, rather than a batch grown by
        later arrivals past it (those wait for the next batch). Abandoned requests are dropped on the way."""
        while self._queue:
            request = self._queue[0]
            if request.abandoned:
                self._queue.popleft()
                continue
            per_text = self.seconds_per_text
            if batch and per_text is not None:
                soonest = min(request.deadline, *(r.deadline for r in batch))
                if asyncio.get_running_loop().time() + (len(batch) + 1) * per_text > soonest:
                    return False
            self._queue.popleft()
            request.taken = True
            self._waiting -= 1
            batch.append(request)
            return True
        return False

    async def _gather(self) -> list[_Request[R]]:
        batch: list[_Request[R]] = []
        while not self._take_next(batch):
            self._arrived.clear()
            await self._arrived.wait()
        # Let the callers woken in this same loop iteration (a burst) enqueue before the batch is cut.
        await asyncio.sleep(0)
        full = self._take_waiting(batch)
        if not full and self._company_expected(batch):
            await self._wait_for_company(batch)
        # Company now (or requests already waiting for the next batch) means more is likely to come.
        self._busy_lately = len(batch) > 1 or bool(self._waiting)
        return batch

    def _take_waiting(self, batch: list[_Request[R]]) -> bool:
        """Take what waits, up to ``max_batch``; True when the batch is done (full, or the next would not fit)."""
        while len(batch) < self.max_batch:
            if not self._take_next(batch):
                return bool(self._waiting)
        return True

    def _company_expected(self, batch: list[_Request[R]]) -> bool:
        """Worth waiting for more: room in the batch, a wait allowed, and messages have been coming together."""
        return len(batch) < self.max_batch and self.max_wait > 0 and (self._busy_lately or len(batch) > 1)

    async def _wait_for_company(self, batch: list[_Request[R]]) -> None:
        """Fill ``batch`` with what arrives within ``max_wait`` (or until it is full or the next does not fit)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            if self._take_waiting(batch):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    # --- scoring ----------------------------------------------------------------------------------------------------

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
        started = self._running_since = loop.time()
        self._running = len(live)
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
        finally:
            self._running = 0
        elapsed = loop.time() - started
        for request, result in zip(live, results, strict=True):
            if not request.future.done():
                request.future.set_result(result)
        per_text = elapsed / len(live)
        previous = self.seconds_per_text
        self.seconds_per_text = per_text if previous is None else previous + _SMOOTHING * (per_text - previous)
        if self._on_batch is not None:
            self._on_batch(len(live), elapsed)


def _close_all(requests: Iterable[_Request[R]]) -> None:
    """Tell every caller still waiting that the scorer is shutting down."""
    for request in requests:
        if not request.future.done():
            request.future.set_exception(BatcherClosed("the scorer is shutting down"))
