"""The shape of the code: dependencies point one way, functions stay simple, modules stay short and say their job."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "adapters", "cogs", "policy", "storage", "domain")
MAX_COMPLEXITY = 15
MAX_LINES = 420  # "about 400": one sitting's reading


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def test_the_import_contracts_hold() -> None:
    # Layers (adapters, cogs -> bot -> storage -> policy -> domain), cogs and adapters independent of each other,
    # no cycle inside any package: the contracts in pyproject.toml.
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.parametrize("package", ["bot", "policy", "cogs"])
def test_no_function_is_too_complex_to_follow(package: str) -> None:
    too_complex = {
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname}": block.complexity
        for path in modules(package)
        for block in cc_visit(path.read_text())
        if block.complexity > MAX_COMPLEXITY
    }
    assert too_complex == {}


def test_every_module_reads_in_one_sitting() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in modules(*PACKAGES)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_every_package_and_module_says_its_job() -> None:
    silent = [
        str(path.relative_to(ROOT)) for path in modules(*PACKAGES) if not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert silent == []
