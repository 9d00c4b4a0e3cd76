"""The 'platform' of a replay: performs every action by recording it; a posted message keeps its line's id."""

from __future__ import annotations

from typing import Any

from bot.actions import Action, ActionResult
from bot.adapter import Adapter

PLATFORM = "replay"
SERVER = "replay"


class ReplayAdapter(Adapter):
    """Records the actions Steward takes during a replay instead of performing them anywhere."""

    platform = PLATFORM

    def __init__(self) -> None:
        super().__init__()
        self.performed: list[Action] = []
        self.next_message_id: str | None = None

    def supports(self, action: Action) -> bool:
        return True

    async def perform(self, action: Action) -> ActionResult:
        self.performed.append(action)
        message_id, self.next_message_id = self.next_message_id, None
        return ActionResult(ok=True, message_id=message_id)

    def health(self) -> dict[str, Any]:
        return {"up": self.app is not None, "actions": len(self.performed)}
