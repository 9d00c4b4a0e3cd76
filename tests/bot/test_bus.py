from __future__ import annotations

import asyncio

import pytest

from bot.actions import SendMessage
from bot.bus import EventBus
from bot.events import Event, MessageCreated, MessageDeleted
from bot.metrics import Metrics
from domain import Actor, Room

ROOM = Room("test", "g", "c")


def message(n: int, room: Room = ROOM) -> MessageCreated:
    return MessageCreated(room=room, message_id=str(n), author=Actor("test", "u"), text=f"m{n}")


async def test_listeners_are_keyed_by_class_and_hear_subclasses() -> None:
    bus = EventBus(Metrics())
    heard: list[str] = []

    async def on_any(event: Event) -> None:
        heard.append(f"any:{type(event).__name__}")

    async def on_message(event: MessageCreated) -> None:
        heard.append("message")

    bus.subscribe(Event, on_any)
    bus.subscribe(MessageCreated, on_message)
    await bus.dispatch(message(1))
    await bus.dispatch(MessageDeleted(room=ROOM, message_id="1"))
    assert sorted(heard) == ["any:MessageCreated", "any:MessageDeleted", "message"]


async def test_subscribe_refuses_anything_but_an_event_class() -> None:
    bus = EventBus(Metrics())

    async def cb(event: Event) -> None:
        return None

    with pytest.raises(TypeError):
        bus.subscribe("MessageCreated", cb)  # type: ignore[arg-type]


async def test_a_failing_listener_is_isolated_logged_and_counted() -> None:
    metrics = Metrics()
    bus = EventBus(metrics)
    heard: list[str] = []

    async def broken(event: MessageCreated) -> None:
        raise RuntimeError("boom")

    async def fine(event: MessageCreated) -> None:
        heard.append(event.message_id)

    bus.subscribe(MessageCreated, broken, owner="bad", name="bad.broken")
    bus.subscribe(MessageCreated, fine, owner="good")
    await bus.start()
    await bus.publish(message(1))
    await bus.publish(message(2))
    await bus.join()
    await bus.stop()
    assert heard == ["1", "2"]
    assert metrics.value("steward_listener_errors_total", cog="bad", listener="bad.broken") == 2


async def test_listeners_of_one_event_run_concurrently() -> None:
    bus = EventBus(Metrics())
    both_started = asyncio.Event()
    started = 0

    async def slow(event: MessageCreated) -> None:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), 5)

    bus.subscribe(MessageCreated, slow, name="a")
    bus.subscribe(MessageCreated, slow, name="b")
    await bus.dispatch(message(1))  # would time out if the two ran one after the other
    assert started == 2


async def test_events_of_one_room_are_handled_in_order() -> None:
    bus = EventBus(Metrics(), shards=4)
    seen: dict[str, list[int]] = {}

    async def record(event: MessageCreated) -> None:
        await asyncio.sleep(0)
        seen.setdefault(event.room.channel, []).append(int(event.message_id))

    bus.subscribe(MessageCreated, record)
    await bus.start()
    for n in range(200):
        await bus.publish(message(n, Room("test", "g", f"c{n % 7}")))
    await bus.join()
    await bus.stop()
    for channel, numbers in seen.items():
        assert numbers == sorted(numbers), channel
    assert sum(len(v) for v in seen.values()) == 200


async def test_a_full_queue_drops_and_counts_never_silently() -> None:
    metrics = Metrics()
    bus = EventBus(metrics, shards=1, queue_size=2, put_timeout=0.01)
    # Not started: nothing drains the queue.
    results = [await bus.publish(message(n)) for n in range(5)]
    assert results == [True, True, False, False, False]
    assert metrics.value("steward_events_dropped_total", event="MessageCreated") == 3
    assert bus.publish_nowait(message(9)) is False
    assert metrics.value("steward_events_dropped_total", event="MessageCreated") == 4


async def test_publish_waits_for_room_when_the_consumer_catches_up() -> None:
    metrics = Metrics()
    bus = EventBus(metrics, shards=1, queue_size=1, put_timeout=5)
    handled: list[str] = []

    async def record(event: MessageCreated) -> None:
        handled.append(event.message_id)

    bus.subscribe(MessageCreated, record)
    await bus.start()
    for n in range(20):
        assert await bus.publish(message(n))
    await bus.join()
    await bus.stop()
    assert handled == [str(n) for n in range(20)]
    assert metrics.value("steward_events_dropped_total", event="MessageCreated") == 0


