"""Typed outbound actions. Cogs return them; the router hands each to the adapter of the platform it concerns."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from domain import AgentIdentity, Room


class ButtonStyle(enum.StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    custom_id: str
    style: ButtonStyle = ButtonStyle.SECONDARY


def button_id(kind: str, key: str | int, choice: str) -> str:
    """The custom id of a Steward button: ``steward:<kind>:<key>:<choice>`` (parsed by ``ButtonPressed.parts``)."""
    for part in (kind, str(key), choice):
        if ":" in part or not part:
            raise ValueError(f"button id parts must be non-empty and free of ':', got {part!r}")
    return f"steward:{kind}:{key}:{choice}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    @property
    def platform(self) -> str:
        room = getattr(self, "room", None)
        if isinstance(room, Room):
            return room.platform
        raise NotImplementedError(f"{type(self).__name__} must define its platform")


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage(Action):
    room: Room
    text: str
    reply_to: str | None = None
    thread_id: str | None = None
    buttons: tuple[Button, ...] = ()
    system: bool = False  # a Steward notice (shown as such by adapters that can)


@dataclass(frozen=True, slots=True, kw_only=True)
class PostAsAgent(Action):
    room: Room
    agent: AgentIdentity
    text: str
    reply_to: str | None = None
    thread_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMessage(Action):
    room: Room
    message_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeoutMember(Action):
    room: Room
    user_id: str
    seconds: int
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendDirectMessage(Action):
    target_platform: str
    user_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    fallback_room: Room | None = None  # where to post instead when the user cannot be DMed

    @property
    def platform(self) -> str:
        return self.target_platform


@dataclass(frozen=True, slots=True, kw_only=True)
class SendApprovalPrompt(Action):
    """A DM with Approve / Decline (or more) buttons, answered by one intended user."""

    target_platform: str
    user_id: str
    text: str
    kind: str  # e.g. "invite", "draft"
    key: str
    choices: tuple[tuple[str, str, ButtonStyle], ...] = (
        ("approve", "Approve", ButtonStyle.SUCCESS),
        ("decline", "Decline", ButtonStyle.DANGER),
    )
    fallback_room: Room | None = None
    # Without a fallback room: the server whose configured fallback channel to use first when the DM fails (the
    # server the prompt is about); the adapter never falls back to a channel nobody configured.
    fallback_server: str | None = None

    @property
    def platform(self) -> str:
        return self.target_platform

    @property
    def buttons(self) -> tuple[Button, ...]:
        return tuple(
            Button(label, button_id(self.kind, self.key, choice), style) for choice, label, style in self.choices
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePrompt(Action):
    """Rewrite a prompt message (e.g. to show an outcome) and remove its buttons."""

    target_platform: str
    channel_id: str
    message_id: str
    text: str

    @property
    def platform(self) -> str:
        return self.target_platform


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerInteraction(Action):
    """The answer to a button click or command, shown to the clicking user only when ``ephemeral``."""

    target_platform: str
    interaction_id: str
    text: str
    ephemeral: bool = True

    @property
    def platform(self) -> str:
        return self.target_platform


@dataclass(frozen=True, slots=True, kw_only=True)
class AddAgentToChannel(Action):
    room: Room
    agent: AgentIdentity


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveAgentFromChannel(Action):
    room: Room
    agent: AgentIdentity
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FindChannel(Action):
    """Look a channel up by name (``general``, no ``#``) in a server: the result's ``channel_id`` is its id, a
    failed result says there is none Steward can see. Platforms whose channel names are their ids (the console) do
    not perform it (``ActionRouter.supports``)."""

    room_platform: str
    server: str
    name: str

    @property
    def platform(self) -> str:
        return self.room_platform


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What the platform did with an action. A refused action is ``ok=False`` with the reason in ``error``, the
    platform's own short error in ``code`` (Slack's ``cant_delete_message``, Discord's ``50013``) and, when an
    operator can change something so that it works, what to change in ``fix``."""

    ok: bool
    message_id: str | None = None
    error: str | None = None
    channel_id: str | None = None  # where the message went (a DM channel, or the fallback room's channel)
    # The adapter did something else than asked and says so (e.g. "dm_failed_posted_in_fallback").
    note: str | None = None
    code: str | None = None
    fix: str | None = None

    @classmethod
    def failed(cls, error: str, *, code: str | None = None, fix: str | None = None) -> ActionResult:
        return cls(ok=False, error=error, code=code, fix=fix)
