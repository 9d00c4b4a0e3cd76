"""Presence benchmark: invitation decisions, owner approvals, and the agent API, on a real app.

    python -m benchmarks.presence_bench [--agents 200] [--invitations 2000] [--api 2000] [--concurrency 20]
                                        [--polls 200]

Runs a StewardApp with only the presence cog, a SQLite file in a temporary directory (WAL, as deployed), a
platform adapter that accepts every action at once (so the numbers are Steward's, not a network's), and the HTTP
server on a free port. It measures:

- invitation decisions through ``Coordinator.request`` (facts from SQLite, the policy, the stored decision, the owner
  prompt or the join with its announcement and events), one at a time and ``--concurrency`` at a time;
- owner approvals (conditional update, join, prompt rewrite, reward event);
- ``POST /api/v1/messages`` over HTTP with a real aiohttp client (auth, rate limit, body validation, the publisher
  with its decision log and bus echo), ``--concurrency`` requests in flight;
- long-poll delivery: time from a room message being published on the bus to the waiting ``GET /api/v1/events``
  returning it.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bot.actions import (
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    UpdatePrompt,
)
from bot.adapter import Adapter
from bot.app import StewardApp
from bot.commands import CommandInvocation
from bot.config import load_settings
from bot.events import MessageCreated
from bot.logging import configure_logging
from domain import Actor, ActorKind, Room

OWNER = Actor("bench", "owner", ActorKind.HUMAN, "Owner")
USER = Actor("bench", "user", ActorKind.HUMAN, "User")


class InstantAdapter(Adapter):
    """Accepts every presence action at once."""

    platform = "bench"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        for kind in (
            SendMessage,
            PostAsAgent,
            SendDirectMessage,
            SendApprovalPrompt,
            UpdatePrompt,
            AnswerInteraction,
            AddAgentToChannel,
            RemoveAgentFromChannel,
        ):
            self._performers[kind] = InstantAdapter._ok

    async def _ok(self, action) -> ActionResult:
        self.count += 1
        return ActionResult(ok=True, message_id=f"m{self.count}", channel_id="c")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, seconds: list[float], wall: float) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"| {name} | {len(ms)} | {len(ms) / wall:,.0f}/s | {statistics.median(ms):.2f} | {pct(ms, 0.95):.2f} | "
        f"{pct(ms, 0.99):.2f} |"
    )


async def command(app: StewardApp, line: str, actor: Actor = OWNER) -> str:
    reply = await app.commands.invoke(CommandInvocation.parse(line, actor=actor, room=None, is_admin=True))
    if not reply.ok:
        raise RuntimeError(reply.text)
    return reply.text


async def run(args: argparse.Namespace) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="presence-bench-"))
    settings = load_settings(
        data={
            "database": {"path": str(tmp / "steward.db")},
            "http": {"enabled": True, "port": 0},
            "logging": {"level": "WARNING"},
            "cogs": {"enabled": ["presence"]},
            "presence": {
                "default_join_cooldown_seconds": 0,
                "default_max_rooms": 1000,
                "inviter_max_invitations": 10**9,
                "api_rate_per_minute": 10**9,
                "api_burst": 10**9,
                "announce": True,
            },
        }
    )
    app = StewardApp(settings, adapters=[InstantAdapter()])
    await app.start()
    lines: list[str] = []
    try:
        coordinator = app.cogs.cogs["presence"].coordinator
        for n in range(args.agents):
            await command(app, f"agent register a{n}")
            if n % 2:
                await command(app, f"agent set a{n} approval auto")

        async def invite(i: int) -> tuple[float, str]:
            agent = f"a{i % args.agents}"
            room = Room("bench", "s", f"r{i // args.agents}")
            started = time.perf_counter()
            result = await coordinator.request(agent, room, USER)
            return time.perf_counter() - started, result.outcome

        half = args.invitations // 2
        started = time.perf_counter()
        sequential = [await invite(i) for i in range(half)]
        wall_seq = time.perf_counter() - started
        started = time.perf_counter()
        concurrent: list[tuple[float, str]] = []
        for chunk in range(half, args.invitations, args.concurrency):
            concurrent += await asyncio.gather(
                *(invite(i) for i in range(chunk, min(chunk + args.concurrency, args.invitations)))
            )
        wall_con = time.perf_counter() - started
        outcomes = sorted({o for _, o in sequential + concurrent})

        pending = [i.id for i in await coordinator.store.invitations.list(open_only=True, limit=10**9)]
        approvals: list[float] = []
        started = time.perf_counter()
        for inv_id in pending:
            t0 = time.perf_counter()
            await coordinator.approve(inv_id, OWNER)
            approvals.append(time.perf_counter() - t0)
        wall_app = time.perf_counter() - started

        token = (await command(app, "agent token a1")).splitlines()[-1]
        stays = await coordinator.store.presence.of_agent("a1")
        room_key = stays[0].room
        headers = {"Authorization": f"Bearer {token}"}
        api_times: list[float] = []
        async with aiohttp.ClientSession(base_url=app.http.url) as http:

            async def submit(i: int) -> None:
                t0 = time.perf_counter()
                async with http.post(
                    "/api/v1/messages", headers=headers, json={"room": room_key, "text": f"message number {i}"}
                ) as resp:
                    body = await resp.json()
                    if resp.status != 200 or not body["posted"]:
                        raise RuntimeError(f"submit failed: {resp.status} {body}")
                api_times.append(time.perf_counter() - t0)

            started = time.perf_counter()
            for chunk in range(0, args.api, args.concurrency):
                await asyncio.gather(*(submit(i) for i in range(chunk, min(chunk + args.concurrency, args.api))))
            wall_api = time.perf_counter() - started

            # Long-poll delivery latency.
            room = Room.parse(room_key)
            async with http.get("/api/v1/events?after=0", headers=headers) as resp:
                last = (await resp.json())["next"]
            poll_times: list[float] = []
            for i in range(args.polls):
                waiting = asyncio.create_task(
                    http.get(f"/api/v1/events?after={last}&timeout=10", headers=headers).__aenter__()
                )
                await asyncio.sleep(0.002)  # let the poll reach the server and wait
                t0 = time.perf_counter()
                await app.bus.publish(MessageCreated(room=room, message_id=f"p{i}", author=USER, text="ping"))
                resp = await waiting
                body = await resp.json()
                poll_times.append(time.perf_counter() - t0)
                resp.release()
                last = body["next"]
            wall_poll = sum(poll_times)

        lines += [
            f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}; "
            f"{args.agents} agents (half manual, half auto approval); outcomes seen: {', '.join(outcomes)}.",
            "",
            "| Operation | Count | Throughput | p50 ms | p95 ms | p99 ms |",
            "| --- | --- | --- | --- | --- | --- |",
            row("invitation decided (one at a time)", [t for t, _ in sequential], wall_seq),
            row(f"invitation decided ({args.concurrency} concurrent)", [t for t, _ in concurrent], wall_con),
            row("owner approval -> join", approvals, wall_app),
            row(f"POST /api/v1/messages ({args.concurrency} in flight)", api_times, wall_api),
            row("room message -> long-poll answer", poll_times, wall_poll),
        ]
    finally:
        await app.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--invitations", type=int, default=2000)
    parser.add_argument("--api", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    configure_logging("WARNING", "json")
    print("\n".join(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
