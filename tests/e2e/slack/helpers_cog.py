"""A tiny real cog for the Slack end-to-end tests: records every event, deletes messages with a banned word, and
owns approval prompts (only the intended user's click counts; a second click is told it is already decided)."""

from __future__ import annotations

from bot.actions import AnswerInteraction, DeleteMessage, SendMessage, UpdatePrompt
from bot.cog import Cog, CogContext, listener
from bot.commands import CommandInvocation, CommandReply, command
from bot.events import Event, MessageCreated
from bot.interactions import Click

OWNER = "U0OWNER"
BANNED = "badword"
# The prompts this cog owns (the presence cog owns "invite" and "draft").
PROMPT_KIND = "trial"


class RecorderCog(Cog):
    name = "slack_e2e"

    def __init__(self, ctx: CogContext) -> None:
        super().__init__(ctx)
        self.events: list[Event] = []
        self.decided: dict[str, str] = {}

    def of(self, kind: type[Event]) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @listener(Event)
    async def record(self, event: Event) -> None:
        self.events.append(event)

    @listener(MessageCreated)
    async def word_filter(self, event: MessageCreated):
        if not event.via_steward and BANNED in event.text.lower():
            return DeleteMessage(room=event.room, message_id=event.message_id, reason="banned word")
        return None

    async def cog_load(self) -> None:
        self.ctx.add_interaction(PROMPT_KIND, self.on_button)

    async def on_button(self, click: Click):
        event, key, choice = click.press, click.key, click.choice
        if event.interaction_id is None:
            return None
        if event.actor.id != OWNER:
            return AnswerInteraction(
                target_platform="slack", interaction_id=event.interaction_id, text="Only the agent's owner can decide."
            )
        if key in self.decided:
            return AnswerInteraction(
                target_platform="slack",
                interaction_id=event.interaction_id,
                text=f"Already decided: {self.decided[key]}.",
            )
        self.decided[key] = choice
        assert event.room is not None and event.message_id is not None
        return [
            UpdatePrompt(
                target_platform="slack",
                channel_id=event.room.channel,
                message_id=event.message_id,
                text=f"Trial {key}: {choice} by <@{event.actor.id}>",
            ),
            AnswerInteraction(
                target_platform="slack", interaction_id=event.interaction_id, text=f"Recorded: {choice}."
            ),
        ]

    @command("secret", "an admin-only command", admin_only=True)
    async def secret(self, inv: CommandInvocation) -> str:
        return "the secret is 42"

    @command("announce", "post a notice in this channel", usage="<text>")
    async def announce(self, inv: CommandInvocation) -> CommandReply:
        assert inv.room is not None
        return CommandReply("announced", actions=(SendMessage(room=inv.room, text=inv.raw, system=True),))
