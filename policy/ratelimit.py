"""The one rate limit: an event-time token bucket.

A bucket holds up to ``capacity`` tokens (the burst) and refills at ``rate`` tokens a second, by the time of the
events themselves rather than the wall clock, so a replayed transcript is limited exactly as the live room was.
Pure values and functions: whoever keeps buckets (the moderator's room history, the core's ``RateLimiter``)
stores the returned bucket.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenBucket:
    tokens: float
    at: float  # event time of the last update

    @classmethod
    def full(cls, capacity: float, now: float) -> TokenBucket:
        return cls(float(capacity), now)

    def level(self, *, now: float, rate: float, capacity: float) -> float:
        """The tokens the bucket holds at ``now`` (an event older than the last update refills nothing)."""
        return min(float(capacity), self.tokens + max(0.0, now - self.at) * rate)


@dataclass(frozen=True, slots=True)
class Take:
    allowed: bool
    bucket: TokenBucket  # the bucket to keep: debited when allowed, refilled to ``now`` either way
    retry_after: float  # seconds until ``cost`` tokens are there again (0 when allowed)


def take(bucket: TokenBucket | None, *, now: float, rate: float, capacity: float, cost: float = 1.0) -> Take:
    """Take ``cost`` tokens from ``bucket`` (None: a full one) at event time ``now``."""
    if capacity <= 0 or cost > capacity:
        return Take(False, bucket or TokenBucket(0.0, now), float("inf"))
    tokens = float(capacity) if bucket is None else bucket.level(now=now, rate=rate, capacity=capacity)
    at = now if bucket is None else max(now, bucket.at)
    if tokens >= cost:
        return Take(True, TokenBucket(tokens - cost, at), 0.0)
    wait = (cost - tokens) / rate if rate > 0 else float("inf")
    return Take(False, TokenBucket(tokens, at), wait)
