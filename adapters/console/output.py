"""The console adapter's output: every action a cog decides, performed by printing it, and the publisher's and
moderator's decisions shown as they happen. Message ids are numbers counted up from 1."""

from __future__ import annotations

import itertools
from typing import IO, TYPE_CHECKING

from bot.actions import (
    ActionResult,
    AddAgentToChannel,
    AnswerInteraction,
    Button,
    DeleteMessage,
    PostAsAgent,
    RemoveAgentFromChannel,
    SendApprovalPrompt,
    SendDirectMessage,
    SendMessage,
    TimeoutMember,
    UpdatePrompt,
)
from bot.adapter import Adapter, performs
from bot.events import ModerationDecision
from bot.publisher import PublishResult
from domain import Actor, ActorKind

if TYPE_CHECKING:
    from bot.core import Core

PLATFORM = "console"


class ConsoleOutput(Adapter):
    """Prints what Steward does; ``adapters.console.adapter.ConsoleAdapter`` adds the input side."""

    platform = PLATFORM

    def __init__(self, stdout: IO[str]) -> None:
        super().__init__()
        self.stdout = stdout
        self._ids = itertools.count(1)
        self._authors: dict[str, Actor] = {}  # message id -> who said it, for replies and reactions

    @property
    def _app(self) -> Core:
        if self.app is None:
            raise RuntimeError("the console adapter is not started")
        return self.app

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _show_publish(self, result: PublishResult) -> None:
        d = result.decision
        if result.posted:
            mark = "edited" if d.verdict == "edit" else "approved"
            self._say(f"  ✓ {mark} by {d.rule}: {d.reason}")
        elif result.held:
            self._say(f"  … held ({result.held}) after {d.rule}: {d.reason}")
        elif result.error:
            self._say(f"  ! approved but not posted: {result.error}")
        else:
            self._say(f"  ✗ rejected by {d.rule}: {d.reason}")

    async def _show_decision(self, event: ModerationDecision) -> None:
        if event.room.platform != self.platform:
            return
        case = f"case #{event.case_id} " if event.case_id is not None else ""
        mode = " (log only)" if event.log_only else ""
        self._say(f"  ⚖ {case}{event.verdict} {event.target.name} by {event.rule}{mode}: {event.reason}")

    @staticmethod
    def _buttons(buttons: tuple[Button, ...]) -> str:
        return "  ".join(f"[{b.label}: /press {b.custom_id}]" for b in buttons)

    @performs(SendMessage)
    async def _send(self, action: SendMessage) -> ActionResult:
        message_id = str(next(self._ids))
        buttons = f"\n    {self._buttons(action.buttons)}" if action.buttons else ""
        self._say(f"#{message_id} [{action.room.channel}] steward: {action.text}{buttons}")
        return ActionResult(ok=True, message_id=message_id, channel_id=action.room.channel)

    @performs(PostAsAgent)
    async def _post(self, action: PostAsAgent) -> ActionResult:
        message_id = str(next(self._ids))
        self._authors[message_id] = Actor(self.platform, action.agent.name, ActorKind.AGENT, action.agent.shown_name)
        reply = f" (reply to #{action.reply_to})" if action.reply_to else ""
        self._say(f"#{message_id} [{action.room.channel}] {action.agent.shown_name} (agent){reply}: {action.text}")
        return ActionResult(ok=True, message_id=message_id, channel_id=action.room.channel)

    @performs(DeleteMessage)
    async def _delete(self, action: DeleteMessage) -> ActionResult:
        self._say(f"  🗑 message #{action.message_id} deleted: {action.reason}")
        return ActionResult(ok=True, message_id=action.message_id)

    @performs(TimeoutMember)
    async def _timeout(self, action: TimeoutMember) -> ActionResult:
        self._say(f"  ⏸ {action.user_id} timed out for {action.seconds}s: {action.reason}")
        return ActionResult(ok=True)

    @performs(SendDirectMessage)
    async def _dm(self, action: SendDirectMessage) -> ActionResult:
        message_id = str(next(self._ids))
        buttons = f"\n    {self._buttons(action.buttons)}" if action.buttons else ""
        self._say(f"  ✉ to {action.user_id}: {action.text}{buttons}")
        return ActionResult(ok=True, message_id=message_id, channel_id=f"dm-{action.user_id}")

    @performs(SendApprovalPrompt)
    async def _prompt(self, action: SendApprovalPrompt) -> ActionResult:
        message_id = str(next(self._ids))
        self._say(f"  ✉ to {action.user_id}: {action.text}\n    {self._buttons(action.buttons)}")
        return ActionResult(ok=True, message_id=message_id, channel_id=f"dm-{action.user_id}")

    @performs(UpdatePrompt)
    async def _update(self, action: UpdatePrompt) -> ActionResult:
        self._say(f"  ✉ (prompt #{action.message_id} now reads) {action.text}")
        return ActionResult(ok=True, message_id=action.message_id)

    @performs(AnswerInteraction)
    async def _answer(self, action: AnswerInteraction) -> ActionResult:
        self._say(f"  → {action.text}")
        return ActionResult(ok=True)

    @performs(AddAgentToChannel)
    async def _add_agent(self, action: AddAgentToChannel) -> ActionResult:
        self._say(f"  + {action.agent.shown_name} can now speak in #{action.room.channel}")
        return ActionResult(ok=True)

    @performs(RemoveAgentFromChannel)
    async def _remove_agent(self, action: RemoveAgentFromChannel) -> ActionResult:
        reason = f": {action.reason}" if action.reason else ""
        self._say(f"  - {action.agent.shown_name} removed from #{action.room.channel}{reason}")
        return ActionResult(ok=True)
