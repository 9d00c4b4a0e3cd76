"""Start a coroutine at once, and make a Task of it only if it has to wait.

Most listeners finish without ever waiting (a cache hit, pure computation over a room's state), and a Task for
each of them is the larger part of what the bus spends on an event: the Task, its first step scheduled through
the loop, its done callbacks, its timeout. ``start_eagerly`` runs the coroutine's first step at once, the way a
Task would run it:

- in a copy of the caller's context (a context variable the coroutine sets stays its own);
- with ``asyncio.current_task()`` answering a stand-in for the coroutine's own task, not the caller's: what binds
  itself to the current task in that step (``asyncio.timeout``, ``TaskGroup``, aiohttp's timers) is bound to the
  Task that goes on with the coroutine if it suspends, and never cancels the caller.

When the coroutine suspends on a future, the suspended coroutine is handed to a Task that goes on from where it
stopped, in that same context; a coroutine that returns in its first step costs no Task at all. (Python 3.12 has
this as ``eager_start``; Steward runs on 3.11.)
"""

from __future__ import annotations

import asyncio
import contextvars
from asyncio.tasks import _enter_task, _leave_task
from collections.abc import Awaitable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Finished(Generic[T]):
    """A coroutine that returned in its first step, and what it returned."""

    value: T


class _Resumed(Coroutine[Any, Any, T]):
    """A coroutine already started and suspended, as a Task sees a fresh one: the Task's first ``send(None)``
    answers what the coroutine yielded when it suspended; everything after goes to the coroutine itself."""

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, T], yielded: Any) -> None:
        self._coro = coro
        self._first: tuple[Any] | None = (yielded,)

    def send(self, value: Any) -> Any:
        first = self._first
        if first is not None:
            self._first = None
            return first[0]
        return self._coro.send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._first = None
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._first = None
        self._coro.close()

    def __await__(self) -> Generator[Any, None, T]:
        raise TypeError("a resumed coroutine is driven by its Task only")


class _FirstStep:
    """What ``asyncio.current_task()`` answers during the first step: the coroutine's task to be. A cancellation
    asked for before that task exists is passed on to it when it is made."""

    __slots__ = ("cancel_messages", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.cancel_messages: list[Any] = []

    def cancel(self, msg: Any = None) -> bool:
        if self.task is not None:
            return self.task.cancel(msg)
        self.cancel_messages.append(msg)
        return True

    def cancelling(self) -> int:
        return self.task.cancelling() if self.task is not None else len(self.cancel_messages)

    def uncancel(self) -> int:
        if self.task is not None:
            return self.task.uncancel()
        if self.cancel_messages:
            self.cancel_messages.pop()
        return len(self.cancel_messages)

    def done(self) -> bool:
        return self.task.done() if self.task is not None else False

    def __getattr__(self, name: str) -> Any:
        if self.task is None:
            raise AttributeError(f"{name}: the task does not exist yet (its coroutine is in its first step)")
        return getattr(self.task, name)


def start_eagerly(coro: Awaitable[T], *, name: str | None = None) -> Finished[T] | asyncio.Future[T]:
    """Run ``coro`` up to its first wait: ``Finished`` with its value when it returned, else a Task that finishes
    it. An exception raised in the first step propagates to the caller (as awaiting the Task would raise it).
    An awaitable that is not a coroutine (a future) is simply wrapped, as ``asyncio.ensure_future`` does."""
    if not isinstance(coro, Coroutine):
        return asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    caller = asyncio.current_task(loop)
    stand_in = _FirstStep()
    first_step = cast("asyncio.Task[Any]", stand_in)  # asyncio only keeps it, and hands it to current_task()
    if caller is not None:
        _leave_task(loop, caller)
    _enter_task(loop, first_step)
    try:
        yielded = context.run(coro.send, None)
    except StopIteration as stop:
        return Finished(stop.value)
    finally:
        _leave_task(loop, first_step)
        if caller is not None:
            _enter_task(loop, caller)
    task: asyncio.Task[T] = loop.create_task(_Resumed(coro, yielded), name=name, context=context)
    stand_in.task = task
    for message in stand_in.cancel_messages:
        task.cancel(message)
    return task
