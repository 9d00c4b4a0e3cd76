"""The ``steward`` command: run the bot, check a config, replay a transcript, and the cogs' own commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logging import configure_logging, get_logger

log = get_logger("steward.cli")

# Modules that add their own subcommands with ``register(subparsers)``; an absent optional component is skipped.
EXTENSIONS = ("cogs.toxicity.cli", "cogs.sentiment.cli")

DEFAULT_CONFIG_NAMES = ("steward.toml", "config.toml")


def default_config_path() -> Path | None:
    env = os.environ.get("STEWARD_CONFIG")
    if env:
        return Path(env)
    for name in DEFAULT_CONFIG_NAMES:
        if Path(name).exists():
            return Path(name)
    return None


def load_or_exit(path: Path | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        print(f"steward: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


# --- run -------------------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_or_exit(args.config)
    from bot.app import StewardApp, build_adapters

    adapters = build_adapters(settings)
    console_mode = any(a.platform == "console" for a in adapters)
    if console_mode and not args.log_stderr:
        # The chat owns the terminal; logs go to a file next to the database.
        log_path = settings.database.path.parent / settings.section("console").log_file
        log_path.parent.mkdir(parents=True, exist_ok=True)
        stream = log_path.open("a", encoding="utf-8")
        configure_logging(settings.logging.level, "json", stream)
        print(f"(logs: {log_path})", file=sys.stderr)
    else:
        configure_logging(settings.logging.level, settings.logging.format)
    app = StewardApp(settings, adapters=adapters)
    return asyncio.run(_run_app(app))


async def _run_app(app) -> int:
    task = asyncio.create_task(app.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    except ConfigError as exc:
        print(f"steward: {exc}", file=sys.stderr)
        return 2
    return 0


# --- check-config --------------------------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.file or default_config_path()
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    where = path or "defaults (no file)"
    from bot.app import configured_platforms

    platforms = configured_platforms(settings) or ["console"]
    print(f"ok: {where} is valid; cogs: {', '.join(settings.cogs.enabled) or 'none'}; adapters: {', '.join(platforms)}")
    return 0


def cmd_config_example(args: argparse.Namespace) -> int:
    from bot.config_doc import render_example

    sys.stdout.write(render_example())
    return 0


# --- entry point ---------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steward", description="Moderation and agent presence for chat platforms.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (the console chat when no platform token is configured)")
    run.add_argument("--config", type=Path, default=default_config_path(), help="TOML config file")
    run.add_argument("--log-stderr", action="store_true", help="log to stderr even in the console chat")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate a config file and name every bad key")
    check.add_argument("file", nargs="?", type=Path, help="TOML config file (default: steward.toml / config.toml)")
    check.set_defaults(func=cmd_check_config)

    example = sub.add_parser("config-example", help="print a config file with every key and its default")
    example.set_defaults(func=cmd_config_example)

    from adapters.replay.cli import register as register_replay

    register_replay(sub)

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            # An optional component whose extra is not installed: its commands are absent, the rest work.
            log.debug("cli_extension_unavailable", module=name, error=str(exc))
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except BrokenPipeError:
        # The reader went away (``steward replay --json | head``): not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # keeps the final flush quiet
        return 0
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
