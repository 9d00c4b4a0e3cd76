from __future__ import annotations

import aiohttp

from bot.app import StewardApp
from bot.events import MessageCreated
from domain import Actor, Room


async def test_healthz_and_metrics(make_settings, adapter, clock) -> None:
    app = StewardApp(
        make_settings(http={"enabled": True, "port": 0}, cogs={"enabled": []}), adapters=[adapter], clock=clock
    )
    await app.start()
    try:
        await app.publish(
            MessageCreated(room=Room("test", "g", "c"), message_id="1", author=Actor("test", "u"), text="x")
        )
        await app.bus.join()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{app.http.url}/healthz") as resp:
                assert resp.status == 200
                body = await resp.json()
                assert body["status"] == "ok" and body["adapters"]["test"]["up"] is True
            async with session.get(f"{app.http.url}/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
                assert 'steward_events_total{event="MessageCreated"} 1.0' in text
                assert "steward_events_dropped_total" in text
                assert "steward_listener_errors_total" in text
    finally:
        await app.stop()


async def test_a_busy_port_does_not_stop_the_bot(make_settings, adapter, clock) -> None:
    first = StewardApp(
        make_settings(http={"enabled": True, "port": 0}, cogs={"enabled": []}), adapters=[adapter], clock=clock
    )
    await first.start()
    try:
        port = first.http.bound_port
        second = StewardApp(
            make_settings(
                http={"enabled": True, "port": port}, database={"path": str(first.db.path) + "2"}, cogs={"enabled": []}
            ),
            adapters=[type(adapter)()],
            clock=clock,
        )
        await second.start()
        try:
            assert second.health()["components"]["http"]["up"] is False
        finally:
            await second.stop()
    finally:
        await first.stop()
