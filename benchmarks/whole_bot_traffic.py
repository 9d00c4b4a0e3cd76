"""The whole-bot benchmark's traffic: a seeded mix of people, agents and bots across many rooms.

``generate`` opens every room with one person's message (the fill, so that every room is active), then makes the
feed: people and agents talking in a few busy rooms and across all the others, replies to people and to agents,
agents repeating themselves and nearly so, people naming and @-mentioning agents, questions, action items,
filtered words, insults, links, long texts and plain bots. The same arguments give the same lines.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass
from typing import Any

T0 = 1_800_000_000.0  # traffic time of the first message
FILL_STEP = 0.001  # seconds of traffic time between the fill's messages
FEED_STEP = 0.05  # between the feed's (20 messages a second in all)
BUSY_ROOMS = 32
WORDS = (
    "the deploy build test release branch merge review ticket issue bug fix patch docs api cache queue worker "
    "server client latency error timeout retry metric alert dashboard config flag rollout rollback schema index "
    "query table migration backup restore token secret key cert login session user team plan sprint standup "
    "design draft spec proposal budget cost estimate deadline launch customer feedback survey report chart graph "
    "today tomorrow yesterday morning later soon maybe thanks great nice sure okay agreed wait hold please sorry "
    "think know need want like looks works fails broke ships runs passes blocks helps love hate awful good bad"
).split()
MOODS = ("this is great, thanks!", "ugh this is awful and broken again", "not bad at all", "I love it :)", "meh")
INSULTS = ("you are such an idiot", "shut up you stupid moron", "what a worthless piece of garbage, idiot")
NAMES = ("nova", "atlas", "scout", "echo", "sage", "pixel", "orbit", "quill", "tally", "relay")


@dataclass(frozen=True, slots=True)
class Line:
    """One message of the traffic. ``reply_to`` is the index of an earlier line of the same room."""

    n: int
    kind: str  # "human", "agent" or "bot"
    room: int
    author: str
    text: str
    at: float
    reply_to: int | None = None
    mentions: tuple[str, ...] = ()


def agent_names(count: int) -> list[str]:
    return [f"{NAMES[i % len(NAMES)]}{i}" for i in range(count)]


class _Generator:
    def __init__(self, rooms: int, agents: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.rooms = rooms
        self.names = agent_names(agents)
        self.regulars = [self.rng.sample(self.names, min(3, agents)) for _ in range(rooms)]
        self.lines: list[Line] = []
        self.recent: dict[int, deque[int]] = {}  # per room, its last lines
        self.said: dict[tuple[str, int], str] = {}  # an author's last text in a room

    def words(self, low: int = 4, high: int = 16) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high)))

    def add(self, kind: str, room: int, author: str, text: str, at: float, **extra: Any) -> None:
        line = Line(len(self.lines), kind, room, author, text, at, **extra)
        self.lines.append(line)
        self.recent.setdefault(room, deque(maxlen=8)).append(line.n)
        self.said[(author, room)] = text

    def last_of(self, room: int, kind: str) -> int | None:
        for n in reversed(self.recent.get(room, ())):
            if self.lines[n].kind == kind:
                return n
        return None

    def human(self, room: int, at: float) -> None:
        author = f"u{room % 97}-{self.rng.randrange(6)}"
        roll, agent = self.rng.random(), self.rng.choice(self.regulars[room])
        mentions: tuple[str, ...] = ()
        if roll < 0.03 and (author, room) in self.said:
            text = self.said[(author, room)]  # a person repeating themselves
        elif roll < 0.10:
            text, mentions = f"@{agent} can you {self.words(3, 8)}?", (agent,)
        elif roll < 0.16:
            text = f"{agent} {self.words(3, 10)}"
        elif roll < 0.22:
            text = self.words(3, 10) + "?"
        elif roll < 0.25:
            text = "TODO: " + self.words(3, 8)
        elif roll < 0.33:
            text = self.rng.choice(MOODS)
        elif roll < 0.35:
            text = self.rng.choice(INSULTS)
        elif roll < 0.36:
            text = f"{self.words(3, 6)} darn {self.words(2, 5)}"
        else:
            text = self.words()
        reply = self.last_of(room, "agent") if self.rng.random() < 0.3 else None
        self.add("human", room, author, text, at, reply_to=reply, mentions=mentions)

    def agent(self, room: int, at: float) -> None:
        author = self.rng.choice(self.regulars[room])
        roll = self.rng.random()
        previous = self.said.get((author, room))
        if roll < 0.08 and previous:
            text = previous  # a duplicate
        elif roll < 0.12 and previous:
            text = previous + self.rng.choice((" ok", "!", " (updated)"))  # a near-duplicate
        elif roll < 0.17:
            text = f"@{self.rng.choice(self.names)} {self.words(4, 10)}"
        elif roll < 0.18:
            text = f"@here {self.words(4, 8)}"
        elif roll < 0.20:
            text = f"see https://example.com/{self.rng.randrange(1000)} for {self.words(3, 6)}"
        elif roll < 0.21:
            text = " ".join(self.rng.choices(WORDS, k=250))
        elif roll < 0.22:
            text = self.rng.choice(INSULTS)
        else:
            text = self.words(6, 24)
        pick = self.rng.random()
        reply = self.last_of(room, "human") if pick < 0.5 else self.last_of(room, "agent") if pick < 0.7 else None
        self.add("agent", room, author, text, at, reply_to=reply)

    def room(self, busy: list[int], spread: itertools.count[int]) -> int:
        if self.rng.random() < 0.01:
            busy[self.rng.randrange(len(busy))] = self.rng.randrange(self.rooms)
        if self.rng.random() < 0.3:
            return next(spread) % self.rooms
        return self.rng.choice(busy)


def generate(rooms: int, agents: int, messages: int, seed: int = 7) -> tuple[list[Line], int]:
    """The fill (one person's message in every room) and then ``messages`` lines of feed; returns the lines and
    where the feed starts."""
    gen = _Generator(rooms, agents, seed)
    for room in range(rooms):
        gen.add("human", room, f"u{room % 97}-0", f"morning all, {gen.words(2, 8)}", T0 + room * FILL_STEP)
    start = len(gen.lines)
    begin = T0 + rooms * FILL_STEP + 1.0
    busy = [gen.rng.randrange(rooms) for _ in range(min(BUSY_ROOMS, rooms))]
    spread = itertools.count(gen.rng.randrange(rooms))
    for i in range(messages):
        at, room, roll = begin + i * FEED_STEP, gen.room(busy, spread), gen.rng.random()
        if roll < 0.42:
            gen.agent(room, at)
        elif roll < 0.46:
            gen.add("bot", room, "ci-bot", f"Build #{gen.rng.randrange(10_000)} passed", at)
        else:
            gen.human(room, at)
    return gen.lines, start
