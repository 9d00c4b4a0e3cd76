"""The micro-batcher's bounds: a full queue refuses at once, a caller's budget is kept (refused at once when the
wait it would have is longer, abandoned when it runs out), and what was abandoned is never scored."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from cogs.toxicity.batcher import DEADLINE, QUEUE_FULL, WAIT, MicroBatcher, Overloaded


class Held:
    """A model that scores nothing until released; records what it was given."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[str]:
        self.batches.append(list(texts))
        self.started.set()
        self.release.wait(30)
        return [f"score({t})" for t in texts]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toxicity-test") as pool:
        yield pool


async def started(held: Held) -> None:
    await asyncio.get_running_loop().run_in_executor(None, held.started.wait, 30)


async def test_a_full_queue_refuses_at_once_and_the_admitted_texts_are_scored(executor) -> None:
    held = Held()
    batcher = MicroBatcher(held, executor, max_batch=4, max_wait=0, max_pending=2)
    running = asyncio.create_task(batcher.submit("running"))
    await started(held)
    queued = [asyncio.create_task(batcher.submit(f"queued {i}")) for i in range(2)]
    await asyncio.sleep(0)
    assert batcher.pending == 2
    with pytest.raises(Overloaded) as refused:
        await batcher.submit("one too many")
    assert refused.value.reason == QUEUE_FULL and refused.value.pending == 2
    held.release.set()
    assert await asyncio.gather(running, *queued) == ["score(running)", "score(queued 0)", "score(queued 1)"]
    assert all("one too many" not in batch for batch in held.batches)
    await batcher.close()


async def test_a_budget_that_runs_out_abandons_the_text_and_it_is_never_scored(executor) -> None:
    held = Held()
    batcher = MicroBatcher(held, executor, max_batch=4, max_wait=0)
    running = asyncio.create_task(batcher.submit("running"))
    await started(held)
    with pytest.raises(Overloaded) as late:
        await batcher.submit("in a hurry", within=0.05)
    assert late.value.reason == DEADLINE
    assert batcher.pending == 0  # the abandoned text no longer counts as waiting
    patient = asyncio.create_task(batcher.submit("patient"))
    await asyncio.sleep(0)
    held.release.set()
    assert await running == "score(running)" and await patient == "score(patient)"
    assert held.batches == [["running"], ["patient"]]
    await batcher.close()


async def test_a_wait_longer_than_the_budget_is_refused_without_queueing(executor) -> None:
    gate = threading.Event()
    calls: list[list[str]] = []

    def slow(texts: Sequence[str]) -> list[str]:
        calls.append(list(texts))
        gate.wait(0.2)  # a model that takes 0.2 s a batch (the gate is never set)
        return list(texts)

    batcher = MicroBatcher(slow, executor, max_batch=1, max_wait=0)
    assert batcher.expected_wait() == 0.0  # nothing known yet: nobody is refused on a guess
    await batcher.submit("first")
    assert batcher.seconds_per_text is not None and batcher.seconds_per_text >= 0.2
    # Nothing runs or waits: one text takes a batch's time, longer than a budget of 0.01 s.
    with pytest.raises(Overloaded) as refused:
        await batcher.submit("second", within=0.01)
    assert refused.value.reason == WAIT and refused.value.expected_wait >= 0.2
    assert calls == [["first"]] and batcher.pending == 0
    # A budget the model can meet is served.
    assert await batcher.submit("third", within=30) == "third"
    await batcher.close()


def test_a_bound_below_one_is_refused(executor) -> None:
    with pytest.raises(ValueError, match="max_pending"):
        MicroBatcher(lambda texts: list(texts), executor, max_batch=4, max_wait=0, max_pending=0)


async def test_a_batch_takes_no_more_than_it_can_score_before_its_soonest_deadline(executor) -> None:
    batches: list[list[str]] = []

    def record(texts: Sequence[str]) -> list[str]:
        batches.append(list(texts))
        return list(texts)

    batcher = MicroBatcher(record, executor, max_batch=8, max_wait=0)
    batcher.seconds_per_text = 1.0  # as if the recent batches took a second a text
    # "hurry" has 1.5 s: with "patient" in its batch (2 s) it would be late, so it goes alone, and the two patient
    # ones (10 s each) share the next batch.
    results = await asyncio.gather(
        batcher.submit("hurry", within=1.5), batcher.submit("patient 1", within=10), batcher.submit("patient 2")
    )
    assert results == ["hurry", "patient 1", "patient 2"]
    assert batches == [["hurry"], ["patient 1", "patient 2"]]
    await batcher.close()
