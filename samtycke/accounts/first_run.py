"""The first admin: a one-time setup link for a samtycke nobody can administer yet.

When ``samtycke serve`` finds no admin account (none in the configuration file, none in
ClickHouse), it prints a link with a random token on the terminal it runs in.  Whoever
can read that terminal may open the link and create the first admin; the start page and
the login form say where the link is, never what it is.  The link works once, for a day,
and only in the process that printed it: the token is kept in memory as a sha256 and
forgotten on restart, when a new one is printed if there is still no admin.  An admin
created any other way (``samtycke account create``, another instance) ends the link too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from samtycke.accounts.model import Account, check_name, check_password
from samtycke.accounts.store import Accounts

LINK_SECONDS = 24 * 3600
SETUP_ACTOR = "setup"


class FirstRun:
    def __init__(
        self,
        base_url: str,
        announce: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        lifetime: float = LINK_SECONDS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.announce = announce
        self.clock = clock
        self.lifetime = lifetime
        self._digest: bytes | None = None
        self._expires = 0.0
        self._claiming = asyncio.Lock()

    @property
    def pending(self) -> bool:
        """Whether a setup link is out and still usable."""
        return self._digest is not None and self.clock() < self._expires

    async def offer(self, accounts: Accounts) -> bool:
        """Print a setup link if nobody can administer samtycke; whether one was printed."""
        if await accounts.any_admin():
            return False
        token = secrets.token_urlsafe(32)
        self._digest = hashlib.sha256(token.encode()).digest()
        self._expires = self.clock() + self.lifetime
        self.announce(f"{self.base_url}/setup/{token}")
        return True

    def accepts(self, token: str) -> bool:
        if not self.pending or self._digest is None:
            return False
        return hmac.compare_digest(hashlib.sha256(token.encode()).digest(), self._digest)

    async def claim(self, accounts: Accounts, token: str, name: str, password: str) -> Account | None:
        """Create the first admin with the link; None when the link no longer works.

        A refused name or password (``InvalidAccount``, ``AccountExists``) leaves the link
        usable, so the form can be sent again.
        """
        check_name(name)
        check_password(password)
        async with self._claiming:
            if not self.accepts(token):
                return None
            if await accounts.any_admin():
                self.end()
                return None
            account = await accounts.create(name, "admin", password, actor=SETUP_ACTOR)
            self.end()
            return account

    def end(self) -> None:
        self._digest = None
