"""The operator's page documents every configuration key the moderator accepts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from cogs.moderator.config import ModeratorSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "moderator.md"


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_config_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [key for key in _keys(ModeratorSettings) if f"| `{key}` |" not in text]
    assert not missing, f"docs/moderator.md does not document {missing}"
