"""Password checks that never stall the server.

argon2 is slow and memory-hard on purpose (tens of milliseconds and 64 MiB per check).  Run
on the event loop, a burst of logins would stall every request, tracking hits included,
for as long as the burst lasts.  So checks run in worker threads (argon2 releases the GIL),
at most ``CONCURRENT_CHECKS`` at a time, which also bounds the memory a flood of logins
can take; the rest wait their turn without holding up anything else.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

CONCURRENT_CHECKS = 2


class Passwords:
    def __init__(self, concurrent: int = CONCURRENT_CHECKS) -> None:
        self._hasher = PasswordHasher()
        self._concurrent = concurrent
        self._limiter: anyio.CapacityLimiter | None = None
        # A hash to check unknown names against, so they cost what a wrong password costs.
        self._dummy = self._hasher.hash("samtycke-timing-equaliser")

    def _slots(self) -> anyio.CapacityLimiter:
        # Made on first use, inside the event loop that serves the app.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._concurrent)
        return self._limiter

    async def hash(self, password: str) -> str:
        """An argon2 hash of ``password``, made in a worker thread like every check."""
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._slots())

    async def verify(self, argon2_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; ``None`` (no such user) spends the same effort and fails."""
        return await anyio.to_thread.run_sync(self._verify, argon2_hash, password, limiter=self._slots())

    def _verify(self, argon2_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(argon2_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return argon2_hash is not None
