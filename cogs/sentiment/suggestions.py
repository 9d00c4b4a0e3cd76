"""Topic suggestions: notice when a room keeps talking about what a registered agent knows.

Agents' topics come from the ``agent_directory`` service when a cog provides one (an object with
``async def topics() -> dict[str, list[str]]``), else from ``[sentiment.suggestions.topics]``. A keyword is a word
("kubernetes") or a phrase ("machine learning"); matching is case-insensitive on whole words. Only match times
are kept per room, never the text.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_WORD = re.compile(r"[\w][\w+#.-]*[\w+#]|\w", re.UNICODE)


class AgentDirectory(Protocol):
    async def topics(self) -> dict[str, list[str]]: ...


def _norm(keyword: str) -> str:
    return " ".join(_WORD.findall(keyword.lower()))


class TopicIndex:
    """Keyword -> agents, built once per refresh; ``match`` scans a text once."""

    def __init__(self, topics: Mapping[str, Sequence[str]]) -> None:
        self.words: dict[str, set[str]] = {}
        self.phrases: dict[str, set[str]] = {}
        for agent, keywords in topics.items():
            if not isinstance(agent, str) or not agent:
                continue
            for keyword in keywords:
                if not isinstance(keyword, str):
                    continue
                norm = _norm(keyword)
                if not norm:
                    continue
                table = self.phrases if " " in norm else self.words
                table.setdefault(norm, set()).add(agent)
        self._phrase_re = (
            re.compile(
                r"(?<!\w)(" + "|".join(re.escape(p) for p in sorted(self.phrases, key=len, reverse=True)) + r")(?!\w)"
            )
            if self.phrases
            else None
        )

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def agents(self) -> set[str]:
        return {a for table in (self.words, self.phrases) for agents in table.values() for a in agents}

    def match(self, text: str) -> dict[str, set[str]]:
        """Agent -> the keywords of theirs that ``text`` contains."""
        found: dict[str, set[str]] = {}
        if not self:
            return found
        tokens = _WORD.findall(text.lower())
        for token in tokens:
            agents = self.words.get(token)
            if agents:
                for agent in agents:
                    found.setdefault(agent, set()).add(token)
        if self._phrase_re is not None:
            for m in self._phrase_re.finditer(" ".join(tokens)):
                for agent in self.phrases[m.group(1)]:
                    found.setdefault(agent, set()).add(m.group(1))
        return found


@dataclass(frozen=True, slots=True)
class Candidate:
    agent: str
    keywords: tuple[str, ...]


class RoomTopics:
    """Per room: when each agent's topics last matched (time and message number), bounded by ``min_matches``."""

    __slots__ = ("hits", "seq")

    def __init__(self) -> None:
        self.seq = 0
        self.hits: dict[str, deque[tuple[float, int, frozenset[str]]]] = {}

    def observe(
        self,
        at: float,
        matches: Mapping[str, set[str]],
        *,
        min_matches: int,
        window_messages: int,
        window_seconds: float,
    ) -> list[Candidate]:
        """Count this message; return the agents whose topics matched ``min_matches`` of the recent messages."""
        self.seq += 1
        out = []
        for agent, keywords in matches.items():
            hits = self.hits.get(agent)
            if hits is None or hits.maxlen != min_matches:
                hits = self.hits[agent] = deque(hits or (), maxlen=min_matches)
            hits.append((at, self.seq, frozenset(keywords)))
            oldest_at, oldest_seq, _ = hits[0]
            if (
                len(hits) == min_matches
                and at - oldest_at <= window_seconds
                and self.seq - oldest_seq < window_messages
            ):
                words = sorted(set().union(*(k for _, _, k in hits)))
                out.append(Candidate(agent, tuple(words)))
        # forget agents whose last match left the window, so the dict stays small
        for agent in [a for a, h in self.hits.items() if self.seq - h[-1][1] >= window_messages]:
            del self.hits[agent]
        return out

    def reset(self, agent: str) -> None:
        self.hits.pop(agent, None)


async def load_topics(directory: Any, fallback: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], str]:
    """The agents' topics and where they came from ("directory" or "config")."""
    if directory is None or not hasattr(directory, "topics"):
        return {k: list(v) for k, v in fallback.items()}, "config"
    topics = await directory.topics()
    if not isinstance(topics, Mapping):
        raise TypeError(f"agent_directory.topics() returned {type(topics).__name__}, not a mapping")
    return {str(k): [str(w) for w in v] for k, v in topics.items() if isinstance(v, (list, tuple, set))}, "directory"
