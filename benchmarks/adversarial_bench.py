"""Per-message CPU cost of the worst texts a platform lets through, before and after bounding, side by side.

    python -m benchmarks.adversarial_bench [--before REV] [--rounds 3] [--flood 200]

Part one: each adversarial text (emoji walls, zalgo, one 40,000-character word, deep markdown, mentions, URLs,
"!!!!", ALL CAPS, mixed scripts, homoglyphs, filter-hostile texts ...) through each cog's text path:

* sentiment: ``MessageClassifier.score`` (VADER and the emotion lexicon);
* moderator, a human's message: normalisation and the server's word and pattern filters;
* moderator, an agent's message: the context (normalisation, duplicate sketch) and the whole default rule chain;
* conversation: ``extract_features`` with ten agents, their topics and the action-item patterns.

"Before" is the code of ``--before`` (default: the merge base with ``main``) for the modules this change touched,
loaded from git into the same process, with upstream ``vaderSentiment`` for VADER; "after" is the working tree.
Both run in the same process, ``--rounds`` times each, interleaved; the figures are CPU time a call (thread time, so
other processes on the machine count less), max and p99 over every call of every round, and the ratio of maxima.

Part two: the whole bot. Steward (moderator, sentiment and conversation cogs) in Slack HTTP mode against the
local mock Slack, sent a flood of signed message events, 20 a second (ordinary chatter, every fourth event an
adversarial text); the figure is Slack's: how long each request waits for its acknowledgement. Run once with the
bounded code and once with the sentiment scorer swapped back to upstream VADER (``--flood-before``, fewer events).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from benchmarks.moderator_bench import BenchScorer, settings_for_bench  # noqa: E402
from cogs.moderator.service import ModeratorService, NoSuspensions  # noqa: E402
from cogs.sentiment import classifier as classifier_module  # noqa: E402
from cogs.sentiment.chat import ChatReading  # noqa: E402
from domain import Room  # noqa: E402
from policy import conversation_features as features_after  # noqa: E402
from policy import moderation_text as text_after  # noqa: E402
from policy.moderation_filters import compile_filters  # noqa: E402
from storage.moderation import InMemoryRoomState  # noqa: E402

FILTER_WORDS = ("darn", "heck", "scam", "free money")
FILTER_PATTERNS = (r"free\s+crypto", r"bit\.ly/\S+", r"(a+)+b", r"(\w+\s?)*x")


def adversarial_texts() -> dict[str, str]:
    rng = random.Random(11)
    marks = "\u0300\u0301\u0316\u0337\u0489\u036f"
    zalgo = "".join("a" + "".join(rng.choice(marks) for _ in range(8)) for _ in range(900))
    mixed = "".join(rng.choice(["hello ", "мир ", "世界 ", "مرحبا ", "😀", "שלום ", "γειά "]) for _ in range(9000))
    return {
        "2,000 emoji": "😀" * 2000,
        "40,000 emoji": "😀" * 40000,
        "2,000 mixed emoji": "".join(rng.choice("😀😂😡🤔👍❤🎉😭💘🙄") for _ in range(2000)),
        "zalgo 4,000": zalgo[:4000],
        "zalgo 40,000": (zalgo * 6)[:40000],
        "one word 4,000": "a" * 4000,
        "one word 40,000": "a" * 40000,
        "!!!! 4,000": "!" * 4000,
        "???? 40,000": "?" * 40000,
        "ALL CAPS 4,000": ("I HATE THIS SO MUCH " * 300)[:4000],
        "good but 4,000": ("good but bad " * 400)[:4000],
        "words 40,000": ("not so good but kind of great " * 1400)[:40000],
        "markdown 4,000": ("> **_~~`[link](https://a.example/x)`~~_** " * 100)[:4000],
        "mentions 4,000": ("<@U0123456789> @here " * 200)[:4000],
        "URLs 40,000": ("https://bit.ly/abc?x=1&y=2 " * 1500)[:40000],
        "homoglyphs 4,000": ("аррӏе ѕесurіtу ꜱᴄᴀᴍ " * 200)[:4000],
        "mixed scripts 40,000": mixed[:40000],
        "regex-hostile 40,000": "a" * 39999 + "!",
        "spaced letters 40,000": " a" * 20000,
        "agent names 40,000": ("agent1x deployx cache hitx " * 1500)[:40000],
        "ordinary": "Thanks, the deploy worked! Can someone review the cache PR by Friday? 👍",
    }


# --- before: the touched modules as they were at --before ---------------------------------------------------------


def load_old(rev: str, path: str, name: str) -> ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True)
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source.stdout, f"{rev}:{path}", "exec"), module.__dict__)
    return module


class Paths:
    """Each cog's text path, built on one side's modules."""

    def __init__(self, score: Callable[[str], Any], text_mod: Any, features_mod: Any) -> None:
        self.text_mod, self.features_mod = text_mod, features_mod
        self.score = score
        self.filters = compile_filters(FILTER_WORDS, FILTER_PATTERNS)
        settings = settings_for_bench()
        self.settings = settings
        self.room = Room("slack", "T1", "C1")
        self.agents = [features_after.AgentName(f"agent{i}", (f"Agent {i}",)) for i in range(10)]
        self.topics = {f"agent{i}": ["deploy", "release", "cache hit", "build"] for i in range(10)}
        self.patterns = features_after.compile_patterns(features_after.DEFAULT_ACTION_ITEM_PATTERNS)
        state = InMemoryRoomState(history_size=50, max_rooms=10, idle_seconds=1e9)
        scorer = BenchScorer()
        self.service = ModeratorService(
            config=lambda room: settings.section("moderator", room),
            state=state,
            suspensions=NoSuspensions(),
            scorer=lambda: scorer,
        )

    def sentiment(self, text: str) -> object:
        return self.score(text)

    def human(self, text: str) -> object:
        return self.filters.find(self.text_mod.normalize(text))

    def agent(self, text: str) -> object:
        import cogs.moderator.service as service_module
        import policy.moderation_rules as rules_module

        service_module.normalize = rules_module.normalize = self.text_mod.normalize
        context = self.service.context(self.room, text, 1_800_000_000.0)
        return asyncio.run(self.service.evaluate("agent0", context))

    def conversation(self, text: str) -> object:
        return self.features_mod.extract_features(
            text, agents=self.agents, mentions=(), topics=self.topics, action_patterns=self.patterns
        )


def old_scorer(rev: str) -> Callable[[str], Any]:
    lexicon = load_old(rev, "cogs/sentiment/lexicon.py", "before_lexicon")
    vader = SentimentIntensityAnalyzer()

    def score(text: str) -> tuple[dict[str, float], Any]:
        text = text[:2000]
        return vader.polarity_scores(text), lexicon.score_emotions(text)

    return score


def cpu_times(fn: Callable[[str], object], text: str, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        started = time.thread_time()
        fn(text)
        out.append(time.thread_time() - started)
    return out


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def per_cog(rev: str, rounds: int) -> list[tuple[str, str, float, float, float, float]]:
    before = Paths(old_scorer(rev), load_old(rev, "policy/moderation_text.py", "before_text"),
                   load_old(rev, "policy/conversation_features.py", "before_features"))  # fmt: skip
    after = Paths(classifier_module.MessageClassifier().score, text_after, features_after)
    rows = []
    for path in ("sentiment", "human", "agent", "conversation"):
        for name, text in adversarial_texts().items():
            old_fn, new_fn = getattr(before, path), getattr(after, path)
            new_fn(text)  # warm caches on both sides
            first = cpu_times(old_fn, text, 1)[0]
            calls = 1 if first > 0.5 else 3 if first > 0.05 else 20
            old: list[float] = []
            new: list[float] = []
            for _ in range(rounds):
                old += cpu_times(old_fn, text, calls)
                new += cpu_times(new_fn, text, 20)
            rows.append((path, name, max(old) * 1e3, p99(old) * 1e3, max(new) * 1e3, p99(new) * 1e3))
            print(f"  {path:12} {name:24} before max {rows[-1][2]:9.2f} ms, after {rows[-1][4]:6.2f} ms", flush=True)
    return rows


# --- the whole bot ------------------------------------------------------------------------------------------------


async def flood(count: int, *, unbounded: bool, rate: float = 20.0) -> dict[str, float]:
    import json

    import aiohttp

    from benchmarks.slack_env import use_mock_slack_credentials
    from bot.app import StewardApp
    from bot.config import load_settings
    from bot.events import MessageCreated
    from tests.e2e.slack.mock_slack import MockSlack, event_body, message_event, sign

    use_mock_slack_credentials()
    mock = await MockSlack().start()
    import tempfile

    texts = list(adversarial_texts().values())
    ordinary = "ok the deploy is green, thanks all"
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": f"{tmp}/steward.db"},
                # 40,000 emoji are 160 kB of UTF-8: more than the default 64 kB body limit
                "http": {"enabled": True, "port": 0, "max_body_bytes": 256 * 1024},
                "logging": {"level": "ERROR"},
                "cogs": {"enabled": ["moderator", "sentiment", "conversation"]},
                "moderator": {"filters": {"words": list(FILTER_WORDS), "patterns": list(FILTER_PATTERNS)}},
                "slack": {"mode": "http", "api_base_url": mock.api_url, "user_cache_ttl": 600},
            }
        )
        app = StewardApp(settings)
        await app.start()
        if unbounded:
            _unbound(app)
        seen = 0
        drained = asyncio.Event()

        async def count_event(event: MessageCreated) -> None:
            nonlocal seen
            seen += 1
            if seen >= statuses[200] and len(latencies) == count:
                drained.set()

        app.bus.subscribe(MessageCreated, count_event, owner="benchmark")
        assert app.http is not None
        url = f"http://127.0.0.1:{app.http.bound_port}/slack/events"
        bodies = []
        for i in range(count):
            text = texts[i // 4 % len(texts)] if i % 4 == 3 else ordinary
            event = message_event(f"C{i % 20:04d}", f"U{i % 50:04d}", text, f"1700.{i:06d}")
            bodies.append(json.dumps(event_body(event), ensure_ascii=False))  # as Slack sends it
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:

            async def post(body: str) -> None:
                started = time.perf_counter()
                async with session.post(url, data=body.encode(), headers={**sign(body)}) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append(time.perf_counter() - started)

            # Paced, as traffic arrives: one event every 1/rate seconds, whatever the answers before it.
            begin, sent = time.perf_counter(), []
            for i, body in enumerate(bodies):
                await asyncio.sleep(max(0.0, begin + i / rate - time.perf_counter()))
                sent.append(asyncio.create_task(post(body)))
            await asyncio.gather(*sent)
            if seen < statuses[200]:  # every acknowledged event handled before the bot stops
                await asyncio.wait_for(drained.wait(), 300)
        await app.stop()
    await mock.stop()
    ordered = sorted(latencies)
    return {
        "events": count,
        "p50_ms": ordered[len(ordered) // 2] * 1e3,
        "p99_ms": p99(ordered) * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "over_3s": sum(1 for v in ordered if v > 3.0),
        "statuses": dict(statuses),
        "on_bus": seen,
    }


class _UpstreamVader(SentimentIntensityAnalyzer):  # type: ignore[misc]
    """Upstream VADER in the chat scorer's shape: its scores, and no chat reading (never sarcastic)."""

    def chat_scores(self, text: str) -> tuple[dict[str, float], Any]:
        return self.polarity_scores(text), ChatReading(False, text)


