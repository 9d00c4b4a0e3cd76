"""Markdown tables for the moderation evaluation, including other benchmarks' figures whatever their shape.

``figures(result)`` renders what another benchmark's ``run()`` returned: text as it is; a list of mappings as one
table; a mapping as a table of its plain figures, one table whose rows are its entries that map names to figures
(``{"links": {"precision": ...}, "mentions": {...}}``), and a table of its own for each entry that maps names to
such mappings (``{"catch": {"leetspeak": {"rate": ...}, ...}}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

LIST_ITEMS = 3  # a list in a cell shows this many items, then how many more


def table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def cell(value: object) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3g}"
        return text if any(c in text for c in ".en") else text + ".0"  # 1.0 stays a rate, not a count
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        shown = ", ".join(str(item) for item in value[:LIST_ITEMS])
        more = len(value) - LIST_ITEMS
        return (shown + (f" (+{more} more)" if more > 0 else "")) if value else "none"
    return str(value).replace("|", "\\|")


def _is_table_of_rows(value: object) -> bool:
    """A mapping of names to mappings of figures: one row a name."""
    return isinstance(value, Mapping) and bool(value) and all(isinstance(v, Mapping) for v in value.values())


def _rows(entries: Mapping[str, Mapping[str, Any]], first: str) -> list[str]:
    header = list(dict.fromkeys(key for row in entries.values() for key in row))
    return table([first, *header], [[name, *(cell(row.get(key)) for key in header)] for name, row in entries.items()])


def figures(result: Any) -> list[str]:
    """Another benchmark's result as markdown lines."""
    if isinstance(result, str):
        return [result.strip()]
    if isinstance(result, Sequence) and result and all(isinstance(row, Mapping) for row in result):
        header = list(dict.fromkeys(key for row in result for key in row))
        return table(header, [[cell(row.get(key)) for key in header] for row in result])
    if not isinstance(result, Mapping):
        return [f"`{result!r}`"]
    plain = {k: v for k, v in result.items() if not isinstance(v, Mapping)}
    flat = {k: v for k, v in result.items() if isinstance(v, Mapping) and v and not _is_table_of_rows(v)}
    nested = {k: v for k, v in result.items() if _is_table_of_rows(v)}
    lines: list[str] = []
    if plain:
        lines += table(("figure", "value"), [(k, cell(v)) for k, v in plain.items()])
    if flat:
        lines += ([""] if lines else []) + _rows(flat, "")
    for name, entries in nested.items():
        lines += ([""] if lines else []) + [f"{name}:", ""] + _rows(entries, "")
    return lines
