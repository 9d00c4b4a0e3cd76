"""Keyed rate limits for the whole bot: one event-time token bucket (``policy/ratelimit.py``) per key.

Buckets live in a cachetools ``TTLCache`` whose clock is the latest event time seen: a key idle (by event time)
longer than it takes a bucket to refill is forgotten (a forgotten bucket is a full one, so forgetting changes no
answer), and at most ``max_keys`` are held.
"""

from __future__ import annotations

from cachetools import TTLCache

from policy.ratelimit import Take, TokenBucket, take


class RateLimiter:
    def __init__(
        self, *, rate: float, capacity: float, max_keys: int = 100_000, idle_seconds: float | None = None
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("a rate limit needs a positive rate and capacity")
        self.rate = rate
        self.capacity = capacity
        # Long enough to refill from empty: a bucket dropped after that would have been full again anyway.
        ttl = idle_seconds if idle_seconds is not None else max(1.0, capacity / rate)
        self._now = float("-inf")
        self._buckets: TTLCache[str, TokenBucket] = TTLCache(maxsize=max_keys, ttl=ttl, timer=self._event_time)

    def _event_time(self) -> float:
        return self._now

    def take(self, key: str, now: float, cost: float = 1.0) -> Take:
        self._now = max(self._now, now)
        result = take(self._buckets.get(key), now=now, rate=self.rate, capacity=self.capacity, cost=cost)
        self._buckets[key] = result.bucket
        return result

    def peek(self, key: str, now: float) -> float:
        """Tokens left for ``key`` at ``now``."""
        bucket = self._buckets.get(key)
        return self.capacity if bucket is None else bucket.level(now=now, rate=self.rate, capacity=self.capacity)

    def forget(self, key: str) -> None:
        """Drop ``key``'s bucket (a forgotten bucket is a full one): for a key that is gone for good."""
        self._buckets.pop(key, None)

    def expire(self, now: float | None = None) -> int:
        """Drop every bucket idle past the TTL at ``now`` (default: the latest event time seen); return how many.
        Writes expire as they go; this is for a periodic job when writes stop."""
        if now is not None:
            self._now = max(self._now, now)
        return len(self._buckets.expire())

    def __len__(self) -> int:
        return len(self._buckets)
