"""The in-memory rate limiters stay bounded under a flood of distinct keys, and still limit."""

from __future__ import annotations

from samtycke.ratelimit import RateLimiter, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_distinct_keys_never_holds_more_than_the_cap() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 60.0, clock, max_keys=1_000)
    held = []
    for n in range(50_000):
        assert limiter.allow(f"network-{n}")
        held.append(len(limiter))
    assert max(held) == 1_000
    # The newest keys are the ones kept: the latest network is still counted.
    for _ in range(4):
        assert limiter.allow("network-49999")
    assert not limiter.allow("network-49999")


def test_keys_whose_hits_left_the_window_are_forgotten_once_a_window() -> None:
    clock = Clock()
    limiter = RateLimiter(5, 60.0, clock, max_keys=1_000_000)
    for minute in range(30):
        for n in range(2_000):
            limiter.allow(f"{minute}-{n}")
        clock.now += 30.0
    # Far below the cap: only the keys of the last window and a half are held.
    assert len(limiter) <= 3 * 2_000


def test_the_limit_holds_for_a_key_among_a_flood_below_the_cap() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, clock, max_keys=10_000)
    assert [limiter.allow("steady") for _ in range(4)] == [True, True, True, False]
    for n in range(5_000):
        limiter.allow(f"other-{n}")
    assert not limiter.allow("steady")
    assert limiter.retry_after("steady") == 61
    clock.now += 61.0
    assert limiter.allow("steady")


def test_a_throttle_refusing_a_flood_stays_bounded() -> None:
    clock = Clock()
    throttle = Throttle(
        {"network": RateLimiter(10, 300.0, clock, max_keys=500), "everyone": RateLimiter(100, 60.0, clock)}
    )
    refused = 0
    for n in range(20_000):
        refused += throttle.allow({"network": f"net-{n}", "everyone": "all"}) > 0
        clock.now += 0.01
    assert refused > 0
    assert len(throttle.limiters["network"]) <= 500
    assert len(throttle.limiters["everyone"]) == 1
