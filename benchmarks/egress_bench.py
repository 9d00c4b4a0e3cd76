"""Egress benchmark: what the egress rule costs a webhook delivery, and what the agent API's door costs a request.

    python -m benchmarks.egress_bench [--requests 2000] [--concurrency 20] [--rounds 3]

- deliveries: POSTs of a small signed-size body to a local receiver, through ``EgressClient`` (the receiver's
  address allow-listed, a name resolved through the guarded resolver) and through a plain aiohttp session, rounds
  interleaved so both see the same machine;
- the URL check alone (``EgressPolicy.check_url`` on a public name and on a refused literal);
- the agent API door: requests without a valid token (401 then 429) against a valid-token ``GET /api/v1/rooms``,
  on a real app over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.app import StewardApp
from bot.commands import CommandInvocation
from bot.config import load_settings
from bot.egress import EgressClient, EgressPolicy, EgressRefused
from bot.logging import configure_logging
from bot.metrics import Metrics
from domain import Actor, ActorKind, Room
from tests.support import RecordingAdapter

BODY = b'{"agent":"helper","id":1,"type":"message","data":{"text":"' + b"x" * 300 + b'"}}'


class LocalDns(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        pass


async def timed(send: Callable[[], Awaitable[object]], count: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            start = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - start), latencies


def row(name: str, rate: float, latencies: list[float]) -> str:
    q = statistics.quantiles(latencies, n=100)
    return f"| {name} | {rate:,.0f}/s | {q[49] * 1000:.2f} | {q[98] * 1000:.2f} |"


async def deliveries(args: argparse.Namespace) -> list[str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    guarded = EgressClient(EgressPolicy.parse(["127.0.0.1", "hooks.internal"]), Metrics(), resolver=LocalDns())
    plain = aiohttp.ClientSession()
    headers = {"Content-Type": "application/json"}

    async def via_egress_ip() -> object:
        return await guarded.request("POST", f"http://127.0.0.1:{port}/hook", data=BODY, headers=headers, time_limit=5)

    async def via_egress_name() -> object:
        url = f"http://hooks.internal:{port}/hook"
        return await guarded.request("POST", url, data=BODY, headers=headers, time_limit=5)

    async def via_plain() -> object:
        async with plain.post(f"http://127.0.0.1:{port}/hook", data=BODY, headers=headers) as resp:
            return await resp.read()

    results: dict[str, tuple[list[float], list[float]]] = {}
    try:
        order = [
            ("plain aiohttp", via_plain),
            ("egress, literal", via_egress_ip),
            ("egress, resolved name", via_egress_name),
        ]
        for n in range(args.rounds):
            for name, send in order[n % 3 :] + order[: n % 3]:  # each client goes first in turn
                rate, lat = await timed(send, args.requests, args.concurrency)
                rates, lats = results.setdefault(name, ([], []))
                rates.append(rate)
                lats.extend(lat)
    finally:
        await guarded.close()
        await plain.close()
        await runner.cleanup()
    return [
        row(f"{name} ({args.concurrency} in flight)", statistics.median(r), lat) for name, (r, lat) in results.items()
    ]


def url_checks(count: int = 100_000) -> list[str]:
    policy = EgressPolicy.parse(["10.0.0.0/8"])
    lines = []
    for url in ("https://hooks.example.com/steward", "http://169.254.169.254/latest/meta-data/"):
        start = time.perf_counter()
        for _ in range(count):
            try:
                policy.check_url(url)
            except EgressRefused:
                pass
        lines.append(f"| check_url {url} | {count / (time.perf_counter() - start):,.0f}/s | - | - |")
    return lines


async def door(args: argparse.Namespace, tmp: Path) -> list[str]:
    settings = load_settings(
        data={
            "database": {"path": str(tmp / "steward.db")},
            "http": {"enabled": True, "port": 0},
            "logging": {"level": "WARNING"},
            "toxicity": {"enabled": False},
            "cogs": {"enabled": ["presence"]},
            "presence": {"api_burst": 1_000_000, "api_rate_per_minute": 60_000_000},
        }
    )
    app = StewardApp(settings, adapters=[RecordingAdapter()])
    await app.start()
    owner, room = Actor("test", "alice", ActorKind.HUMAN, "Alice"), Room("test", "g1", "general")
    await app.commands.invoke(CommandInvocation.parse("agent register helper", actor=owner, room=room))
    reply = await app.commands.invoke(CommandInvocation.parse("agent token helper", actor=owner, room=room))
    token = reply.text.splitlines()[-1]
    lines = []
    try:
        async with aiohttp.ClientSession(base_url=app.http.url) as http:
            for name, header in (("valid token", token), ("bad token (401, then 429)", "0123456789abcdef.bad")):

                async def send(header: str = header) -> object:
                    async with http.get("/api/v1/rooms", headers={"Authorization": f"Bearer {header}"}) as resp:
                        return await resp.read()

                rate, lat = await timed(send, args.requests, args.concurrency)
                lines.append(row(f"GET /api/v1/rooms, {name} ({args.concurrency} in flight)", rate, lat))
    finally:
        await app.stop()
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING")
    print("| Operation | Throughput | p50 ms | p99 ms |\n| --- | --- | --- | --- |")
    for line in await deliveries(args):
        print(line)
    for line in url_checks():
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        for line in await door(args, Path(tmp)):
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
