from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bot.app import StewardApp
from bot.clock import ManualClock, SystemClock


async def test_a_durable_timer_survives_a_restart_and_fires_once(make_settings, adapter) -> None:
    settings = make_settings(cogs={"enabled": []})
    clock = ManualClock(1000.0)
    fired: list[tuple[str, Mapping[str, Any]]] = []

    async def handler(key: str, payload: Mapping[str, Any]) -> None:
        fired.append((key, payload))

    first = StewardApp(settings, adapters=[adapter], clock=clock)
    first.scheduler.register_handler("invite.expiry", handler)
    await first.start()
    await first.scheduler.schedule_at("invite.expiry", "17", 1600.0, {"room": "test:g:c"})
    await first.stop()
    assert fired == []

    clock.set(2000.0)  # the bot was down when it fell due
    second = StewardApp(settings, adapters=[type(adapter)()], clock=clock)
    second.scheduler.register_handler("invite.expiry", handler)
    await second.start()
    try:
        assert await second.scheduler.fire_due() == 1
        assert fired == [("17", {"room": "test:g:c"})]
        assert await second.scheduler.fire_due() == 0
        assert await second.scheduler.timers.all() == []
    finally:
        await second.stop()


async def test_a_failing_timer_stays_stored_for_the_next_start(make_settings, adapter, clock) -> None:
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter], clock=clock)

    async def broken(key: str, payload: Mapping[str, Any]) -> None:
        raise RuntimeError("platform down")

    app.scheduler.register_handler("k", broken)
    await app.start()
    try:
        await app.scheduler.schedule_at("k", "1", clock.now() - 1)
        assert await app.scheduler.fire_due() == 0
        assert [t.key for t in await app.scheduler.timers.all()] == ["1"]
        assert await app.scheduler.cancel("k", "1")
        assert await app.scheduler.timers.all() == []
    finally:
        await app.stop()


async def test_with_the_system_clock_apscheduler_fires_the_timer(make_settings, adapter) -> None:
    clock = SystemClock()
    app = StewardApp(make_settings(cogs={"enabled": []}), adapters=[adapter], clock=clock)
    done = asyncio.Event()

    async def handler(key: str, payload: Mapping[str, Any]) -> None:
        done.set()

    app.scheduler.register_handler("soon", handler)
    await app.start()
    try:
        await app.scheduler.schedule_at("soon", "a", clock.now() + 0.05)
        await asyncio.wait_for(done.wait(), 10)
        for _ in range(100):  # the row goes once the handler returned
            if not await app.scheduler.timers.all():
                break
            await asyncio.sleep(0.02)
        assert await app.scheduler.timers.all() == []
    finally:
        await app.stop()
