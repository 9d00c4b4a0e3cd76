"""Whole-bot benchmark: messages per CPU-second through a real StewardApp with the default cogs, by cog.

    python -m benchmarks.whole_bot_bench [--rooms 1000] [--agents 100] [--messages 10000] [--quick]
    python -m benchmarks.whole_bot_bench --digest-only            # the decision stream's SHA-256, nothing else
    python -m benchmarks.whole_bot_bench --digest-only --trace t.txt   # and each line's record, to diff two runs
    python -m benchmarks.whole_bot_bench --sweep agents           # 100, 1,000, 10,000 registered agents
    python -m benchmarks.whole_bot_bench --sweep rooms            # 1,000, 10,000, 100,000 active rooms
    python -m benchmarks.whole_bot_bench --profile out.txt        # cProfile of the feed, every cog on
    python -m benchmarks.whole_bot_bench --against ../other      # another checkout side by side, alternating
    python -m benchmarks.whole_bot_bench --concurrency 8          # messages of 8 distinct rooms at once
    python -m benchmarks.whole_bot_bench --write                  # the table into docs/performance.md, README

Each configuration runs in a child process of its own (``whole_bot_traffic.py`` makes the traffic,
``whole_bot_run.py`` runs it): a fresh StewardApp on a SQLite file in a temporary directory, a manual clock that
follows the traffic, an adapter that performs every action at once, ``--agents`` registered agents, every one of
``--rooms`` rooms opened by a person's message (the fill) and then ``--messages`` messages of generated traffic
(people 54%, agents 42%, plain bots 4%; replies, duplicates and near-duplicates, mentions, insults, filtered words,
links), handled one at a time as ``steward replay`` does. The cogs are added one by one (core only, +moderator,
+sentiment, +presence, +conversation: every default cog with toxicity off, +toxicity: the default fast model on), so
each cog's share is the difference. Reported: messages per CPU-second of the process over the feed
(``time.process_time``: the database's thread counts), CPU per message (p50, p99; people and agents apart, the
agent-to-person ratio of the means), resident memory per active room (the child's RSS growth over fill and feed,
divided by the rooms), database bytes per message (the file's logical growth) and the moderator's rule chain alone
(``moderator_bench``'s ``run_chain``) as the reference, in the same run. The decision digest hashes every agent
message's verdict, rule and text as posted, every moderation decision a message caused and the kinds of the actions
performed, in order: the same traffic must give the same digest before and after an optimisation.

The script imports only the tree on the path (``PYTHONPATH``) and its two siblings, loaded from beside it, so it can
be run from another checkout: ``PYTHONPATH=$PWD python /path/to/benchmarks/whole_bot_bench.py --quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ALL = ["toxicity", "moderator", "sentiment", "presence", "conversation"]  # the plug-ins' order (default list)
STEPS = [
    ("core", []),
    ("+moderator", ["moderator"]),
    ("+sentiment", ["moderator", "sentiment"]),
    ("+presence", ["moderator", "sentiment", "presence"]),
    ("+conversation", ["moderator", "sentiment", "presence", "conversation"]),
    ("+toxicity", ALL),
]
SWEEPS = {"agents": (100, 1_000, 10_000), "rooms": (1_000, 10_000, 100_000)}
DOC, README = Path("docs/performance.md"), Path("README.md")
README_ROW = "| whole bot, every default cog"


def load_sibling(name: str) -> Any:
    """A module of this benchmark from beside this file, whichever tree the path's ``bot`` comes from."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _tree_of_bot() -> Path:
    found = importlib.util.find_spec("bot")
    if found is None or found.origin is None:
        raise SystemExit("no `bot` package on the path: run from a Steward tree with PYTHONPATH=$PWD")
    return Path(found.origin).resolve().parents[1]


