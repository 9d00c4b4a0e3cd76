"""The event bus: publish by event class, listeners run concurrently, each isolated from the others' failures.

Events are spread over a fixed number of shards by ``event.shard_key`` (the room, for room events): events of
one room are handled in order, rooms proceed in parallel. Each shard has a bounded queue. ``publish`` waits up to
``put_timeout`` for space (backpressure on the producer); an event that still finds no room is dropped, counted
in ``steward_events_dropped_total`` and logged, never silently lost.

The listeners of one event are started one after the other, each at once (``bot.eager``): one that finishes
without waiting costs no Task; those that wait go on concurrently as Tasks, all bounded by one deadline
(``listener_timeout`` from the dispatch), and one still running then is cancelled, logged and counted as a
timed-out listener.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.actions import Action
from bot.eager import Finished, start_eagerly
from bot.events import Event
from bot.logging import get_logger
from bot.metrics import Children, Metrics

log = get_logger("steward.bus")

ActionsLike = Action | Iterable[Action] | None
ListenerFn = Callable[[Any], Awaitable[ActionsLike]]
ActionSink = Callable[[Sequence[Action], Event | None], Awaitable[object]]


@dataclass(frozen=True, eq=False)
class Subscription:
    event_type: type[Event]
    callback: ListenerFn
    owner: str = "core"
    name: str = ""


def as_actions(value: ActionsLike) -> list[Action]:
    if value is None:
        return []
    if isinstance(value, Action):
        return [value]
    actions = list(value)
    for item in actions:
        if not isinstance(item, Action):
            raise TypeError(f"a listener returned {type(item).__name__}, not an Action")
    return actions


@dataclass
class _Shard:
    queue: asyncio.Queue[Event]
    worker: asyncio.Task[None] | None = None


class EventBus:
    def __init__(
        self,
        metrics: Metrics,
        *,
        shards: int = 4,
        queue_size: int = 1000,
        put_timeout: float = 1.0,
        listener_timeout: float = 30.0,
    ) -> None:
        if shards < 1 or queue_size < 1:
            raise ValueError("a bus needs at least one shard and a queue size of at least one")
        self.metrics = metrics
        self.put_timeout = put_timeout
        self.listener_timeout = listener_timeout
        self.queue_size = queue_size
        self.action_sink: ActionSink | None = None
        self._subs: list[Subscription] = []
        self._cache: dict[type[Event], tuple[Subscription, ...]] = {}
        self._shards = [_Shard(asyncio.Queue(maxsize=queue_size)) for _ in range(shards)]
        self._running = False
        self._counted = Children(metrics.events_in)
        # The depth is read when it is scraped: always the present figure, and nothing to keep up per event.
        metrics.queue_depth.set_function(lambda: self.pending)

    # --- subscriptions -------------------------------------------------------------------------------------------

    def subscribe(
        self, event_type: type[Event], callback: ListenerFn, *, owner: str = "core", name: str = ""
    ) -> Subscription:
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise TypeError(f"listeners are keyed by an Event class, got {event_type!r}")
        sub = Subscription(event_type, callback, owner, name or getattr(callback, "__qualname__", repr(callback)))
        self._subs.append(sub)
        self._cache.clear()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._cache.clear()

    def unsubscribe_owner(self, owner: str) -> int:
        before = len(self._subs)
        self._subs = [s for s in self._subs if s.owner != owner]
        self._cache.clear()
        return before - len(self._subs)

    def listeners_for(self, event_type: type[Event]) -> tuple[Subscription, ...]:
        found = self._cache.get(event_type)
        if found is None:
            found = self._cache[event_type] = tuple(s for s in self._subs if issubclass(event_type, s.event_type))
        return found

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for index, shard in enumerate(self._shards):
            shard.worker = asyncio.create_task(self._work(shard), name=f"steward-bus-{index}")

    async def stop(self, *, drain: bool = True, drain_timeout: float = 10.0) -> None:
        if drain and self._running:
            try:
                await asyncio.wait_for(self.join(), drain_timeout)
            except TimeoutError:
                log.warning("bus_stop_drain_timeout", pending=self.pending)
        self._running = False
        for shard in self._shards:
            if shard.worker is not None:
                shard.worker.cancel()
        await asyncio.gather(*(s.worker for s in self._shards if s.worker is not None), return_exceptions=True)
        for shard in self._shards:
            shard.worker = None

    async def join(self) -> None:
        """Wait until every queued event has been handled, including events those handlers published."""
        while any(shard.queue._unfinished_tasks for shard in self._shards):  # type: ignore[attr-defined]
            for shard in self._shards:
                await shard.queue.join()

    @property
    def pending(self) -> int:
        return sum(s.queue.qsize() for s in self._shards)

    @property
    def queue_depths(self) -> list[int]:
        """Events waiting in each shard's queue (health reads it to tell a full queue)."""
        return [s.queue.qsize() for s in self._shards]

    # --- publishing ----------------------------------------------------------------------------------------------

    def _shard_for(self, event: Event) -> _Shard:
        return self._shards[zlib.crc32(event.shard_key.encode()) % len(self._shards)]

    def _count(self, event: Event) -> None:
        self._counted(type(event).__name__).inc()

    async def publish(self, event: Event) -> bool:
        """Queue an event; wait for space up to ``put_timeout``; drop and count it if there is none."""
        self._count(event)
        shard = self._shard_for(event)
        try:
            shard.queue.put_nowait(event)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(shard.queue.put(event), self.put_timeout)
            except TimeoutError:
                return self._dropped(event)
        return True

    def publish_nowait(self, event: Event) -> bool:
        """Queue an event from code that cannot wait; a full queue drops it (counted)."""
        self._count(event)
        try:
            self._shard_for(event).queue.put_nowait(event)
        except asyncio.QueueFull:
            return self._dropped(event)
        return True

    def _dropped(self, event: Event) -> bool:
        name = type(event).__name__
        self.metrics.events_dropped.labels(name).inc()
        log.warning("event_dropped", event_type=name, shard_key=event.shard_key, reason="queue_full")
        return False

    async def dispatch(self, event: Event) -> list[Action]:
        """Run every listener for ``event`` now, concurrently, and route what they return.

        Used by the shard workers, and directly where the caller must know the event was handled before going on
        (replay, the agent publisher's echo).
        """
        subs = self.listeners_for(type(event))
        if not subs:
            return []
        results: list[list[Action]] = []
        waiting: list[tuple[int, Subscription, asyncio.Future[ActionsLike]]] = []
        try:
            for sub in subs:
                try:
                    started = start_eagerly(sub.callback(event))
                except Exception as exc:
                    results.append(self._failed(sub, event, exc))
                    continue
                if isinstance(started, Finished):
                    results.append(self._returned(sub, event, started.value))
                else:
                    waiting.append((len(results), sub, started))
                    results.append([])
        except BaseException:  # cancelled in a listener's first step: the listeners already waiting go with it
            _cancel(task for _, _, task in waiting)
            raise
        if waiting:
            await self._finish(event, waiting, results)
        actions = [action for batch in results for action in batch]
        if actions and self.action_sink is not None:
            await self.action_sink(actions, event)
        return actions

    async def _finish(
        self,
        event: Event,
        waiting: list[tuple[int, Subscription, asyncio.Future[ActionsLike]]],
        results: list[list[Action]],
    ) -> None:
        """Wait for the listeners that had to wait, up to ``listener_timeout``; cancel those still running."""
        tasks = [task for _, _, task in waiting]
        try:
            _done, late = await asyncio.wait(tasks, timeout=self.listener_timeout)
            if late:
                _cancel(late)
                await asyncio.wait(late)
        except BaseException:  # the dispatch itself was cancelled (the bus stops): so are its listeners
            _cancel(tasks)
            raise
        for index, sub, task in waiting:
            results[index] = self._outcome(sub, event, task, timed_out=task in late)

    def _outcome(
        self, sub: Subscription, event: Event, task: asyncio.Future[ActionsLike], *, timed_out: bool
    ) -> list[Action]:
        if task.cancelled():
            return self._failed(sub, event, TimeoutError() if timed_out else asyncio.CancelledError())
        error = task.exception()
        if error is None:
            return self._returned(sub, event, task.result())
        if not isinstance(error, Exception):
            raise error
        return self._failed(sub, event, error)

    def _returned(self, sub: Subscription, event: Event, value: ActionsLike) -> list[Action]:
        try:
            return as_actions(value)
        except TypeError as exc:
            return self._failed(sub, event, exc)

    def _failed(self, sub: Subscription, event: Event, exc: BaseException) -> list[Action]:
        self.metrics.listener_errors.labels(sub.owner, sub.name).inc()
        log.exception(
            "listener_failed",
            cog=sub.owner,
            listener=sub.name,
            event_type=type(event).__name__,
            shard_key=event.shard_key,
            error=repr(exc),
            exc_info=exc,
        )
        return []

    async def _work(self, shard: _Shard) -> None:
        while True:
            event = await shard.queue.get()
            try:
                await self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the action sink failed; the worker must live on
                log.exception("dispatch_failed", event_type=type(event).__name__, error=repr(exc))
            finally:
                shard.queue.task_done()


def _cancel(tasks: Iterable[asyncio.Future[ActionsLike]]) -> None:
    for task in tasks:
        task.cancel()
