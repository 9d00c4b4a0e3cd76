"""One rate limiter for the whole bot: a token bucket over event time, as pure values.

A ``TokenBucket`` holds ``tokens`` as they were at time ``at``; ``take`` refills it at ``rate`` tokens a second up to
``capacity`` (the burst), up to ``now``, and spends ``cost`` when that many are there. Nothing here reads a clock or
keeps state: the caller passes the event time and stores the bucket that comes back, so a replay decides the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TokenBucket:
    tokens: float
    at: float

    @classmethod
    def full(cls, capacity: float, now: float) -> TokenBucket:
        return cls(float(capacity), now)


@dataclass(frozen=True, slots=True)
class Take:
    allowed: bool
    bucket: TokenBucket  # the bucket to keep: refilled up to ``now``, less ``cost`` when allowed
    retry_after: float  # seconds until ``cost`` tokens are there (0 when allowed)


def take(bucket: TokenBucket, *, now: float, rate: float, capacity: float, cost: float = 1.0) -> Take:
    """Refill ``bucket`` up to ``now`` (never above ``capacity``; time never runs backwards) and spend ``cost``
    tokens when it holds that many. A refused take spends nothing."""
    elapsed = now - bucket.at
    tokens = bucket.tokens + elapsed * rate if elapsed > 0 else bucket.tokens
    if tokens > capacity:
        tokens = float(capacity)
    at = now if now > bucket.at else bucket.at
    if tokens >= cost:
        return Take(True, TokenBucket(tokens - cost, at), 0.0)
    retry_after = (cost - tokens) / rate if rate > 0 else math.inf
    return Take(False, TokenBucket(tokens, at), retry_after)
