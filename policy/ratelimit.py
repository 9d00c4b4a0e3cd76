"""One rate limiter for the whole bot: a token bucket over event time, as pure values.

A ``TokenBucket`` holds ``tokens`` as they were at time ``at``; ``take`` refills it at ``rate`` tokens a second up to
``capacity`` (the burst), up to ``now``, and spends ``cost`` when that many are there. Nothing here reads a clock or
keeps state: the caller passes the event time and stores the bucket that comes back, so a replay decides the same.
Whoever keeps buckets (the moderator's room history, the core's ``bot.ratelimit.RateLimiter``) stores the result.
"""

from __future__ import annotations

import math
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
        elapsed = now - self.at
        tokens = self.tokens + elapsed * rate if elapsed > 0 else self.tokens
        return float(capacity) if tokens > capacity else tokens


@dataclass(frozen=True, slots=True)
class Take:
    allowed: bool
    bucket: TokenBucket  # the bucket to keep: refilled up to ``now``, less ``cost`` when allowed
    retry_after: float  # seconds until ``cost`` tokens are there (0 when allowed)


def take(bucket: TokenBucket | None, *, now: float, rate: float, capacity: float, cost: float = 1.0) -> Take:
    """Refill ``bucket`` (None: a full one) up to ``now`` (never above ``capacity``; time never runs backwards) and
    spend ``cost`` tokens when it holds that many. A refused take spends nothing."""
    if bucket is None:
        bucket = TokenBucket(float(capacity), now)
    elapsed = now - bucket.at
    tokens = bucket.tokens + elapsed * rate if elapsed > 0 else bucket.tokens
    if tokens > capacity:
        tokens = float(capacity)
    at = now if now > bucket.at else bucket.at
    if tokens >= cost:
        return Take(True, TokenBucket(tokens - cost, at), 0.0)
    retry_after = (cost - tokens) / rate if rate > 0 and cost <= capacity else math.inf
    return Take(False, TokenBucket(tokens, at), retry_after)
