"""How many requests each client network had refused lately, in bounded memory.

A client that keeps sending what samtycke refuses (oversized headers, bodies that are not
JSON, bulk requests of invalid hits) costs the server a little per request, but nothing
stops it sending them as fast as they are answered, and then it takes a share of the one
event loop in proportion to its rate.  ``RefusalBudget`` counts refusals per network so
that the web edge can answer such a network at once, without reading anything it sent
(``samtycke.web.penalty``).

The window slides the cheap way: two fixed windows, the current one and the one before,
with the one before weighed by how much of it still lies within ``window`` seconds.  Per
network that is two integers instead of a timestamp per refusal, so a flood of refusals
from many networks costs at most ``max_keys`` entries per window; a network first seen
while the table is full goes uncounted until the window turns.  Keys are whatever the
caller chooses; the web edge passes a keyed hash of the network, never an address.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_KEYS = 65_536


class RefusalBudget:
    """At most ``limit`` refusals per key in any ``window`` seconds; 0 counts nothing."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._start = clock()  # when the current window began
        self._current: dict[bytes, int] = {}
        self._previous: dict[bytes, int] = {}
        self._answered: dict[bytes, int] = {}  # answers to networks over the limit, this window
        # Keys that may be over the limit: while there are none, nobody needs to be looked up.
        self._suspects: set[bytes] = set()

    def _turn(self, now: float) -> float:
        """Move on to the window ``now`` falls in; how far into it ``now`` is, from 0 to 1."""
        elapsed = now - self._start
        if elapsed >= self.window:
            self._previous = self._current if elapsed < 2 * self.window else {}
            self._current = {}
            self._answered = {}
            self._start += elapsed // self.window * self.window
            # Nothing counted yet in the new window: only the previous one can put a key over.
            self._suspects = {key for key, count in self._previous.items() if count >= self.limit}
        return (now - self._start) / self.window

    def _estimate(self, key: bytes, into: float) -> float:
        return self._previous.get(key, 0) * (1 - into) + self._current.get(key, 0)

    def anyone_over(self) -> bool:
        """Whether any key may be over the limit now (cheap: no key is needed to ask)."""
        if self.limit <= 0:
            return False
        self._turn(self.clock())
        return bool(self._suspects)

    def over(self, key: bytes) -> bool:
        """Whether ``key`` has had ``limit`` refusals or more in the last ``window`` seconds."""
        if key not in self._suspects:
            return False
        if self._estimate(key, self._turn(self.clock())) >= self.limit:
            return True
        self._suspects.discard(key)
        return False

    def refused(self, key: bytes) -> None:
        """Count a refusal under ``key``."""
        if self.limit <= 0:
            return
        into = self._turn(self.clock())
        count = self._current.get(key)
        if count is None and len(self._current) >= self.max_keys:
            return
        self._current[key] = (count or 0) + 1
        if self._estimate(key, into) >= self.limit:
            self._suspects.add(key)

    def answered(self, key: bytes) -> int:
        """Count an answer to ``key`` while it is over the limit; how many it has had this window."""
        self._turn(self.clock())
        count = self._answered.get(key, 0) + 1
        self._answered[key] = count  # only keys over the limit get here, so this stays small
        return count

    def retry_after(self, key: bytes) -> int:
        """Whole seconds until ``key`` is under the limit again, if it sends nothing refused meanwhile."""
        now = self.clock()
        into = self._turn(now)
        previous, current = self._previous.get(key, 0), self._current.get(key, 0)
        if current < self.limit:
            # The previous window's share fades until the estimate drops below the limit.
            fraction = 1 - (self.limit - current) / previous if previous else into
            wait = (fraction - into) * self.window
        else:
            # Only once this window is the previous one can its count fade.
            wait = (1 - into) * self.window + (1 - self.limit / current) * self.window
        return max(1, math.floor(wait) + 1)  # strictly past the moment it reaches the limit