def run_child(spec: dict[str, Any], tree: Path) -> dict[str, Any]:
    """One configuration in a fresh process importing ``tree``'s code."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]).rstrip(":"))
    command = [sys.executable, str(HERE / "whole_bot_bench.py"), "--child", json.dumps(spec)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the benchmark's child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _spec(args: argparse.Namespace, cogs: list[str], **over: Any) -> dict[str, Any]:
    spec = {"cogs": cogs, "rooms": args.rooms, "agents": args.agents, "messages": args.messages, "seed": args.seed}
    spec["concurrency"] = args.concurrency
    return {**spec, **over}


def _median_run(spec: dict[str, Any], tree: Path, repeat: int) -> dict[str, Any]:
    runs = [run_child(spec, tree) for _ in range(repeat)]
    runs.sort(key=lambda r: r["per_cpu_second"])
    middle = dict(runs[len(runs) // 2])
    middle["digests"] = sorted({r["digest"] for r in runs})
    return middle


def chain_reference(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.moderator_bench import run_chain
    from bot.logging import configure_logging

    configure_logging("WARNING", "json")
    return asyncio.run(run_chain(args.rooms, args.agents, args.chain_decisions, args.seed))


# --- reports --------------------------------------------------------------------------------------------------


def _kib(value: float) -> str:
    return f"{value / 1024:,.1f} KiB"


def _periodic(result: dict[str, Any]) -> str:
    """The periodic jobs' (sweeps', timers') share of the feed's CPU."""
    return f"{result.get('periodic_cpu_seconds', 0.0) / result['cpu_seconds']:.0%}" if result["cpu_seconds"] else "-"


def steps_table(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "| cogs | msg per CPU-s | ms a message | cog's share | person p50 / p99 ms | agent p50 / p99 ms | "
        "agent / person | periodic jobs | memory per room | DB bytes per msg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    previous = 0.0
    for name, r in rows:
        ms = 1e3 / r["per_cpu_second"] if r["per_cpu_second"] else 0.0
        lines.append(
            f"| {name} | {r['per_cpu_second']:,.0f} | {ms:.2f} | {ms - previous:+.2f} | "
            f"{r['human_p50_ms']:.2f} / {r['human_p99_ms']:.2f} | {r['agent_p50_ms']:.2f} / {r['agent_p99_ms']:.2f} | "
            f"{r['agent_to_person']:.2f} | {_periodic(r)} | {_kib(r['bytes_per_room'])} | "
            f"{r['db_bytes_per_message']:.0f} |"
        )
        previous = ms
    return lines


def environment() -> str:
    load = os.getloadavg()[0]
    return f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}"


def render(args: argparse.Namespace, rows: list[tuple[str, dict[str, Any]]], chain: dict[str, Any] | None) -> str:
    full = rows[-1][1]
    lines = [
        f"`python -m benchmarks.whole_bot_bench --rooms {args.rooms} --agents {args.agents} --messages "
        f"{args.messages}` ({environment()}): {full['fill_messages']:,} rooms opened, then {full['messages']:,} "
        f"messages ({full['mix']['human']:,} people, {full['mix']['agent']:,} agents, {full['mix']['bot']:,} bots), "
        "CPU of the bot's process over the feed.",
        "",
        *steps_table(rows),
        "",
    ]
    if chain is not None:
        ratio = full["per_cpu_second"] / chain["per_cpu_second"]
        lines.append(
            f"The rule chain alone (`moderator_bench`'s chain, same rooms and agents, {chain['decisions']:,} "
            f"decisions): {chain['per_cpu_second']:,.0f} decisions per CPU-second, p50 {chain['cpu_p50_us']:.0f} µs, "
            f"p99 {chain['cpu_p99_us']:.0f} µs, {chain['bytes_per_room']:,.0f} B of rule state a room; the whole bot "
            f"runs at {ratio:.1%} of it."
        )
    lines.append(f"Decision digest (every cog, toxicity on): `{full['digest']}`.")
    return "\n".join(lines)


def readme_row(rows: list[tuple[str, dict[str, Any]]]) -> str:
    full = rows[-1][1]
    return (
        f"{README_ROW}, fast toxicity, {full['rooms']:,} rooms, {full['agents']:,} agents (`whole_bot_bench`) | "
        f"{full['per_cpu_second']:,.0f} messages per CPU-second; "
        f"agent / person {full['agent_to_person']:.1f}x; {_kib(full['bytes_per_room'])} per room; "
        f"{full['db_bytes_per_message']:.0f} DB bytes per message | >= 2,000/s, <= 2x, <= 4 KiB |"
    )


def write_block(doc: Path, name: str, markdown: str) -> None:
    """Replace the block between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``doc``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text(encoding="utf-8")
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{doc} has no {start} ... {end} block to replace")
    doc.write_text(text[: i + len(start)] + "\n" + markdown + "\n" + text[j:], encoding="utf-8")


