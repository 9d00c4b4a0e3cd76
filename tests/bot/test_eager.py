"""Coroutines started at once: the same results, context and task as a Task would have given them."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from bot.eager import Finished, start_eagerly

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


async def test_a_coroutine_that_never_waits_finishes_at_once_without_a_task() -> None:
    async def compute() -> int:
        VAR.set("set by the coroutine")
        return 42

    started = start_eagerly(compute())
    assert started == Finished(42)
    assert VAR.get() == "unset"  # what it set stayed in its own context


async def test_a_coroutine_that_waits_goes_on_in_a_task_in_its_own_context() -> None:
    async def two_steps() -> str:
        VAR.set("mine")
        await asyncio.sleep(0)
        return VAR.get()

    started = start_eagerly(two_steps())
    assert isinstance(started, asyncio.Task)
    assert await started == "mine"
    assert VAR.get() == "unset"


async def test_an_error_in_the_first_step_reaches_the_caller_and_one_later_reaches_the_task() -> None:
    async def at_once() -> None:
        raise ValueError("first step")

    async def later() -> None:
        await asyncio.sleep(0)
        raise ValueError("second step")

    with pytest.raises(ValueError, match="first step"):
        start_eagerly(at_once())
    task = start_eagerly(later())
    assert isinstance(task, asyncio.Task)
    with pytest.raises(ValueError, match="second step"):
        await task


async def test_the_current_task_in_the_first_step_is_the_coroutines_own() -> None:
    caller = asyncio.current_task()

    async def looks() -> bool:
        seen = asyncio.current_task()
        await asyncio.sleep(0)
        return seen is not caller and asyncio.current_task() is not caller

    task = start_eagerly(looks())
    assert isinstance(task, asyncio.Task)
    assert await task
    assert asyncio.current_task() is caller


async def test_timeouts_and_task_groups_opened_in_the_first_step_work_on_the_coroutines_task() -> None:
    async def bounded() -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.Event().wait()
        except TimeoutError:
            return "timed out"
        return "not timed out"

    async def grouped() -> int:
        async with asyncio.TaskGroup() as group:
            first = group.create_task(asyncio.sleep(0, 1))
            second = group.create_task(asyncio.sleep(0, 2))
        return first.result() + second.result()

    bounded_task = start_eagerly(bounded())
    grouped_task = start_eagerly(grouped())
    assert isinstance(bounded_task, asyncio.Task) and isinstance(grouped_task, asyncio.Task)
    assert await bounded_task == "timed out"
    assert await grouped_task == 3
    await asyncio.sleep(0.02)  # the caller was not cancelled by the timeout


async def test_a_cancellation_reaches_the_waiting_coroutine() -> None:
    cleaned = asyncio.Event()

    async def waits() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    task = start_eagerly(waits())
    assert isinstance(task, asyncio.Task)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()


async def test_a_cancellation_asked_for_in_the_first_step_is_delivered_when_it_waits() -> None:
    async def cancels_itself() -> str:
        current = asyncio.current_task()
        assert current is not None
        current.cancel()
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return "cancelled at its first wait"
        return "never cancelled"

    task = start_eagerly(cancels_itself())
    assert isinstance(task, asyncio.Task)
    assert await task == "cancelled at its first wait"