def _unbound(app: Any) -> None:
    """Swap the sentiment cog's scorer back to upstream VADER (what ``--before`` scored with)."""
    app.cogs.cogs["sentiment"].classifier._vader = _UpstreamVader()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True)
    parser.add_argument("--before", default=default.stdout.strip() or "main")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flood", type=int, default=400, help="events in the whole-bot flood (0: skip)")
    parser.add_argument("--flood-before", type=int, default=60, help="events with the unbounded scorer (0: skip)")
    parser.add_argument("--skip-cogs", action="store_true")
    args = parser.parse_args()
    from bot.logging import configure_logging

    configure_logging("ERROR", "json")
    load = os.getloadavg()
    print(f"python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} cores, load {load[0]:.1f})")
    print(f"before = {args.before[:12]}, {args.rounds} rounds; CPU ms a call")
    rows = [] if args.skip_cogs else per_cog(args.before, args.rounds)
    print("| path | text | before max | before p99 | after max | after p99 | ratio (max) |")
    print("|---|---|---|---|---|---|---|")
    for path, name, old_max, old_p99, new_max, new_p99 in rows:
        ratio = old_max / new_max if new_max else float("inf")
        print(f"| {path} | {name} | {old_max:.2f} | {old_p99:.2f} | {new_max:.2f} | {new_p99:.2f} | {ratio:.1f}x |")
    for label, count, unbounded in (("bounded", args.flood, False), ("unbounded", args.flood_before, True)):
        if count:
            result = asyncio.run(flood(count, unbounded=unbounded))
            print(
                f"whole bot, {label} scorer: {result['events']} events (1 in 4 adversarial), ack p50 "
                f"{result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms, "
                f"{result['over_3s']} over Slack's 3 s"
            )


if __name__ == "__main__":
    main()
