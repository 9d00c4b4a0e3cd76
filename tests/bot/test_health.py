"""Health that follows the components: /healthz, /readyz, /livez, the status command and the component gauges,
in process and against a real ``steward run``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import StewardApp
from bot.commands import CommandInvocation
from bot.events import MessageCreated
from domain import Actor, Room
from tests.support import RecordingAdapter, steward_env

ADMIN = Actor(platform="test", id="admin")
ROOM = Room("test", "g", "c")


class DownAdapter(RecordingAdapter):
    def health(self) -> dict[str, Any]:
        return {"up": False, "reason": "gateway disconnected 12s ago", "latency_ms": None}


async def get(app: StewardApp, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{app.http.url}{path}") as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


async def status_text(app: StewardApp) -> str:
    reply = await app.commands.invoke(CommandInvocation.parse("status", actor=ADMIN, room=ROOM, is_admin=True))
    return reply.text


@pytest.fixture
async def http_app(make_settings, adapter, clock) -> AsyncIterator[StewardApp]:
    app = StewardApp(
        make_settings(http={"enabled": True, "port": 0}, cogs={"enabled": []}), adapters=[adapter], clock=clock
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_all_up_is_ok_on_every_endpoint_with_each_core_component(http_app) -> None:
    status, body = await get(http_app, "/healthz")
    assert status == 200 and body["status"] == "ok" and body["problems"] == []
    for name in ("database", "scheduler", "bus", "event_loop", "http", "test"):
        assert body["components"][name]["up"] is True, name
        assert body["components"][name]["required"] is True, name
    assert body["components"]["test"]["kind"] == "adapter" and body["adapters"]["test"]["up"] is True
    assert "lag_seconds" in body["components"]["event_loop"] and "event_loop_lag_seconds" in body
    assert (await get(http_app, "/readyz"))[0] == 200
    status, live = await get(http_app, "/livez")
    assert status == 200 and live["status"] == "alive"
    _, metrics = await get(http_app, "/metrics")
    assert 'steward_component_up{component="database"} 1.0' in metrics
    assert 'steward_component_up{component="test"} 1.0' in metrics
    assert "steward_event_loop_lag_seconds" in metrics


async def test_a_toxicity_model_that_cannot_load_makes_steward_degraded_and_says_why(
    make_settings, adapter, clock, tmp_path
) -> None:
    missing = tmp_path / "nowhere" / "model.onnx"
    app = StewardApp(
        make_settings(
            http={"enabled": True, "port": 0},
            cogs={"enabled": ["toxicity"]},
            toxicity={"enabled": True, "backend": "onnx", "onnx_path": str(missing)},
        ),
        adapters=[adapter],
        clock=clock,
    )
    await app.start()
    try:
        await app.cogs.cogs["toxicity"].scorer.wait_loaded()
        status, body = await get(app, "/healthz")
        assert status == 503 and body["status"] == "degraded"
        toxicity = body["components"]["toxicity"]
        assert toxicity["up"] is False and toxicity["required"] is True and toxicity["detoxify"] == "failed"
        # The fast model answers meanwhile: messages are still scored.
        assert toxicity["backend"] == "fast" and toxicity["detoxify_runtime"] == "onnx"
        assert toxicity["detoxify_reason"] == f"no ONNX model at {missing}"
        assert body["problems"][0] == (
            f"toxicity: Detoxify not loaded: no ONNX model at {missing} (the fast model answers meanwhile)"
        )
        status, ready = await get(app, "/readyz")
        assert status == 503 and ready["status"] == "not_ready" and ready["problems"] == body["problems"]
        assert (await get(app, "/livez"))[0] == 200
        text = await status_text(app)
        assert (
            "status: degraded" in text and f"problem: toxicity: Detoxify not loaded: no ONNX model at {missing}" in text
        )
        _, metrics = await get(app, "/metrics")
        assert 'steward_component_up{component="toxicity"} 0.0' in metrics
    finally:
        await app.stop()


async def test_toxicity_that_only_logs_is_reported_down_but_does_not_degrade(
    make_settings, adapter, clock, tmp_path
) -> None:
    quiet = dict.fromkeys(("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack"), "log")
    app = StewardApp(
        make_settings(
            cogs={"enabled": ["toxicity"]},
            toxicity={
                "enabled": True,
                "backend": "onnx",
                "onnx_path": str(tmp_path / "missing.onnx"),
                "agent_actions": {**quiet, "sexual_explicit": "ignore"},
                "human_actions": {**quiet, "sexual_explicit": "log"},
            },
        ),
        adapters=[adapter],
        clock=clock,
    )
    await app.start()
    try:
        await app.cogs.cogs["toxicity"].scorer.wait_loaded()
        report = app.health()
        assert report["status"] == "ok" and report["problems"] == []
        assert report["components"]["toxicity"]["up"] is False
        assert report["components"]["toxicity"]["required"] is False
        assert report["notes"][0].startswith("toxicity: Detoxify not loaded: ")
        assert "toxicity: down (Detoxify not loaded: " in await status_text(app)
    finally:
        await app.stop()


async def test_an_adapter_that_is_down_makes_healthz_and_readyz_503_with_its_reason(make_settings, clock) -> None:
    app = StewardApp(
        make_settings(http={"enabled": True, "port": 0}, cogs={"enabled": []}), adapters=[DownAdapter()], clock=clock
    )
    await app.start()
    try:
        status, body = await get(app, "/healthz")
        assert status == 503 and body["problems"] == ["test: gateway disconnected 12s ago"]
        assert body["adapters"]["test"]["reason"] == "gateway disconnected 12s ago"
        assert (await get(app, "/readyz"))[0] == 503
        assert (await get(app, "/livez"))[0] == 200
        text = await status_text(app)
        assert "adapters: test (down)" in text and "test: down (gateway disconnected 12s ago)" in text
    finally:
        await app.stop()


async def test_a_probe_that_raises_is_that_component_down_never_a_traceback(http_app) -> None:
    def broken() -> dict[str, Any]:
        raise KeyError("rooms")

    http_app.core.health_probes["presence"] = broken
    http_app.core.health_probes["database"] = lambda: {"up": True, "path": "elsewhere"}
    http_app.core.health_probes["sentiment"] = lambda: {"up": False, "required": False, "reason": "webhook slow"}
    status, body = await get(http_app, "/healthz")
    assert status == 503
    assert body["components"]["presence"] == {
        "up": False,
        "required": True,
        "kind": "cog",
        "reason": "KeyError('rooms')",
    }
    assert body["problems"] == ["presence: KeyError('rooms')"]
    assert body["components"]["database"]["kind"] == "core"
    assert body["notes"] == ["sentiment: webhook slow"]
    assert "Traceback" not in json.dumps(body)
    del http_app.core.health_probes["presence"]
    status, body = await get(http_app, "/healthz")
    assert status == 200 and body["status"] == "ok" and body["notes"] == ["sentiment: webhook slow"]
    _, metrics = await get(http_app, "/metrics")
    assert 'component="presence"' not in metrics


async def test_a_port_that_cannot_be_bound_leaves_the_bot_running_and_health_says_so(http_app, clock) -> None:
    port = http_app.http.bound_port
    second = StewardApp(
        http_app.settings.model_copy(
            update={
                "http": http_app.settings.http.model_copy(update={"port": port}),
                "database": http_app.settings.database.model_copy(update={"path": http_app.db.path.with_suffix(".2")}),
            }
        ),
        adapters=[RecordingAdapter()],
        clock=clock,
    )
    await second.start()
    try:
        report = second.health()
        http = report["components"]["http"]
        assert http["up"] is False and f"cannot listen on 127.0.0.1:{port}" in http["reason"]
        assert "address already in use" in http["reason"].lower()
        assert report["status"] == "degraded" and report["problems"][0].startswith("http: cannot listen on")
        assert "http: down (cannot listen on" in await status_text(second)
        # The chat goes on.
        assert await second.publish(MessageCreated(room=ROOM, message_id="1", author=Actor("test", "u"), text="x"))
    finally:
        await second.stop()


async def test_readyz_is_503_until_start_completes(make_settings, adapter, clock) -> None:
    app = StewardApp(
        make_settings(http={"enabled": True, "port": 0}, cogs={"enabled": []}), adapters=[adapter], clock=clock
    )
    await app.db.open()
    await app.http.start()
    try:
        status, body = await get(app, "/readyz")
        assert status == 503 and "steward: start not complete" in body["problems"]
        status, body = await get(app, "/healthz")
        assert status == 503 and body["status"] == "starting"
        assert (await get(app, "/livez"))[0] == 200
    finally:
        await app.http.stop()
        await app.db.close()


async def test_a_database_that_does_not_answer_is_reported_with_its_error(http_app) -> None:
    assert http_app.health()["components"]["database"]["up"] is True
    await http_app.db.close()
    try:
        assert not await http_app.monitor.database.check()
        status, body = await get(http_app, "/healthz")
        assert status == 503
        assert body["components"]["database"]["reason"] == "RuntimeError('the database is not open')"
    finally:
        await http_app.db.open()
    assert await http_app.monitor.database.check()
    assert (await get(http_app, "/healthz"))[0] == 200


async def test_a_stopped_scheduler_and_a_stuck_bus_are_down(make_settings, adapter, clock) -> None:
    app = StewardApp(make_settings(cogs={"enabled": []}, bus={"shards": 1, "queue_size": 2}), adapters=[adapter])
    await app.start()
    try:
        await app.bus.stop(drain=False)  # the listeners stop taking events: the queue fills
        for n in range(3):
            app.bus.publish_nowait(MessageCreated(room=ROOM, message_id=str(n), author=Actor("test", "u"), text="x"))
        monitor = app.monitor
        monitor.bus.sample(time.monotonic() - monitor.bus.stuck_after - 1)
        bus = app.health()["components"]["bus"]
        assert bus["up"] is False and "full for" in bus["reason"]
        assert bus["pending"] == 2 and bus["dropped"] == 1
        await app.scheduler.shutdown()
        await asyncio.sleep(0)
        report = app.health()
        assert report["components"]["scheduler"]["reason"] == "APScheduler is not running"
        assert {p.split(":")[0] for p in report["problems"]} == {"bus", "scheduler"}
    finally:
        await app.bus.start()
        await app.stop()


async def test_a_lagging_loop_makes_livez_503(http_app) -> None:
    watchdog = http_app.monitor.watchdog
    watchdog.tick(watchdog.wedged_after + 1, time.monotonic())
    status, body = await get(http_app, "/livez")
    assert status == 503 and body["status"] == "wedged" and body["event_loop_lag_seconds"] >= watchdog.wedged_after
    report = http_app.health()
    assert report["components"]["event_loop"]["up"] is False and "event loop lagging" in report["problems"][0]


# --- the real process ------------------------------------------------------------------------------------------


async def _read_until(stream: asyncio.StreamReader, lines: list[str], event: str) -> dict:
    async with asyncio.timeout(90):
        while True:
            raw = await stream.readline()
            if not raw:
                raise AssertionError(f"steward ended before {event}: {lines}")
            lines.append(raw.decode())
            record = json.loads(raw)
            if record["event"] == event:
                return record


async def test_steward_run_with_a_configured_model_that_cannot_load_answers_503_naming_toxicity(tmp_path) -> None:
    (tmp_path / "steward.toml").write_text(
        '[database]\npath = "state/steward.db"\n[http]\nport = 0\n[logging]\nformat = "json"\n'
        '[cogs]\nenabled = ["toxicity", "moderator"]\n'
        '[toxicity]\nbackend = "onnx"\nonnx_path = "models/missing.onnx"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--log-stderr",
        cwd=tmp_path, env=steward_env(), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        listening = await _read_until(proc.stderr, lines, "http_listening")
        # The model's failure may come before the listener (the fast model loads first) or after.
        if not any(json.loads(line)["event"] == "toxicity_model_unavailable" for line in lines):
            await _read_until(proc.stderr, lines, "toxicity_model_unavailable")
        url = f"http://127.0.0.1:{listening['port']}"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/healthz") as resp:
                assert resp.status == 503
                body = await resp.json()
            async with session.get(f"{url}/livez") as resp:
                assert resp.status == 200
            async with session.get(f"{url}/readyz") as resp:
                assert resp.status == 503
        assert body["status"] == "degraded"
        assert body["problems"][0] == (
            "toxicity: Detoxify not loaded: no ONNX model at models/missing.onnx (the fast model answers meanwhile)"
        )
        assert body["components"]["toxicity"]["backend"] == "fast"
        assert body["components"]["console"]["up"] is True
        proc.stdin.write(b"/status\n")
        await proc.stdin.drain()
        proc.stdin.close()
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert "status: degraded" in out.decode() and "problem: toxicity: Detoxify not loaded" in out.decode()
    lines += err.decode().splitlines(keepends=True)
    for line in lines:
        record = json.loads(line)
        assert {"level", "logger", "timestamp", "event"} <= record.keys(), line
