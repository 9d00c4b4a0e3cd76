"""Test helpers shared by the suites: an in-memory platform adapter that records what it is asked to do."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.actions import (
    Action,
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    DeleteMessage,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    TimeoutMember,
    UpdatePrompt,
)
from bot.adapter import Adapter
from bot.config import Settings, load_settings

ALL_ACTIONS = (
    SendMessage,
    PostAsAgent,
    DeleteMessage,
    TimeoutMember,
    SendDirectMessage,
    SendApprovalPrompt,
    UpdatePrompt,
    AnswerInteraction,
    AddAgentToChannel,
    RemoveAgentFromChannel,
)


class RecordingAdapter(Adapter):
    """A platform that accepts every core action and remembers it, in order. ``fail`` makes one kind fail."""

    platform = "test"

    def __init__(self, platform: str = "test") -> None:
        super().__init__()
        self.platform = platform  # type: ignore[misc]
        self.performed: list[Action] = []
        self.fail: dict[type[Action], str | ActionResult] = {}  # an error, or the refusal as the platform says it
        self._ids = itertools.count(1000)
        for kind in ALL_ACTIONS:
            self._performers[kind] = RecordingAdapter._record

    def of(self, kind: type[Action]) -> list[Any]:
        return [a for a in self.performed if isinstance(a, kind)]

    async def _record(self, action: Action) -> ActionResult:
        refusal = self.fail.get(type(action))
        if refusal is not None:
            return refusal if isinstance(refusal, ActionResult) else ActionResult.failed(refusal)
        self.performed.append(action)
        return ActionResult(ok=True, message_id=f"m{next(self._ids)}")


@dataclass
class SettingsFactory:
    tmp_path: Path
    base: dict[str, Any] = field(default_factory=dict)

    def __call__(self, **sections: Any) -> Settings:
        data: dict[str, Any] = {
            "database": {"path": str(self.tmp_path / "steward.db")},
            "http": {"enabled": False},
            "logging": {"level": "WARNING"},
            # No test may start a model download; toxicity tests pass their own section.
            "toxicity": {"enabled": False},
        }
        data.update(self.base)
        data.update(sections)
        return load_settings(data=data)


ROOT = Path(__file__).resolve().parents[1]


def steward_env(*path_first: Path, **extra: str) -> dict[str, str]:
    """The environment for running ``python -m bot.cli`` in a subprocess: no platform token or Steward setting
    from the developer's shell, this checkout importable (after ``path_first``), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEWARD_", "SLACK_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (*path_first, ROOT))
    env.update(extra)
    return env
