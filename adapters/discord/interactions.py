"""A bounded, expiring store of interactions awaiting an answer.

A button click is deferred at once (Discord's 3-second rule) and answered later, when the cog that owns the prompt
has decided, with an ``AnswerInteraction`` naming the interaction id. Discord's interaction tokens live 15 minutes,
so entries expire; the store is bounded so a flood of clicks cannot grow memory without limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ExpiringStore(Generic[T]):
    def __init__(self, *, ttl: float, max_size: int, now: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_size < 1:
            raise ValueError("an expiring store needs a positive ttl and room for at least one entry")
        self.ttl = ttl
        self.max_size = max_size
        self._now = now
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self.evicted = 0  # entries pushed out by the size bound before they expired

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: str, value: T) -> None:
        self._purge()
        self._items.pop(key, None)
        self._items[key] = (self._now() + self.ttl, value)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)
            self.evicted += 1

    def get(self, key: str) -> T | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._now():
            del self._items[key]
            return None
        return value

    def pop(self, key: str) -> T | None:
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def _purge(self) -> None:
        now = self._now()
        # Entries are in insertion order and share one ttl, so the expired ones are at the front.
        while self._items:
            key, (expires, _value) = next(iter(self._items.items()))
            if expires > now:
                break
            del self._items[key]


class LruMap(Generic[T]):
    """A size-bounded mapping that forgets the least recently set key first."""

    def __init__(self, max_size: int) -> None:
        if max_size < 1:
            raise ValueError("an LRU map needs room for at least one entry")
        self.max_size = max_size
        self._items: OrderedDict[str, T] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def set(self, key: str, value: T) -> None:
        self._items.pop(key, None)
        self._items[key] = value
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def get(self, key: str) -> T | None:
        return self._items.get(key)
