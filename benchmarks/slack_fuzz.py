"""Fuzzed Slack input against Steward's HTTP mode, at scale: the seeded malformed payloads of
``tests/e2e/slack/fuzz.py`` (the suite posts 2,000 of them; this posts 10,000 by default), signed and posted to a
real StewardApp with the moderator cog, against the local mock Slack.

Reports the answers by status, any 5xx or traceback (there must be none), the payloads that reached bolt's error
handler (there must be none), the rejections by kind and reason, and the time to acknowledge (Slack wants an answer
within 3 seconds; Steward's goal is 1 second at p99 under adversarial input).
Run: ``.venv/bin/python benchmarks/slack_fuzz.py [cases] [seed]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

from benchmarks.slack_env import use_mock_slack_credentials

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import StewardApp
from bot.config import load_settings
from bot.logging import configure_logging
from tests.e2e.slack.fuzz import cases, signed
from tests.e2e.slack.mock_slack import SIGNING_SECRET, MockSlack


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rejections(app: StewardApp) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in app.metrics.registry.collect():
        if metric.name == "steward_slack_payload_rejected":
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    found[f"{sample.labels['kind']}/{sample.labels['reason']}"] = sample.value
    return found


async def main(count: int, seed: int) -> None:
    configure_logging("ERROR", "json")
    use_mock_slack_credentials()
    mock = await MockSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": f"{tmp}/steward.db"},
                "http": {"enabled": True, "port": 0},
                "logging": {"level": "ERROR"},
                "cogs": {"enabled": ["moderator"]},
                "moderator": {"filters": {"words": ["frobnicate"]}},
                "toxicity": {"enabled": False},
                "slack": {"mode": "http", "api_base_url": mock.api_url},
            }
        )
        app = StewardApp(settings)
        await app.start()
        assert app.http is not None
        url = f"http://127.0.0.1:{app.http.bound_port}/slack/events"
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        bad: list[str] = []
        started = time.perf_counter()
        async with aiohttp.ClientSession() as session:
            for case in cases(count, mock.response_url("fuzz"), seed=seed):
                sent = time.perf_counter()
                async with session.post(url, data=case.body, headers=signed(case, SIGNING_SECRET)) as response:
                    text = await response.text(errors="replace")
                latencies.append(time.perf_counter() - sent)
                statuses[response.status] += 1
                if response.status >= 500 or "Traceback" in text:
                    bad.append(f"{response.status} {case.what}")
        elapsed = time.perf_counter() - started
        await app.bus.join()
        rejections = _rejections(app)
        await app.stop()
    await mock.stop()
    escaped = sum(
        v for k, v in rejections.items() if k.split("/")[1] in ("listener_error", "unhandled", "internal_error")
    )
    print(f"cases: {count} (seed {seed}) in {elapsed:.1f}s, {count / elapsed:.0f} requests/s")
    print(f"answers by status: {dict(sorted(statuses.items()))}")
    print(f"5xx or traceback: {len(bad)}  {bad[:5]}")
    print(f"reached bolt's error handler: {escaped:g}")
    print(
        f"time to answer: p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    for key, value in sorted(rejections.items()):
        print(f"  rejected {key}: {value:g}")


if __name__ == "__main__":
    asyncio.run(
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, int(sys.argv[2]) if len(sys.argv) > 2 else 20240601)
    )