async def test_returned_actions_reach_the_action_sink() -> None:
    bus = EventBus(Metrics())
    routed = []

    async def sink(actions, event) -> None:
        routed.extend(actions)

    async def reply(event: MessageCreated) -> SendMessage:
        return SendMessage(room=event.room, text="seen")

    async def bad_return(event: MessageCreated) -> list[str]:
        return ["not an action"]

    bus.action_sink = sink
    bus.subscribe(MessageCreated, reply)
    bus.subscribe(MessageCreated, bad_return)
    await bus.dispatch(message(1))
    assert routed == [SendMessage(room=ROOM, text="seen")]


async def test_a_listener_over_its_time_is_cancelled_logged_and_counted_and_the_others_keep_theirs() -> None:
    metrics = Metrics()
    bus = EventBus(metrics, listener_timeout=0.05)
    cancelled = asyncio.Event()

    async def stuck(event: MessageCreated) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def waits_then_answers(event: MessageCreated) -> SendMessage:
        await asyncio.sleep(0)
        return SendMessage(room=event.room, text="answered")

    async def answers_at_once(event: MessageCreated) -> SendMessage:
        return SendMessage(room=event.room, text="at once")

    bus.subscribe(MessageCreated, stuck, owner="slow", name="slow.stuck")
    bus.subscribe(MessageCreated, waits_then_answers, owner="ok")
    bus.subscribe(MessageCreated, answers_at_once, owner="ok")
    actions = await bus.dispatch(message(1))
    assert [a.text for a in actions if isinstance(a, SendMessage)] == ["answered", "at once"]
    assert cancelled.is_set()
    assert metrics.value("steward_listener_errors_total", cog="slow", listener="slow.stuck") == 1


async def test_a_listener_that_returns_no_action_is_a_counted_failure_whether_it_waited_or_not() -> None:
    metrics = Metrics()
    bus = EventBus(metrics)

    async def at_once(event: MessageCreated) -> object:
        return "not an action"

    async def later(event: MessageCreated) -> object:
        await asyncio.sleep(0)
        return ["not an action"]

    bus.subscribe(MessageCreated, at_once, owner="bad", name="bad.at_once")
    bus.subscribe(MessageCreated, later, owner="bad", name="bad.later")
    assert await bus.dispatch(message(1)) == []
    assert metrics.value("steward_listener_errors_total", cog="bad", listener="bad.at_once") == 1
    assert metrics.value("steward_listener_errors_total", cog="bad", listener="bad.later") == 1


async def test_a_timeout_a_listener_opens_before_it_first_waits_cancels_that_listener_only() -> None:
    metrics = Metrics()
    bus = EventBus(metrics)
    outcome: list[str] = []

    async def bounded(event: MessageCreated) -> None:
        try:
            async with asyncio.timeout(0.02):
                await asyncio.Event().wait()
        except TimeoutError:
            outcome.append("timed out")

    bus.subscribe(MessageCreated, bounded)
    await bus.start()
    await bus.publish(message(1))
    await bus.join()
    await bus.publish(message(2))  # the shard's worker was not the one cancelled: it goes on
    await bus.join()
    await bus.stop()
    assert outcome == ["timed out", "timed out"]
    assert metrics.value("steward_listener_errors_total", cog="core", listener="bounded") == 0


async def test_the_queue_depth_gauge_tells_what_waits_when_it_is_read() -> None:
    metrics = Metrics()
    bus = EventBus(metrics, shards=1)
    await bus.publish(message(1))
    await bus.publish(message(2))
    assert metrics.value("steward_bus_queue_depth") == 2
    await bus.start()
    await bus.join()
    assert metrics.value("steward_bus_queue_depth") == 0
    await bus.stop()


async def test_a_listener_may_dispatch_another_event_and_wait_for_its_listeners() -> None:
    bus = EventBus(Metrics())
    heard: list[str] = []
    caller = asyncio.current_task()

    async def on_message(event: MessageCreated) -> None:
        await bus.dispatch(MessageDeleted(room=event.room, message_id=event.message_id))
        heard.append(f"created {event.message_id}")

    async def on_deleted(event: MessageDeleted) -> None:
        await asyncio.sleep(0)
        heard.append(f"deleted {event.message_id}")

    bus.subscribe(MessageCreated, on_message)
    bus.subscribe(MessageDeleted, on_deleted)
    await bus.dispatch(message(1))
    assert heard == ["deleted 1", "created 1"]
    assert asyncio.current_task() is caller
