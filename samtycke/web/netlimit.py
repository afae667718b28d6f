"""A rate limit per client network, for endpoints anyone may call that write something.

A network is what one holder controls (``samtycke.clientip.network``): an IPv4 address,
or an IPv6 /64, which providers hand to a single customer, so rotating addresses within it
gains nothing.  Behind a trusted proxy the network is the forwarded client's.  The limiter
sees only a keyed hash of the network, with a key of this process, so not even memory
holds anything an address could be recovered from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection

from samtycke.clientip import ClientIP, network
from samtycke.ratelimit import RateLimiter
from samtycke.web.errors import TooManyRequests


class NetworkLimit:
    """At most ``limit`` requests per client network in any ``window`` seconds."""

    def __init__(
        self,
        client_ip: ClientIP,
        limit: int,
        window: float,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_ip = client_ip
        self.limiter = RateLimiter(limit, window, clock)
        self.what = what
        self._key = secrets.token_bytes(16)

    def key(self, conn: HTTPConnection) -> str:
        address = self.client_ip.of(conn)
        holder = network(address) if address is not None else "unknown"
        return hmac.new(self._key, holder.encode(), hashlib.sha256).hexdigest()[:16]

    def check(self, conn: HTTPConnection) -> None:
        """Count the request, or raise 429 with ``Retry-After`` when its network is over the limit."""
        key = self.key(conn)
        if not self.limiter.allow(key):
            raise TooManyRequests(
                f"too many {self.what} from this network; try again later",
                headers={"Retry-After": str(self.limiter.retry_after(key))},
            )
