"""The ``[database]`` section of the configuration: where the file is, what is stored, how long per-message rows
are kept (``storage/retention.py``, ``docs/operations.md``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.retention import TABLE_NAMES


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(default=Path("data/steward.db"), description="SQLite database file")
    store_message_text: bool = Field(
        default=False, description="Store message text in decisions and cases (otherwise only a hash)"
    )
    retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Days the per-message rows (decision log, feedback, sentiment suggestions) are kept, pruned in "
        "the background; 0 keeps them forever. Cases and suspensions are always kept",
    )
    retention_tables: dict[str, float] = Field(
        default_factory=dict,
        description="Days for one table instead of retention_days, e.g. {feedback = 365}; 0 keeps that table forever",
    )
    retention_batch: int = Field(
        default=500, gt=0, le=100_000, description="Rows one pruning step deletes at most (one short write)"
    )

    @field_validator("retention_tables")
    @classmethod
    def _known_tables(cls, value: dict[str, float]) -> dict[str, float]:
        for name, days in value.items():
            if name not in TABLE_NAMES:
                raise ValueError(f"no per-message table named {name!r}; known: {', '.join(TABLE_NAMES)}")
            if days < 0:
                raise ValueError(f"{name}: days must be 0 (forever) or more, got {days}")
        return value

    def retention(self) -> dict[str, float]:
        """Days to keep, by per-message table (0: forever)."""
        return {name: self.retention_tables.get(name, self.retention_days) for name in TABLE_NAMES}
