"""Conversation moderator benchmark: what watching the conversation costs per message, per gate check and per sweep.

    python -m benchmarks.conversation_bench [--messages 5000] [--rooms 50] [--gate 20000] [--sweep-rooms 1000]

Runs a StewardApp with only the conversation cog, a SQLite file in a temporary directory (WAL, as deployed) and a
platform adapter that accepts every action at once (so the numbers are Steward's, not a network's). It measures:

- ``MessageCreated`` through the bus to the moderator (features, the room window, every signal rule, and the
  actions with their audit rows and notices when a rule fires), human and agent messages spread over ``--rooms``;
- the gate alone (``ConversationGate.evaluate``) in focused mode, the mode that does the most work;
- one sweep (idle stretches, unanswered questions, eviction) over ``--sweep-rooms`` rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bot.actions import ActionResult, PostAsAgent, SendMessage
from bot.adapter import Adapter
from bot.app import StewardApp
from bot.clock import ManualClock
from bot.config import load_settings
from bot.events import MessageCreated
from bot.logging import configure_logging
from bot.publisher import AgentSubmission
from cogs.conversation.gate import ConversationGate
from domain import Actor, ActorKind, Room
from policy.conversation import Mode, SetModeProposal, Signal, SignalKind
from storage.core import AgentRecord

AGENTS = ("planner", "coder", "critic")
HUMANS = ("alice", "bob", "carol", "dana")
LINES = (
    "morning, what is on the plan today?",
    "TODO: write the migration for the invoices table",
    "coder, can you take the backfill?",
    "the deploy failed again, should we rollback",
    "I think the second option is simpler",
    "Phase one needs an invoices table with a currency column.",
)


class InstantAdapter(Adapter):
    platform = "bench"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._performers[SendMessage] = InstantAdapter._ok
        self._performers[PostAsAgent] = InstantAdapter._ok

    async def _ok(self, action) -> ActionResult:
        self.count += 1
        return ActionResult(ok=True, message_id=f"b{self.count}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(messages: int, rooms: int, gate_checks: int, sweep_rooms: int) -> dict[str, float | int]:
    configure_logging("WARNING", "json")
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data={
                "database": {"path": str(Path(tmp) / "bench.db")},
                "http": {"enabled": False},
                "logging": {"level": "WARNING"},
                "cogs": {"enabled": ["conversation"]},
                "conversation": {"topics": {"coder": ["migration", "backfill"]}},
            }
        )
        clock = ManualClock(1_800_000_000.0)
        app = StewardApp(settings, adapters=[InstantAdapter()], clock=clock)
        await app.start()
        try:
            for name in AGENTS:
                await app.agents.register(AgentRecord(name, "bench", owner_id=f"owner-of-{name}"))
            cog = app.cogs.cogs["conversation"]
            room_list = [Room("bench", "s", f"room{i}") for i in range(rooms)]
            latencies: list[float] = []
            started = time.perf_counter()
            for i in range(messages):
                clock.advance(2.0)
                agent = i % 3 == 0
                author = (
                    Actor("bench", AGENTS[(i // 3) % len(AGENTS)], ActorKind.AGENT)
                    if agent
                    else Actor("bench", HUMANS[i % len(HUMANS)], ActorKind.HUMAN)
                )
                event = MessageCreated(
                    at=clock.now(),
                    room=room_list[i % rooms],
                    message_id=f"x{i}",
                    author=author,
                    text=LINES[i % len(LINES)],
                    via_steward=agent,
                )
                t0 = time.perf_counter()
                await app.bus.dispatch(event)
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - started

            room = room_list[0]
            signal = Signal(SignalKind.AGENT_DOMINANCE, "benchmark")
            await cog.execute(room, SetModeProposal(mode=Mode.FOCUSED, reason="benchmark"), signal, now=clock.now())
            gate = ConversationGate(cog)
            record = await app.agents.get("coder")
            submission = AgentSubmission(record, room, "a short answer", clock.now())
            t0 = time.perf_counter()
            for _ in range(gate_checks):
                await gate.evaluate(submission)
            gate_elapsed = time.perf_counter() - t0

            for i in range(sweep_rooms):
                await app.bus.dispatch(
                    MessageCreated(
                        at=clock.now(),
                        room=Room("bench", "t", f"sweep{i}"),
                        message_id=f"s{i}",
                        author=Actor("bench", "alice", ActorKind.HUMAN),
                        text="is anyone here?",
                    )
                )
            clock.advance(700)
            t0 = time.perf_counter()
            await cog.sweep()
            sweep_elapsed = time.perf_counter() - t0
            entries = await cog.store.audit_entries(limit=1_000_000)
            audit_rows = len(entries)
            by_kind = Counter(f"{e.action}/{e.signal}" for e in entries)
        finally:
            await app.stop()
    return {
        "messages": messages,
        "rooms": rooms,
        "messages_per_second": messages / elapsed,
        "dispatch_p50_ms": statistics.median(latencies) * 1000,
        "dispatch_p99_ms": _pct(latencies, 0.99) * 1000,
        "gate_checks_per_second": gate_checks / gate_elapsed,
        "gate_check_us": gate_elapsed / gate_checks * 1e6,
        "sweep_rooms": sweep_rooms,
        "sweep_ms": sweep_elapsed * 1000,
        "audit_rows": audit_rows,
        **{f"actions[{k}]": v for k, v in sorted(by_kind.items())},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--gate", type=int, default=20000)
    parser.add_argument("--sweep-rooms", type=int, default=1000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.messages, args.rooms, args.gate, args.sweep_rooms))
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    for key, value in result.items():
        print(f"{key:>24}: {value:,.2f}" if isinstance(value, float) else f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
