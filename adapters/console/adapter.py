"""The console adapter's input side and life: a chat in the terminal, read line by line.

Type to speak as a human; ``/as <agent> <text>`` speaks as an agent through the agent publisher, and the decision
is shown with its rule and reason. Everything a cog does (deletions, warnings, prompts with buttons) is printed.
It reads standard input line by line and handles each line completely before reading the next, so piping a script
into ``steward run`` gives the same output every time. Input is read without a thread (``stdin.LineReader``), so
Ctrl-C or SIGTERM stops the chat at once, even while it waits for a line.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any

from adapters.console.config import ConsoleSettings
from adapters.console.output import ConsoleOutput
from adapters.console.stdin import LineReader
from bot.commands import CommandError, CommandInvocation
from bot.events import ButtonPressed, MemberJoined, MessageCreated, ModerationDecision, ReactionAdded
from bot.logging import get_logger
from domain import Actor, ActorKind, Room
from storage.core import AgentRecord

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core

log = get_logger("steward.console")

CONSOLE_HELP = """\
console:
  <text>                      say something as yourself
  /as <agent> [^N] <text>     speak as an agent, through the moderator (^N replies to message #N)
  /direct <agent> [^N] <text> an agent posting around the gate (moderated after the fact)
  /user <name> [^N] <text>    speak as another person
  /room <name>                move to another room
  /react <N> <emoji>          react to message #N
  /press <button-id>          press a button Steward showed you
  /join <name>                someone joins the room
  /quit                       leave"""


class ConsoleAdapter(ConsoleOutput):
    """The terminal chat: reads lines, turns them into events, commands and agent posts."""

    def __init__(
        self,
        config: ConsoleSettings | None = None,
        *,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
    ) -> None:
        super().__init__(stdout or sys.stdout)
        self.config = config or ConsoleSettings()
        self.stdin = stdin or sys.stdin
        self.room = Room(self.platform, self.config.server, self.config.room)
        self.me = Actor(self.platform, self.config.user, ActorKind.HUMAN, self.config.user)
        self._interactions = itertools.count(1)
        self._closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleAdapter:
        return cls(settings.section_as(ConsoleSettings, "console"))

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self, app: Core) -> None:
        await super().start(app)
        app.bus.subscribe(ModerationDecision, self._show_decision, owner="console", name="console.show_decision")
        self._say(f"Steward console: you are {self.me.name} in #{self.room.channel}. /help lists the commands.")
        self._reader = asyncio.create_task(self._read_loop(), name="steward-console-reader")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            reader.cancel()
            await asyncio.wait([reader])  # the read ends at once: nothing waits on a thread
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def health(self) -> dict[str, Any]:
        return {"up": self.app is not None and not self._closed.is_set(), "room": self.room.key}

    async def _read_loop(self) -> None:
        try:
            await self._read_lines(LineReader(self.stdin), interactive=self.stdin.isatty())
        except Exception as exc:
            log.exception("console_failed", error=repr(exc))
            self._say(f"! console error: {exc}")
        finally:
            # Cancelled by stop() (a signal) or at the end of the input: either way the chat is over.
            self._closed.set()

    async def _read_lines(self, reader: LineReader, *, interactive: bool) -> None:
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            line = await reader.readline()
            if not line or not await self.handle_line(line.rstrip("\n")):
                break
        if self.app is not None:
            await self.app.bus.join()

    # --- input -----------------------------------------------------------------------------------------------------

    async def handle_line(self, line: str) -> bool:
        """Handle one line of input completely (all resulting events and actions); False means: quit."""
        app = self._app
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            word, _, rest = text[1:].partition(" ")
            word = word.lower()
            if word in ("quit", "exit"):
                return False
            handler: Callable[[str], Awaitable[None]] | None = getattr(self, f"_cmd_{word}", None)
            if handler is not None:
                await handler(rest.strip())
            else:
                await self._run_command(text)
        else:
            await self._speak(self.me, text, reply_to=None)
        await app.bus.join()
        return True

    async def _speak(self, author: Actor, text: str, *, reply_to: str | None, via_gate_bypass: bool = False) -> None:
        message_id = str(next(self._ids))
        self._authors[message_id] = author
        suffix = " (agent, not gated)" if via_gate_bypass else ""
        self._say(f"#{message_id} [{self.room.channel}] {author.name}{suffix}: {text}")
        await self._app.publish(
            MessageCreated(
                at=self._app.clock.now(),
                room=self.room,
                message_id=message_id,
                author=author,
                text=text,
                reply_to=reply_to,
                reply_to_author=self._authors.get(reply_to) if reply_to else None,
            )
        )

    @staticmethod
    def _speaker_line(rest: str) -> tuple[str, str | None, str] | None:
        """``<name> [^N] <text>`` as (name, replied-to message id, text); None when a part is missing."""
        name, _, body = rest.partition(" ")
        body = body.strip()
        reply_to = None
        if body.startswith("^"):
            ref, _, body = body.partition(" ")
            reply_to, body = ref[1:] or None, body.strip()
        return (name, reply_to, body) if name and body else None

    async def _cmd_as(self, rest: str) -> None:
        parsed = self._speaker_line(rest)
        if parsed is None:
            self._say("usage: /as <agent> [^N] <text>")
            return
        name, reply_to, body = parsed
        agent = await self._agent(name)
        if agent is None:
            return
        result = await self._app.publisher.submit(agent, self.room, body, reply_to=reply_to, at=self._app.clock.now())
        self._show_publish(result)

    async def _cmd_direct(self, rest: str) -> None:
        parsed = self._speaker_line(rest)
        if parsed is None:
            self._say("usage: /direct <agent> [^N] <text>")
            return
        name, reply_to, body = parsed
        agent = await self._agent(name)
        if agent is not None:
            actor = Actor(self.platform, agent.name, ActorKind.AGENT, agent.display_name or agent.name)
            await self._speak(actor, body, reply_to=reply_to, via_gate_bypass=True)

    async def _cmd_user(self, rest: str) -> None:
        parsed = self._speaker_line(rest)
        if parsed is None:
            self._say("usage: /user <name> [^N] <text>")
            return
        name, reply_to, body = parsed
        await self._speak(Actor(self.platform, name, ActorKind.HUMAN, name), body, reply_to=reply_to)

    async def _cmd_room(self, rest: str) -> None:
        name = rest.strip().lstrip("#")
        if not name or " " in name or ":" in name:
            self._say("usage: /room <name> (one word)")
            return
        self.room = Room(self.platform, self.config.server, name)
        self._say(f"you are in #{name}")

    async def _cmd_react(self, rest: str) -> None:
        parts = rest.split()
        if len(parts) != 2:
            self._say("usage: /react <N> <emoji>")
            return
        message_id, emoji = parts[0].lstrip("#"), parts[1]
        await self._app.publish(
            ReactionAdded(
                at=self._app.clock.now(),
                room=self.room,
                message_id=message_id,
                actor=self.me,
                emoji=emoji,
                message_author=self._authors.get(message_id),
            )
        )

    async def _cmd_press(self, rest: str) -> None:
        custom_id = rest.strip()
        if not custom_id.startswith("steward:"):
            self._say("usage: /press <button-id>, e.g. /press steward:invite:1:approve")
            return
        await self._app.publish(
            ButtonPressed(
                at=self._app.clock.now(),
                actor=self.me,
                custom_id=custom_id,
                room=self.room,
                interaction_id=f"c{next(self._interactions)}",
            )
        )

    async def _cmd_join(self, rest: str) -> None:
        name = rest.strip()
        if not name:
            self._say("usage: /join <name>")
            return
        await self._app.publish(
            MemberJoined(
                at=self._app.clock.now(), room=self.room, member=Actor(self.platform, name, ActorKind.HUMAN, name)
            )
        )
        self._say(f"{name} joined #{self.room.channel}")

    async def _cmd_help(self, rest: str) -> None:
        self._say(CONSOLE_HELP + "\nsteward (type /<command>):\n" + _indent(self._app.commands.help_text()))

    async def _run_command(self, text: str) -> None:
        try:
            inv = CommandInvocation.parse(text, actor=self.me, room=self.room, is_admin=True)
        except CommandError as exc:
            self._say(f"! {exc}")
            return
        reply = await self._app.commands.invoke(inv)
        self._say(reply.text if reply.ok else f"! {reply.text}")
        for action in reply.actions:
            await self._app.router.perform(action)

    async def _agent(self, name: str) -> AgentRecord | None:
        """The registered agent ``name``; in the console an unknown name is registered on first use, owned by you."""
        agents = self._app.agents
        agent = await agents.get(name)
        if agent is None:
            try:
                agent = await agents.register(AgentRecord(name=name, platform=self.platform, owner_id=self.me.id))
            except ValueError as exc:
                self._say(f"! {exc}")
                return None
            self._say(f"(registered agent {name}, owned by {self.me.name})")
        return agent

    # --- output ----------------------------------------------------------------------------------------------------


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
