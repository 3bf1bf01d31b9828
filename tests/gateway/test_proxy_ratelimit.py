"""The per-key token bucket (SPEC §2 step 5) with a hand-driven clock: pure, no server."""

from __future__ import annotations

from gateway.ratelimit import RateLimiter, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_one_token_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == 0.5
    clock.now += 0.5
    assert limiter.take("k") == 0.0
    assert limiter.take("k") > 0


def test_refused_attempts_do_not_consume_tokens() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    assert limiter.take("k") == 0.0
    for _ in range(5):
        clock.now += 0.1
        assert limiter.take("k") > 0
    clock.now += 0.5
    assert limiter.take("k") == 0.0


def test_keys_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_burst_zero_means_the_rate_rounded_up_and_at_least_one() -> None:
    clock = Clock()
    limiter = RateLimiter(2.5, 0, clock)
    assert [limiter.take("k") == 0.0 for _ in range(4)] == [True, True, True, False]
    slow = RateLimiter(0.1, 0, clock)
    assert slow.take("k") == 0.0
    assert slow.take("k") > 0


def test_idle_buckets_are_pruned_when_the_table_is_large() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    for i in range(10_000):
        limiter.take(i)
    clock.now += 5
    limiter.take("new")
    assert len(limiter._buckets) == 1


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after(0.01) == "1"
    assert retry_after(1.0) == "1"
    assert retry_after(1.2) == "2"
