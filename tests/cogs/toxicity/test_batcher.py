"""The micro-batcher: many concurrent callers, one forward pass at a time, each caller gets its own result."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from cogs.toxicity.batcher import BatcherClosed, MicroBatcher


class Recorder:
    """A scoring function that records the batches it was given and the thread it ran on."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def __call__(self, texts: Sequence[str]) -> list[str]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError("the model broke")
        return [f"score({t})" for t in texts]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity-test") as pool:
        yield pool


async def test_many_concurrent_callers_each_get_their_own_result_in_few_batches(executor) -> None:
    score = Recorder()
    batcher = MicroBatcher(score, executor, max_batch=16, max_wait=0.005)
    texts = [f"message {i}" for i in range(300)]

    async def caller(text: str) -> str:
        await asyncio.sleep(random.random() / 1000)
        return await batcher.submit(text)

    results = await asyncio.gather(*(caller(t) for t in texts))
    await batcher.close()
    assert results == [f"score({t})" for t in texts]
    assert sorted(t for batch in score.batches for t in batch) == sorted(texts)
    assert max(len(b) for b in score.batches) == 16
    assert len(score.batches) < len(texts) / 4
    # The model never ran on the event loop's thread.
    assert score.threads and all(name.startswith("toxicity-test") for name in score.threads)


async def test_a_lone_request_after_a_quiet_spell_is_not_held_back(executor) -> None:
    score = Recorder()
    # A wait this long would fail the test if a lone message waited for company.
    batcher = MicroBatcher(score, executor, max_batch=16, max_wait=60.0)
    assert await asyncio.wait_for(batcher.submit("alone"), 10) == "score(alone)"
    assert score.batches == [["alone"]]
    await batcher.close()


async def test_a_burst_arriving_together_is_scored_together(executor) -> None:
    score = Recorder()
    batcher = MicroBatcher(score, executor, max_batch=64, max_wait=0.05)
    texts = [f"burst {i}" for i in range(40)]
    assert await asyncio.gather(*(batcher.submit(t) for t in texts)) == [f"score({t})" for t in texts]
    assert score.batches == [texts]
    await batcher.close()


async def test_a_failing_batch_fails_its_callers_and_the_next_batch_works(executor) -> None:
    score = Recorder(fail_on="bad")
    batcher = MicroBatcher(score, executor, max_batch=8, max_wait=0.005)
    outcomes = await asyncio.gather(batcher.submit("bad"), batcher.submit("fine"), return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert await batcher.submit("later") == "score(later)"
    await batcher.close()


async def test_a_cancelled_caller_does_not_disturb_the_others(executor) -> None:
    score = Recorder()
    batcher = MicroBatcher(score, executor, max_batch=8, max_wait=0.01)
    doomed = asyncio.create_task(batcher.submit("doomed"))
    kept = asyncio.create_task(batcher.submit("kept"))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == "score(kept)"
    assert all("doomed" not in batch for batch in score.batches)
    await batcher.close()


async def test_closing_fails_waiting_callers_and_refuses_new_ones(executor) -> None:
    gate = threading.Event()

    def slow(texts: Sequence[str]) -> list[str]:
        gate.wait(5)
        return list(texts)

    batcher = MicroBatcher(slow, executor, max_batch=1, max_wait=0)
    first = asyncio.create_task(batcher.submit("first"))
    second = asyncio.create_task(batcher.submit("second"))
    await asyncio.sleep(0.01)
    await batcher.close()
    gate.set()
    for task in (first, second):
        with pytest.raises(BatcherClosed):
            await task
    with pytest.raises(BatcherClosed):
        await batcher.submit("after")


async def test_a_scorer_returning_the_wrong_count_is_an_error_not_a_mixup(executor) -> None:
    batcher = MicroBatcher(lambda texts: ["only one"], executor, max_batch=8, max_wait=0.005)
    outcomes = await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    await batcher.close()
