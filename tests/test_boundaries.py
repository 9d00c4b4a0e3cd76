"""The core, the cogs and the policies never import a platform SDK; policies do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SDKS = ("discord", "slack_bolt", "slack_sdk")
IO = ("asyncio", "aiosqlite", "aiohttp", "sqlite3", "socket", "requests")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def files(*packages: str) -> list[Path]:
    return [p for package in packages for p in (ROOT / package).rglob("*.py")]


def test_core_cogs_policy_and_storage_never_import_a_platform_sdk() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & set(SDKS))
        for path in files("bot", "cogs", "policy", "storage")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_policies_are_pure() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(imported_modules(p) & set(IO)) for p in files("policy")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_adapter_config_modules_load_without_their_sdk() -> None:
    # bot.config imports these to validate a config even where the platform is not used.
    for path in (ROOT / "adapters").glob("*/config.py"):
        assert not (imported_modules(path) & set(SDKS)), path