def write_readme(row: str, readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8").splitlines()
    kept = [line for line in text if not line.startswith(README_ROW)]
    at = next((i for i, line in enumerate(kept) if line.startswith("| moderator rule chain")), None)
    if at is None:
        raise SystemExit(f"{readme} has no benchmark table to add the whole bot's row to")
    kept.insert(at, row)
    readme.write_text("\n".join(kept) + "\n", encoding="utf-8")


# --- modes ----------------------------------------------------------------------------------------------------


def by_cog(args: argparse.Namespace, tree: Path) -> None:
    rows = []
    for name, cogs in STEPS:
        result = _median_run(_spec(args, cogs), tree, args.repeat)
        rows.append((name, result))
        print(f"{name:14} {result['per_cpu_second']:8,.0f} msg/CPU-s  digest {result['digest'][:16]}", flush=True)
    chain = chain_reference(args) if args.chain_decisions else None
    markdown = render(args, rows, chain)
    print("\n" + markdown)
    print("\noutcomes (every cog): " + json.dumps(rows[-1][1]["outcomes"]))
    if args.write:
        write_block(DOC, "whole-bot", markdown)
        write_readme(readme_row(rows))
        print(f"wrote {DOC} and {README}", file=sys.stderr)


def sweep(args: argparse.Namespace, tree: Path) -> None:
    rows = []
    for value in SWEEPS[args.sweep]:
        result = _median_run(_spec(args, ALL, **{args.sweep: value}), tree, args.repeat)
        rows.append((value, result))
        print(f"{args.sweep} {value:>7,}: {result['per_cpu_second']:8,.0f} msg/CPU-s", flush=True)
    first = rows[0][1]
    lines = [
        f"`--sweep {args.sweep}` ({environment()}), every cog, toxicity on, {args.messages:,} messages, "
        + (f"{args.rooms:,} rooms:" if args.sweep == "agents" else f"{args.agents:,} agents:"),
        "",
        f"| {args.sweep} | msg per CPU-s | vs {rows[0][0]:,} | ms a message | agent / person | periodic jobs | "
        "memory per room |",
        "|---|---|---|---|---|---|---|",
    ]
    for value, r in rows:
        ratio = r["per_cpu_second"] / first["per_cpu_second"]
        lines.append(
            f"| {value:,} | {r['per_cpu_second']:,.0f} | {ratio:.2f} | {1e3 / r['per_cpu_second']:.2f} | "
            f"{r['agent_to_person']:.2f} | {_periodic(r)} | {_kib(r['bytes_per_room'])} |"
        )
    worst = min(r["per_cpu_second"] for _, r in rows) / max(r["per_cpu_second"] for _, r in rows)
    lines += ["", f"Slowest / fastest: {worst:.2f} (flat means at least 0.80)."]
    markdown = "\n".join(lines)
    print("\n" + markdown)
    if args.write:
        write_block(DOC, f"whole-bot-sweep-{args.sweep}", markdown)


def against(args: argparse.Namespace, tree: Path, base: Path) -> None:
    """Each configuration on ``base`` and on ``tree`` alternately, ``repeat`` times: medians, ratio, digests."""
    steps = STEPS if args.all_steps else [("+conversation", STEPS[-2][1]), ("+toxicity", ALL)]
    print(f"before = {base}, after = {tree}; {args.repeat} alternating runs each; {environment()}")
    for name, cogs in steps:
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(args.repeat):
            runs["before"].append(run_child(_spec(args, cogs), base))
            runs["after"].append(run_child(_spec(args, cogs), tree))
        before = statistics.median(r["per_cpu_second"] for r in runs["before"])
        after = statistics.median(r["per_cpu_second"] for r in runs["after"])
        same = {r["digest"] for r in runs["before"]} == {r["digest"] for r in runs["after"]}

        def mid(field: str, side: str, runs: dict[str, list[dict[str, Any]]] = runs) -> float:
            return float(statistics.median(r[field] for r in runs[side]))

        print(
            f"{name:14} before {before:8,.0f} after {after:8,.0f} msg/CPU-s: {after / before:5.2f}x; "
            f"person {mid('human_mean_ms', 'before'):.2f} -> {mid('human_mean_ms', 'after'):.2f} ms, "
            f"agent {mid('agent_mean_ms', 'before'):.2f} -> {mid('agent_mean_ms', 'after'):.2f} ms; "
            f"memory per room {_kib(mid('bytes_per_room', 'before'))} -> {_kib(mid('bytes_per_room', 'after'))}; "
            f"DB bytes per message {mid('db_bytes_per_message', 'before'):.0f} -> "
            f"{mid('db_bytes_per_message', 'after'):.0f}; digests {'identical' if same else 'DIFFER'}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=1_000, help="active rooms (each opened by the fill)")
    parser.add_argument("--agents", type=int, default=100, help="registered agents")
    parser.add_argument("--messages", type=int, default=10_000, help="messages of traffic after the fill")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,500 messages, 2,000 chain decisions: 1-2 minutes")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="messages of distinct rooms handled at once (1: as a replay does)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration (the median is shown)")
    parser.add_argument("--chain-decisions", type=int, default=50_000, help="rule-chain reference (0: skip)")
    parser.add_argument("--digest-only", action="store_true", help="print only the decision digest (every cog)")
    parser.add_argument("--trace", type=Path, help="with --digest-only: each line's decisions, readable, to diff")
    parser.add_argument("--sweep", choices=sorted(SWEEPS), help="throughput across agents or rooms")
    parser.add_argument("--profile", type=Path, help="cProfile the feed (every cog) into this file")
    parser.add_argument("--against", type=Path, help="another tree to compare with, side by side")
    parser.add_argument("--all-steps", action="store_true", help="with --against: every cog step, not the last two")
    parser.add_argument("--write", action="store_true", help="write the table into docs/performance.md (and README)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        load_sibling("whole_bot_traffic")
        load_sibling("whole_bot_run").child_main(args.child)
        return
    if args.quick:
        args.messages = min(args.messages, 1_500)
        args.chain_decisions = min(args.chain_decisions, 20_000)
    tree = _tree_of_bot()
    if args.digest_only:
        trace = {"trace": str(args.trace.resolve())} if args.trace else {}
        print(run_child(_spec(args, ALL, **trace), tree)["digest"])
    elif args.profile is not None:
        result = run_child(_spec(args, ALL, profile=str(args.profile.resolve())), tree)
        print(f"{result['per_cpu_second']:,.0f} msg/CPU-s under cProfile; wrote {args.profile}")
    elif args.against is not None:
        against(args, tree, args.against.resolve())
    elif args.sweep:
        sweep(args, tree)
    else:
        by_cog(args, tree)


if __name__ == "__main__":
    main()
