"""How much one response spends on expiring cookies, and which cookies were expired lately.

Each cookie the browser sends without consent takes one ``Set-Cookie`` per domain and
path it may be stored under.  Expiring every name under every variant on every response
let a small request buy a response of megabytes, and made ordinary responses too large
for reverse proxies that keep response headers in a 4 or 8 KB buffer.  So:

- a response expires at most ``MAX_NAMES`` names in at most ``MAX_BYTES`` of headers (at
  least one name, whatever its size); the browser sends the rest again on its next
  request, minus those just expired, so all of them go within a few responses;
- a cookie is expired in ``TIERS`` steps: first at ``/`` and its declared path, where
  nearly every cookie lives, under each configured domain; only if the browser sends it
  again, at the other ancestors of the request's path as well;
- a cookie expired lately is not expired again for ``REMEMBER_SECONDS`` once every step
  was sent: the page's parallel requests, sent before the browser saw the expiry, still
  carry it, and one stored where no configured domain or path reaches comes back
  whatever is sent.

The memory is keyed by a keyed hash of the site, the cookie's name and its value: the
cookie itself, never the client's address.  It lives in process memory only, holds at
most ``MAX_REMEMBERED`` keys and forgets the oldest first, so a flood of made-up cookies
costs bounded memory and at worst an expiry sent once more.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict

MAX_NAMES = 50
# Room for the site's own headers beside ours in a 4 KB proxy buffer.
MAX_BYTES = 3 * 1024
REMEMBER_SECONDS = 600.0
MAX_REMEMBERED = 50_000
TIERS = 2


class Budget:
    """What one response may still spend on expiries."""

    def __init__(self, names: int = MAX_NAMES, size: int = MAX_BYTES) -> None:
        self.names = names
        self.size = size
        self.spent_names = 0
        self.spent_size = 0

    @property
    def exhausted(self) -> bool:
        return self.spent_names >= self.names

    def take(self, headers: list[str]) -> bool:
        """Spend on ``headers`` (one name's expiry) if they fit; the first name always fits."""
        size = sum(len(h) for h in headers)
        if self.exhausted or (self.spent_names and self.spent_size + size > self.size):
            return False
        self.spent_names += 1
        self.spent_size += size
        return True


class Memory:
    """The cookies expired lately, by a keyed hash of (site, name, value), with the step reached."""

    def __init__(self, seconds: float = REMEMBER_SECONDS, capacity: int = MAX_REMEMBERED) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self._key = secrets.token_bytes(16)  # per process: the hashes mean nothing elsewhere
        self._sent: OrderedDict[bytes, tuple[int, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sent)

    def key(self, site_id: int, name: str, value: str) -> bytes:
        text = f"{site_id}\0{name}\0{value}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(text, key=self._key, digest_size=16).digest()

    def next_tier(self, key: bytes, now: float) -> int | None:
        """The step to send for this cookie: 0 for one not expired lately, None when all were sent."""
        found = self._sent.get(key)
        if found is None:
            return 0
        tier, until = found
        if until <= now:
            del self._sent[key]
            return 0
        return tier + 1 if tier + 1 < TIERS else None

    def sent(self, key: bytes, tier: int, now: float) -> None:
        self._sent[key] = (tier, now + self.seconds)
        self._sent.move_to_end(key)
        while len(self._sent) > self.capacity:
            self._sent.popitem(last=False)
