"""The ``[discord]`` section: bad values are errors that name the key; the token never shows."""

from __future__ import annotations

import asyncio

import pytest
from cachetools import LRUCache

from adapters.discord.config import DiscordSettings
from adapters.discord.interactions import ExpiringStore
from bot.config import ConfigError, load_settings


def problems(**section) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(data={"discord": section})
    return "\n".join(caught.value.problems)


def test_configured_only_with_a_non_blank_token(monkeypatch):
    assert not DiscordSettings().configured
    monkeypatch.setenv("STEWARD_DISCORD__TOKEN", "   ")
    assert not load_settings().section("discord").configured
    monkeypatch.setenv("STEWARD_DISCORD__TOKEN", "secret-token")
    settings = load_settings().section("discord")
    assert settings.configured
    assert "secret-token" not in repr(settings) and "secret-token" not in str(settings.model_dump())


def test_bad_values_name_their_key():
    assert "discord.shard_ids" in problems(shard_ids=[0]) or "shard_ids needs shard_count" in problems(shard_ids=[0])
    assert "outside 0..1" in problems(shard_count=2, shard_ids=[2])
    assert "listed twice" in problems(shard_count=2, shard_ids=[1, 1])
    assert "discord.dm_fallback_channels" in problems(dm_fallback_channels={"abc": "123"})
    assert "discord.command_name" in problems(command_name="Has Spaces")
    assert "discord.admin_permission" in problems(admin_permission="everything")
    assert "discord.sharding: unknown key" in problems(sharding=True)


def test_shards_and_ids_are_normalised():
    settings = DiscordSettings(shard_count=4, shard_ids=[3, 1], dm_fallback_channels={" 12 ": "34"})
    assert settings.sharded and settings.dm_fallback_channels == {"12": "34"}
    assert DiscordSettings(auto_shard=True).sharded and not DiscordSettings().sharded


def test_the_interaction_store_expires_and_is_bounded():
    now = [0.0]
    store: ExpiringStore[str] = ExpiringStore(ttl=10, max_size=2, now=lambda: now[0])
    store["a"] = "A"
    store["b"] = "B"
    store["c"] = "C"  # over the bound: the oldest goes
    assert (store.get("a"), store.get("b"), store.get("c")) == (None, "B", "C") and store.evicted == 1
    now[0] = 10.0
    # b and c were put at the same moment and expire together; only live entries count
    assert store.get("b") is None and store.get("c") is None and len(store) == 0
    store["d"] = "D"
    assert len(store) == 1 and store.pop("d") == "D" and store.get("d") is None


def test_the_lru_map_forgets_the_oldest():
    # The adapter remembers the messages it posted for agents in an LRUCache (adapters/discord/identities.py).
    seen: LRUCache[str, int] = LRUCache(maxsize=2)
    seen["a"] = 1
    seen["b"] = 2
    seen["a"] = 3  # refreshed
    seen["c"] = 4
    assert "b" not in seen and seen.get("a") == 3 and seen.get("c") == 4 and len(seen) == 2


async def test_a_full_inbound_queue_drops_and_counts_instead_of_growing():
    from types import SimpleNamespace

    from adapters.discord.adapter import DiscordAdapter
    from bot.metrics import Metrics

    adapter = DiscordAdapter(DiscordSettings(inbound_queue_size=2))
    adapter.app = SimpleNamespace(metrics=Metrics())  # type: ignore[assignment]
    handled: list[int] = []

    async def handle(n: int) -> None:
        handled.append(n)

    for n in range(3):
        adapter.receive("message", handle, n)

    assert adapter.health()["inbound_pending"] == 2
    assert adapter.app.metrics.value("steward_discord_inbound_dropped_total", kind="message") == 1
    worker = asyncio.create_task(adapter._drain_inbound())
    await asyncio.wait_for(adapter._inbound.join(), 5)
    worker.cancel()
    assert handled == [0, 1]
