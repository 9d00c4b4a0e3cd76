"""Discord adapter throughput on this machine, against the local fake Discord (no network, no token).

Measures (1) gateway ingest: MESSAGE_CREATE dispatches -> MessageCreated on the bus, a second; (2) agent posts:
publisher.submit -> webhook execution round trips, a second; (3) button clicks: time from the INTERACTION_CREATE
dispatch to the deferral reaching Discord (which wants it within 3 seconds). No cogs run, so the numbers are the
adapter's and discord.py's own cost. Run: ``.venv/bin/python benchmarks/discord_gateway.py [messages] [posts]
[clicks]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord.gateway
import discord.http
import yarl

from adapters.discord import create_adapter
from bot.actions import SendApprovalPrompt
from bot.app import StewardApp
from bot.config import load_settings
from bot.events import MessageCreated
from bot.logging import configure_logging
from domain import Room
from storage.core import AgentRecord
from tests.e2e.discord.fake_discord import FakeDiscord


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


seen: list[float] = []


async def _until(predicate, within: float = 20.0) -> None:
    deadline = time.perf_counter() + within
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the benchmark stalled ({len(seen)} seen)")
        await asyncio.sleep(0.001)


async def main(messages: int, posts: int, clicks: int) -> None:
    configure_logging("ERROR", "json")
    for name in list(os.environ):
        if name.startswith(("STEWARD_", "DISCORD_")):
            del os.environ[name]
    os.environ["STEWARD_DISCORD__TOKEN"] = "benchmark-token"
    fake = FakeDiscord()
    guild = fake.add_guild("bench")
    channel = fake.add_channel(guild["id"], "general")
    alice = fake.user("alice")
    fake.add_member(guild["id"], alice)
    await fake.start()
    discord.http.Route.BASE = f"http://127.0.0.1:{fake.port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{fake.port}/")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": f"{tmp}/steward.db"},
                "http": {"enabled": False},
                "logging": {"level": "ERROR"},
                "cogs": {"enabled": []},
                "discord": {"guild_ready_timeout": 0.05, "sync_commands": False},
            }
        )
        app = StewardApp(settings, adapters=[create_adapter(settings)])

        async def count(event: MessageCreated) -> None:
            seen.append(time.perf_counter())

        app.bus.subscribe(MessageCreated, count)
        await app.start()
        try:
            # (1) ingest
            started = time.perf_counter()
            for i in range(messages):
                await fake.user_says(channel["id"], alice, f"message number {i}")

            # All in one room: one bus shard takes them in order; what finds its queue full past the bus's
            # put timeout is dropped and counted (backpressure), so wait for arrivals plus drops.
            def dropped() -> int:
                return int(app.metrics.value("steward_events_dropped_total", event="MessageCreated"))

            await _until(lambda: len(seen) + dropped() >= messages)
            ingest = len(seen) / (seen[-1] - started)

            # (2) agent posts through the publisher and the channel webhook
            await app.agents.register(AgentRecord(name="bench", platform="discord", owner_id=alice["id"]))
            room = Room("discord", guild["id"], channel["id"])
            started = time.perf_counter()
            for i in range(posts):
                result = await app.publisher.submit("bench", room, f"agent post {i}")
                assert result.posted, result
            post_rate = posts / (time.perf_counter() - started)

            # (3) clicks: dispatch -> deferral received
            prompt = await app.router.perform(
                SendApprovalPrompt(target_platform="discord", user_id=alice["id"], text="?", kind="bench", key="1")
            )
            assert prompt.ok, prompt
            custom_id = fake.messages[prompt.message_id]["components"][0]["components"][0]["custom_id"]
            latencies = []
            for _ in range(clicks):
                before = len(fake.interaction_responses)
                sent = time.perf_counter()
                interaction = await fake.click(prompt.message_id, custom_id, alice)
                await _until(
                    lambda interaction=interaction, before=before: any(
                        r["token"] == interaction["token"] for r in fake.interaction_responses[before:]
                    )
                )
                latencies.append((time.perf_counter() - sent) * 1000)
            lost = dropped()
        finally:
            await app.stop()
            await fake.stop()
    print(f"gateway ingest: {messages} messages, {ingest:.0f} messages/s reach the bus, {lost} dropped by the bus")
    print(f"agent posts: {posts} posts, {post_rate:.0f} posts/s (submit -> webhook -> message id)")
    print(
        f"button clicks: {clicks} clicks, deferral after p50 {_percentile(latencies, 0.5):.1f} ms, "
        f"p99 {_percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms (Discord allows 3000 ms)"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [2000, 300, 200][len(args) :])))
