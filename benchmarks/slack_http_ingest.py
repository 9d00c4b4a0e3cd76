"""Slack adapter throughput on this machine, against the local mock Slack (no network).

Measures (1) HTTP mode: how long Steward takes to answer Slack's signed event requests (Slack wants an answer within
3 seconds and retries otherwise) and how many events a second reach the bus; (2) agent posts: publisher.submit ->
chat.postMessage round trips a second. Run: ``.venv/bin/python benchmarks/slack_http_ingest.py [events] [posts]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks.slack_env import use_mock_slack_credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import StewardApp
from bot.config import load_settings
from bot.events import MessageCreated
from bot.logging import configure_logging
from domain import Room
from storage.core import AgentRecord
from tests.e2e.slack.mock_slack import (
    TEAM,
    MockSlack,
    event_body,
    message_event,
    sign,
)

CONCURRENCY = 20


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(events: int, posts: int) -> None:
    configure_logging("ERROR", "json")
    use_mock_slack_credentials()
    mock = await MockSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": f"{tmp}/steward.db"},
                "http": {"enabled": True, "port": 0},
                "logging": {"level": "ERROR"},
                "cogs": {"enabled": []},
                "slack": {"mode": "http", "api_base_url": mock.api_url, "user_cache_ttl": 600},
            }
        )
        app = StewardApp(settings)
        await app.start()
        seen = 0
        done = asyncio.Event()

        async def count(event: MessageCreated) -> None:
            nonlocal seen
            seen += 1
            if seen >= events:
                done.set()

        app.bus.subscribe(MessageCreated, count, owner="benchmark")
        assert app.http is not None
        url = f"http://127.0.0.1:{app.http.bound_port}/slack/events"
        bodies = [
            json.dumps(
                event_body(message_event(f"C{i % 50:04d}", f"U{i % 200:04d}", f"message {i}", f"1700000000.{i:06d}"))
            )
            for i in range(events)
        ]
        latencies: list[float] = []
        queue: asyncio.Queue[str] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async with aiohttp.ClientSession() as session:

            async def sender() -> None:
                while not queue.empty():
                    body = queue.get_nowait()
                    headers = {"Content-Type": "application/json", **sign(body)}
                    started = time.perf_counter()
                    async with session.post(url, data=body.encode(), headers=headers) as response:
                        await response.read()
                        assert response.status == 200, response.status
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
            await asyncio.wait_for(done.wait(), 120)
            ingest_seconds = time.perf_counter() - started

        await app.agents.register(AgentRecord(name="bench", platform="slack", owner_id="U0OWNER"))
        room = Room("slack", TEAM, "C0BENCH")
        started = time.perf_counter()
        for i in range(posts):
            result = await app.publisher.submit("bench", room, f"agent message {i}")
            assert result.posted, result
        post_seconds = time.perf_counter() - started
        await app.stop()
    await mock.stop()

    print(f"HTTP mode, {events} signed message events, {CONCURRENCY} concurrent senders (mock Slack, 2 cores)")
    p50, p95, p99 = (1000 * _percentile(latencies, q) for q in (0.5, 0.95, 0.99))
    print(f"  ack latency  p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  max {1000 * max(latencies):.1f} ms")
    print(f"  events published: {events / ingest_seconds:.0f} /s (all {events} on the bus in {ingest_seconds:.2f} s)")
    print(
        f"Agent posts through the publisher (no gate cogs), {posts} sequential: {posts / post_seconds:.0f} /s "
        f"({1000 * post_seconds / posts:.1f} ms each)"
    )


if __name__ == "__main__":
    n_events = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    n_posts = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    asyncio.run(main(n_events, n_posts))
