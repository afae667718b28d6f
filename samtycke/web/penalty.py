"""A network that keeps sending what samtycke refuses is answered 429 at once, unread.

Each refusal of bad input (``REFUSALS``: 400, 413, 422, 429, 431) counts against the
client network that caused it (``samtycke.clientip.network``: an IPv4 address or an IPv6
/64, the forwarded client's behind a trusted proxy).  A network that has had
``server.refusals_per_minute`` in the last minute gets 429 with ``Retry-After`` before
anything reads its headers, query string or body; if its request carries a body, or it
keeps sending while refused, the answer also closes the connection, so the body is never
read.  An abusive client's requests then cost about the least an answer can.

The budget is generous because one address may be many people (a company proxy, a
carrier's NAT): a few bad requests among them lock nobody out.  Unknown pages (404) and
refused credentials (401, 403: login has its own throttle) do not count, nor do requests
whose client address is unknown (a Unix socket with no trusted proxy's header).  The
answer is JSON in the API's error shape, not a page: rendering one is what a penalised
request must not cost.

The budget sees the network's keyed hash (``ClientIP.network_key``), never an address.
Each answer is one log line, without the address.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samtycke.clientip import ClientIP
from samtycke.refusals import RefusalBudget
from samtycke.web.asgi import headers_named
from samtycke.web.errors import TooManyRequests

logger = logging.getLogger("samtycke")

REFUSALS = frozenset({400, 413, 422, 429, 431})
_FORWARDING = frozenset({b"forwarded", b"x-forwarded-for"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def network_key(client_ip: ClientIP, scope: Scope) -> bytes | None:
    """The budget's key for the client network the request came from; None when it is unknown
    (a Unix socket), as all such requests would share one key and one penalty."""
    client = scope.get("client")
    forwarding = headers_named(scope, _FORWARDING, _FORWARDING)
    address = client_ip.resolve(
        client[0] if client else "", forwarding.get(b"forwarded", ""), forwarding.get(b"x-forwarded-for", "")
    )
    return client_ip.network_key(address) if address is not None else None


class Penalty:
    """ASGI middleware, outermost: count the app's refusals per network; answer networks over budget."""

    def __init__(self, app: ASGIApp, client_ip: ClientIP, budget: RefusalBudget) -> None:
        self.app = app
        self.client_ip = client_ip
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.budget.limit <= 0:
            await self.app(scope, receive, send)
            return
        key = None
        if self.budget.anyone_over():
            key = network_key(self.client_ip, scope)
            if key is not None and self.budget.over(key):
                await self.refuse(scope, send, key)
                return
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if status in REFUSALS:
                key = key or network_key(self.client_ip, scope)
                if key is not None:
                    self.budget.refused(key)

    async def refuse(self, scope: Scope, send: Send, key: bytes) -> None:
        retry_after = self.budget.retry_after(key)
        # A body left unread cannot be skipped without reading it, and a network that keeps
        # sending while refused has shown it will not wait: both lose the connection.
        close = has_body(scope) or self.budget.answered(key) > self.budget.limit
        body = answer_penalised(retry_after, close, method=scope["method"])
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": TooManyRequests.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def answer_penalised(retry_after: int, closed: bool, **fields: Any) -> bytes:
    """Log the one line a penalised request makes; the body of its 429."""
    logger.warning(
        "request refused: too many refused requests from its network",
        extra={"status": TooManyRequests.status, "retry_after": retry_after, "closed": closed, **fields},
    )
    error = TooManyRequests(f"too many refused requests from this network; try again in {retry_after} s")
    return json.dumps(error.as_json()).encode()


def has_body(scope: Scope) -> bool:
    """Whether the request says a body follows its head."""
    found = headers_named(scope, _BODY_HEADERS)
    return b"transfer-encoding" in found or found.get(b"content-length", "0").strip() not in ("", "0")
