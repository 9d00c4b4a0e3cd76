"""What a room's recent history holds for the moderator's rules: one ``Recent`` a message, and ``History``, the same
messages as columns (what the rules scan on every message, read without building an object per message).

Plain data, no I/O: the hot-state store (``storage.moderation``) fills it, the rules in ``policy.moderation`` and
``policy.moderation_duplicates`` read it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol


class AuthorKind(enum.IntEnum):
    HUMAN = 0
    AGENT = 1
    BOT = 2


class Recent(NamedTuple):
    """One message a room saw, as the rule state keeps it: a payload key, a sketch and, for an agent's message the
    near-duplicate check compares, its canonical text's first ``WORDS_KEPT`` words as word codes (one character a
    word, ``policy.moderation_duplicates.word_codes``) and its number of words."""

    at: float
    author: str  # agent name; "" for humans and bots
    kind: AuthorKind
    message: int  # 64-bit hash of the message id (what replies point at)
    depth: int  # agent reply depth: 0 for humans, parent depth + 1 for an agent's reply
    key: int  # hash of the payload's matching form (0 when not an agent payload)
    sketch: tuple[int, ...]  # bottom-k shingle sketch (empty unless near-duplicates are checked)
    words: str = ""  # word codes of the canonical text's start ("" unless near-duplicates are checked)
    length: int = 0  # the canonical text's number of words


class SketchColumn(Protocol):
    """The sketches of a room's messages by position (a tuple, or a store's reader that decodes on access)."""

    def __getitem__(self, index: int, /) -> tuple[int, ...]: ...


class History:
    """A room's recent messages as columns, oldest first: what the rules scan on every message, read without
    building an object per message. ``sketch`` may decode on access, so that only the messages a near-duplicate
    check compares are decoded. ``History.of`` turns ``Recent`` entries into columns."""

    __slots__ = ("at", "author", "depth", "key", "kind", "length", "message", "sketch", "words")

    def __init__(
        self,
        at: Sequence[float],
        author: Sequence[str],
        kind: Sequence[int],
        message: Sequence[int],
        depth: Sequence[int],
        key: Sequence[int],
        sketch: SketchColumn,
        words: Sequence[str],
        length: Sequence[int],
    ) -> None:
        self.at = at
        self.author = author
        self.kind = kind  # AuthorKind values
        self.message = message
        self.depth = depth
        self.key = key
        self.sketch = sketch
        self.words = words
        self.length = length

    @classmethod
    def of(cls, entries: Iterable[Recent]) -> History:
        columns = tuple(zip(*entries, strict=True))
        if not columns:
            return cls((), (), (), (), (), (), (), (), ())
        at, author, kind, message, depth, key, sketch, words, length = columns
        return cls(at, author, kind, message, depth, key, sketch, words, length)

    def __len__(self) -> int:
        return len(self.at)

    def entry(self, index: int) -> Recent:
        return Recent(
            self.at[index],
            self.author[index],
            AuthorKind(self.kind[index]),
            self.message[index],
            self.depth[index],
            self.key[index],
            self.sketch[index],
            self.words[index],
            self.length[index],
        )

    def find(self, message: int) -> Recent | None:
        """The newest message whose id hash is ``message``, or None."""
        messages = self.message
        for index in range(len(messages) - 1, -1, -1):
            if messages[index] == message:
                return self.entry(index)
        return None


def as_history(history: History | Iterable[Recent]) -> History:
    return history if isinstance(history, History) else History.of(history)
