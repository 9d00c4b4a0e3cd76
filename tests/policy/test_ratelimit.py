"""The one token bucket: refill by event time up to the capacity, spend when there is enough, say when to retry."""

from __future__ import annotations

import dataclasses
import math

import pytest

from policy.ratelimit import Take, TokenBucket, take


def test_a_full_bucket_allows_the_burst_then_refuses() -> None:
    bucket = TokenBucket.full(2, 10.0)
    assert bucket == TokenBucket(2.0, 10.0)
    first = take(bucket, now=10.0, rate=1.0, capacity=2)
    second = take(first.bucket, now=10.0, rate=1.0, capacity=2)
    third = take(second.bucket, now=10.0, rate=1.0, capacity=2)
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert third == Take(False, TokenBucket(0.0, 10.0), 1.0)


def test_refill_is_capped_and_time_never_runs_backwards() -> None:
    assert take(TokenBucket(0.0, 0.0), now=1000.0, rate=1.0, capacity=3).bucket == TokenBucket(2.0, 1000.0)
    late = take(TokenBucket(1.0, 50.0), now=40.0, rate=1.0, capacity=3)  # an event older than the bucket
    assert late == Take(True, TokenBucket(0.0, 50.0), 0.0)


def test_retry_after_and_cost() -> None:
    refused = take(TokenBucket(0.5, 0.0), now=0.0, rate=0.25, capacity=5, cost=2.0)
    assert not refused.allowed and refused.bucket == TokenBucket(0.5, 0.0)  # a refused take spends nothing
    assert refused.retry_after == pytest.approx(6.0)
    assert take(TokenBucket(0.0, 0.0), now=0.0, rate=0.0, capacity=1).retry_after == math.inf


def test_buckets_are_values() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        TokenBucket(1.0, 0.0).tokens = 2.0  # type: ignore[misc]
