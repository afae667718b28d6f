"""Request headers have a size limit: 431 for a request over it, before anything reads them.

Every header value samtycke reads (User-Agent, Accept-Language, Origin, Cookie, Host) is
parsed, and some of what is parsed is cached; a server that accepts megabytes of headers
lets each request cost megabytes.  uvicorn's h11 parser stops at its incomplete-event size,
but its faster httptools parser, and other ASGI servers, accept any size.  So the limit is
enforced twice: at samtycke's own edge in ``samtycke serve`` and ``samtycke proxy``
(``samtycke.web.server``, before the header block is buffered), and here, in the app,
whatever server runs it.

Two limits, like the common web servers: all header lines together, and each single
one.  The request line is not counted: the path and query string have limits of their
own where they are read (a tracking hit may carry a 64 KiB query).  The refusal is logged
once, with sizes and the header's name, never a value.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from samtycke.web.errors import HeadersTooLarge

logger = logging.getLogger("samtycke")

LINE_OVERHEAD = 4  # ": " and CRLF around each header on the wire
# What a server reading the raw head allows for the request line on top of the headers:
# a tracking hit may carry a 64 KiB query string, and the path a few KiB more.
REQUEST_LINE_ALLOWANCE = 72 * 1024


def oversized(scope: Scope, max_bytes: int, max_field_bytes: int) -> HeadersTooLarge | None:
    """What is wrong with the request's headers, or None when they are within the limits."""
    total = 0
    for name, value in scope["headers"]:
        size = len(name) + len(value) + LINE_OVERHEAD
        if size > max_field_bytes:
            return HeadersTooLarge(
                f"the {name.decode('latin-1')[:64]} header is over {max_field_bytes} bytes",
                field=name.decode("latin-1")[:64],
                details={"bytes": size, "limit": max_field_bytes},
            )
        total += size
    if total > max_bytes:
        return HeadersTooLarge(
            f"the request's headers are over {max_bytes} bytes", details={"bytes": total, "limit": max_bytes}
        )
    return None


class HeaderLimit:
    """ASGI middleware: refuse requests whose headers are over the limits with 431."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_field_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_field_bytes = max_field_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            error = oversized(scope, self.max_bytes, self.max_field_bytes)
            if error is not None:
                await refuse(scope, send, error)
                return
        await self.app(scope, receive, send)


async def refuse(scope: Scope, send: Send, error: HeadersTooLarge) -> None:
    logger.warning("request headers too large", extra={"field": error.field, **error.details})
    if scope["type"] != "http":
        await send({"type": "websocket.close", "code": 1009})
        return
    body = json.dumps(error.as_json()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
