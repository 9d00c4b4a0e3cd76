"""Health benchmark: what one health report costs, and /healthz's latency over loopback.

    python -m benchmarks.health_bench [--reports 2000] [--requests 300]

Runs a StewardApp with every default cog (toxicity disabled: no model), a SQLite file in a temporary directory
and an in-memory platform adapter, then times ``StewardApp.health()`` (every probe, the component gauges) and
``GET /healthz`` with aiohttp over 127.0.0.1, and prints the watchdog's largest loop lag seen meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import aiohttp

from bot.app import StewardApp
from bot.config import load_settings
from bot.logging import configure_logging
from tests.support import RecordingAdapter


async def bench(reports: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": f"{tmp}/steward.db"},
                "http": {"enabled": True, "port": 0},
                "toxicity": {"enabled": False},
                "logging": {"level": "ERROR"},
            }
        )
        app = StewardApp(settings, adapters=[RecordingAdapter()])
        await app.start()
        try:
            started = time.perf_counter()
            for _ in range(reports):
                app.health()
            per_report = (time.perf_counter() - started) / reports * 1e6
            latencies = []
            async with aiohttp.ClientSession() as session:
                for _ in range(requests):
                    started = time.perf_counter()
                    async with session.get(f"{app.http.url}/healthz") as resp:
                        await resp.read()
                    latencies.append((time.perf_counter() - started) * 1000)
            latencies.sort()
            components = len(app.health()["components"])
            print(f"components: {components}; health(): {per_report:.0f} us a report")
            print(
                f"GET /healthz: p50 {latencies[len(latencies) // 2]:.2f} ms, "
                f"p99 {latencies[int(len(latencies) * 0.99) - 1]:.2f} ms over {requests} requests"
            )
            print(f"largest event loop lag seen: {app.monitor.watchdog.max_lag * 1000:.1f} ms")
        finally:
            await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    configure_logging("ERROR", "json")
    asyncio.run(bench(args.reports, args.requests))


if __name__ == "__main__":
    main()
