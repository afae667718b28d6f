"""One-time handoff codes: a visitor's choice carried by a link from one site of a group to another.

A code is 128 random bits, base64url: it says nothing about the visitor, the sites or the
choice, and is worth something only to the server, which keeps what it stands for (the
source receipt and the one site it may be redeemed on) in memory for ``LIFETIME``.  The
first redemption removes it, whatever its outcome, so a code copied from an address bar,
a log or a ``Referer`` header is refused once it has been used.  At most ``CAPACITY``
codes are kept; past that the oldest is forgotten first, so memory stays bounded however
many are asked for (and every issue counts against the consent API's write limit).

The clock is injected: a code's age is measured by ``now``, which tests move.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from consent.recording.adoption import SourceChoice

LIFETIME = timedelta(minutes=2)
CAPACITY = 10_000
# What ``secrets.token_urlsafe(16)`` makes: 22 base64url characters.
CODE = re.compile(r"[A-Za-z0-9_-]{22}")


class HandoffRefused(Exception):
    """A code that cannot be redeemed here: unknown, used, expired or for another site."""


@dataclass(frozen=True)
class Pending:
    source: SourceChoice
    target_site_id: int
    expires: datetime


class HandoffCodes:
    def __init__(
        self,
        now: Callable[[], datetime],
        lifetime: timedelta = LIFETIME,
        capacity: int = CAPACITY,
    ) -> None:
        self.now = now
        self.lifetime = lifetime
        self.capacity = capacity
        # Insertion order is issue order, and every code lives equally long: the first is
        # always the next to expire.
        self._pending: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def issue(self, source: SourceChoice, target_site_id: int) -> str:
        """A new code for carrying ``source`` to site ``target_site_id``."""
        now = self.now()
        self._forget_expired(now)
        while len(self._pending) >= self.capacity:
            del self._pending[next(iter(self._pending))]
        code = secrets.token_urlsafe(16)
        self._pending[code] = Pending(source, target_site_id, now + self.lifetime)
        return code

    def redeem(self, code: str, site_id: int) -> SourceChoice:
        """The choice ``code`` carries to site ``site_id``; the code is gone afterwards either way."""
        pending = self._pending.pop(code, None)
        if pending is None:
            raise HandoffRefused("this handoff code is unknown or has been used")
        if self.now() >= pending.expires:
            raise HandoffRefused("this handoff code has expired")
        if pending.target_site_id != site_id:
            raise HandoffRefused("this handoff code was issued for another site")
        return pending.source

    def _forget_expired(self, now: datetime) -> None:
        while self._pending:
            first = next(iter(self._pending))
            if self._pending[first].expires > now:
                return
            del self._pending[first]
