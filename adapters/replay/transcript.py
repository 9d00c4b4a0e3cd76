"""Recorded conversations (JSONL): one message per line.

``{"ts": 1700000000.5 | "2026-11-22T10:00:00Z", "room": "general", "author": "alice", "kind": "human",
"text": "hi", "reply_to": "3", "id": "4"}`` — ``kind`` is human, agent or bot; ``reply_to`` and ``id`` are
optional (a line without ``id`` is known by its line number). Blank lines and lines starting with ``#`` are
skipped. A malformed line is reported with its number and skipped; it never stops the run. A timestamp must be
epoch seconds from 1970 to the year 9999 (``NaN``, infinities, booleans, negative or millisecond values are
malformed), or an ISO-8601 time in that range.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# The last second of the year 9999 (what ``datetime`` can show): anything later is not a time a chat was held.
MAX_TS = 253_402_300_799.0


class TranscriptEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: float
    room: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=200)
    kind: Literal["human", "agent", "bot"] = "human"
    text: str = Field(max_length=40_000)
    reply_to: str | None = None
    id: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("ts", mode="before")
    @classmethod
    def _timestamp(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ValueError(f"not a timestamp: {value!r} (epoch seconds or ISO-8601)") from None
        if isinstance(value, bool):
            raise ValueError(f"not a timestamp: {value!r} (epoch seconds or ISO-8601)")
        return value

    @field_validator("ts")
    @classmethod
    def _in_range(cls, value: float) -> float:
        # NaN fails both comparisons, so it is refused here too.
        if not 0.0 <= value <= MAX_TS:
            hint = " (milliseconds? give seconds)" if MAX_TS < value <= MAX_TS * 1000 else ""
            raise ValueError(f"not a timestamp: {value!r}; epoch seconds from 0 to {MAX_TS:.0f}{hint}")
        return value

    @field_validator("reply_to", "id", mode="before")
    @classmethod
    def _ids_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("room", "author")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value or any(c.isspace() for c in value):
            raise ValueError("must be one word without ':'")
        return value


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    entry: TranscriptEntry

    @property
    def message_id(self) -> str:
        return self.entry.id or f"L{self.number}"


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    problem: str


def read_transcript(path: Path) -> Iterator[Line | BadLine]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            yield parse_line(number, text)


def parse_line(number: int, text: str) -> Line | BadLine:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadLine(number, f"not JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(data, dict):
        return BadLine(number, f"expected a JSON object, got {type(data).__name__}")
    try:
        return Line(number, TranscriptEntry.model_validate(data))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors())
        return BadLine(number, problems)


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
