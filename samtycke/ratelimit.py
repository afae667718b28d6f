"""Small in-memory sliding-window limiters (login attempts and the like).

Keys are whatever the caller chooses; callers pass a hash, never a raw address, so even
memory holds no IP beyond the request that carried it.

Every key costs a deque (about 600 bytes however few hits it holds), and a public endpoint
sees keys from every network that calls it, so the table is bounded twice: by age, a sweep
once a window forgets the keys with no hit inside it; by count, a key first seen while
``max_keys`` are held pushes out the longest-held one, whose network merely starts afresh.

``Throttle`` checks one attempt against several limits at once (per network, per account,
for everyone): an attempt any limit refuses is counted by none, so a refused flood does not
prolong its own lock-out.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

MAX_KEYS = 20_000


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = clock() + window

    def __len__(self) -> int:
        return len(self._hits)

    def allow(self, key: str) -> bool:
        """Count an attempt under ``key`` if the limit allows it."""
        if not self.allows(key):
            return False
        self.record(key)
        return True

    def allows(self, key: str) -> bool:
        """Whether an attempt under ``key`` is within the limit now, without counting it."""
        hits = self._hits.get(key)
        if not hits:
            return True
        cutoff = self.clock() - self.window
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return len(hits) < self.limit

    def record(self, key: str) -> None:
        now = self.clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            while len(self._hits) >= self.max_keys:
                del self._hits[next(iter(self._hits))]
            hits = self._hits[key] = deque()
        hits.append(now)

    def _sweep(self, now: float) -> None:
        """Forget every key whose last hit left the window: none of them limits anything now."""
        cutoff = now - self.window
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > cutoff}
        self._next_sweep = now + self.window

    def retry_after(self, key: str) -> int:
        hits = self._hits.get(key)
        if not hits:
            return 0
        return max(1, int(hits[0] + self.window - self.clock()) + 1)


class Throttle:
    """Named limiters checked together; ``allow`` takes each limiter's key for one attempt."""

    def __init__(self, limiters: Mapping[str, RateLimiter]) -> None:
        self.limiters = dict(limiters)

    def allow(self, keys: Mapping[str, str]) -> int:
        """0 when every limiter allows the attempt (then each counts it); else seconds to wait."""
        refusing = [
            self.limiters[name].retry_after(key)
            for name, key in keys.items()
            if not self.limiters[name].allows(key)
        ]
        if refusing:
            return max(refusing)
        for name, key in keys.items():
            self.limiters[name].record(key)
        return 0
