"""Button clicks, routed by the custom id's prefix to the one cog that owns it.

A Steward button's id is ``steward:<kind>:<key>:<choice>`` (``bot.actions.button_id``). A cog registers the kinds
it owns (``ctx.add_interaction("invite", handler)``); the router hears every ``ButtonPressed`` once, parses the id
once, and calls only the owner's handler. A click nobody owns (an old button of a cog since disabled, a forged
id) is answered "no longer active", logged and counted as a rejected input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.actions import Action, AnswerInteraction, SendDirectMessage
from bot.bus import EventBus
from bot.events import ButtonPressed
from bot.logging import get_logger
from bot.metrics import Metrics

log = get_logger("steward.interactions")


@dataclass(frozen=True, slots=True)
class Click:
    """One parsed click: the event, and the three parts of its id."""

    press: ButtonPressed
    kind: str
    key: str
    choice: str


InteractionHandler = Callable[[Click], Awaitable[Sequence[Action] | None]]


def answer(press: ButtonPressed, text: str) -> Action:
    """Answer the person who clicked, privately: in the interaction when the platform has one, else in a DM."""
    if press.interaction_id:
        return AnswerInteraction(
            target_platform=press.actor.platform, interaction_id=press.interaction_id, text=text, ephemeral=True
        )
    return SendDirectMessage(target_platform=press.actor.platform, user_id=press.actor.id, text=text)


class InteractionRouter:
    def __init__(self, bus: EventBus, metrics: Metrics) -> None:
        self._handlers: dict[str, tuple[str, InteractionHandler]] = {}
        self._metrics = metrics
        bus.subscribe(ButtonPressed, self._route, owner="core", name="core.interactions")

    def register(self, kind: str, handler: InteractionHandler, *, owner: str) -> None:
        if not kind or ":" in kind:
            raise ValueError(f"an interaction prefix must be non-empty and free of ':', got {kind!r}")
        held = self._handlers.get(kind)
        if held is not None:
            raise ValueError(f"interaction prefix {kind!r} is already owned by {held[0]!r}")
        self._handlers[kind] = (owner, handler)

    def remove_owner(self, owner: str) -> None:
        for kind in [k for k, (o, _h) in self._handlers.items() if o == owner]:
            del self._handlers[kind]

    def owners(self) -> dict[str, str]:
        return {kind: owner for kind, (owner, _h) in self._handlers.items()}

    async def _route(self, press: ButtonPressed) -> Sequence[Action] | None:
        parts = press.parts
        held = self._handlers.get(parts[0]) if parts is not None else None
        if parts is None or held is None:
            reason = "malformed_id" if parts is None else "unowned_prefix"
            self._metrics.rejected_input.labels("interaction", reason).inc()
            log.warning("interaction_unrouted", custom_id=press.custom_id[:200], reason=reason, actor=press.actor.id)
            return [answer(press, "This button is no longer active.")]
        return await held[1](Click(press, *parts))
