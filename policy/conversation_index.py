"""The registered agents' names and topic keywords, indexed so that reading a message costs the same whatever the
roster: the message is cut into its words once and each word is looked up, instead of one search per agent.

A name (or a phrase) is found in a text when it occurs there with no name character (``[a-z0-9_-]``) just before
or just after it, on the lower-cased text. So every run of name characters inside a name is a whole run of the
text where the name occurs: a name made only of name characters ("coder", "u123-x") is found exactly when it is
one of the text's runs (a dictionary lookup); any other ("helper bot", "bot.v2") is looked for only when its
rarest run is one of the text's runs, and then checked by the rule itself. A name with no name character at all
("Роберт", an emoji) has no run to key it by: it is tested as a substring (in C) first, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_RUN = re.compile(r"[a-z0-9_\-]+")


def runs_of(lower: str) -> set[str]:
    """The runs of name characters of a lower-cased text (what a name or phrase must be one of, or contain)."""
    return set(_RUN.findall(lower))


def occurs_as_word(lower: str, word: str) -> bool:
    """Whether ``word`` occurs in ``lower`` with no name character just before or after it (``word`` is already
    stripped and lower-cased). The same answer as searching ``(?<![a-z0-9_-])<word>(?![a-z0-9_-])``."""
    size = len(word)
    at = lower.find(word)
    while at >= 0:
        end = at + size
        if (at == 0 or lower[at - 1] not in NAME_CHARS) and (end == len(lower) or lower[end] not in NAME_CHARS):
            return True
        at = lower.find(word, at + 1)
    return False


@dataclass(slots=True)
class _WordIndex(Generic[V]):
    """Words (stripped, lower-cased) each mapped to what it stands for: looked up by a text's runs."""

    exact: dict[str, list[V]]  # a word made of name characters only -> what it stands for
    keyed: dict[str, list[tuple[str, V]]]  # the longest run of any other word -> (word, what it stands for)
    loose: list[tuple[str, V]]  # words with no name character: (word, what it stands for)

    @classmethod
    def build(cls, words: Iterable[tuple[str, V]]) -> _WordIndex[V]:
        """Index ``(word, value)`` pairs; a word that is not one run is keyed by its rarest run among all the
        words (then its longest), so that a common run ("agent" in "Agent 17") keys few words."""
        index: _WordIndex[V] = cls({}, {}, [])
        split: list[tuple[str, V, list[str]]] = []
        frequency: dict[str, int] = {}
        for word, value in words:
            if not word:
                continue
            parts = _RUN.findall(word)
            if len(parts) == 1 and parts[0] == word:
                index.exact.setdefault(word, []).append(value)
            elif parts:
                split.append((word, value, parts))
                for part in set(parts):
                    frequency[part] = frequency.get(part, 0) + 1
            else:
                index.loose.append((word, value))
        for word, value, parts in split:
            key = min(parts, key=lambda part: (frequency[part], -len(part)))
            index.keyed.setdefault(key, []).append((word, value))
        return index

    def found(self, lower: str, runs: set[str]) -> list[V]:
        """What the words that occur in ``lower`` stand for (with repeats)."""
        out: list[V] = []
        exact, keyed = self.exact, self.keyed
        for run in runs:
            hit = exact.get(run)
            if hit is not None:
                out += hit
            maybe = keyed.get(run)
            if maybe is not None:
                out += [value for word, value in maybe if word in lower and occurs_as_word(lower, word)]
        out += [value for word, value in self.loose if word in lower and occurs_as_word(lower, word)]
        return out


class NameIndex:
    """Which agents a message names: by platform mention (a name or alias, lower-cased, equal to a mention) or by
    a name or alias occurring as a word of the text."""

    __slots__ = ("_mentions", "_words", "size")

    def __init__(self, agents: Iterable[tuple[str, Sequence[str]]]) -> None:
        mentions: dict[str, list[str]] = {}
        words: list[tuple[str, str]] = []
        size = 0
        for name, names in agents:
            size += 1
            for n in names:
                if n:
                    mentions.setdefault(n.lower(), []).append(name)
                    words.append((n.strip().lower(), name))
        self._mentions = mentions
        self._words = _WordIndex.build(words)
        self.size = size

    def named(self, lower: str, runs: set[str], mention_ids: Iterable[str]) -> set[str]:
        found = set(self._words.found(lower, runs))
        for mention in mention_ids:
            found.update(self._mentions.get(mention, ()))
        return found


class TopicIndex:
    """Per agent, the topic keywords a message hits: a single word (no space) among the text's words, a phrase
    (with a space) occurring as whole words."""

    __slots__ = ("_order", "_phrases", "_words", "size")

    def __init__(self, topics: Mapping[str, Sequence[str]]) -> None:
        self._order = {agent: i for i, agent in enumerate(topics)}
        self.size = len(self._order)
        singles: dict[str, list[tuple[str, str]]] = {}
        phrases: list[tuple[str, tuple[str, str]]] = []  # (phrase as matched, (agent, keyword as shown))
        for agent, keywords in topics.items():
            for k in keywords:
                shown = k.lower()
                if " " not in k:
                    singles.setdefault(shown, []).append((agent, shown))
                else:
                    phrases.append((k.strip().lower(), (agent, shown)))
        self._words = singles
        self._phrases = _WordIndex.build(phrases)

    def hits(self, lower: str, words: set[str], runs: set[str]) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        singles = self._words
        for word in words:
            for agent, keyword in singles.get(word, ()):
                found.setdefault(agent, set()).add(keyword)
        for agent, keyword in self._phrases.found(lower, runs):
            found.setdefault(agent, set()).add(keyword)
        order = self._order
        return {agent: frozenset(found[agent]) for agent in sorted(found, key=order.__getitem__)}
