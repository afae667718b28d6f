"""samtycke's own HTTP edge: uvicorn's httptools parser, with a bound on the request head.

httptools buffers a request line and headers of any size until the blank line that ends
them, so one connection could make the server hold megabytes before the app sees a byte.
This protocol counts what arrives while a head is incomplete and, past
``server.max_header_bytes`` plus the longest request line samtycke accepts, answers 431
and closes the connection.  The app's own
``HeaderLimit`` then checks the parsed headers, under this server or any other.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from samtycke.web.headerlimit import REQUEST_LINE_ALLOWANCE

logger = logging.getLogger("samtycke")


def head_limited_protocol(max_bytes: int) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, refusing request heads over ``max_bytes`` of headers
    (and the request line's allowance)."""
    limit = max_bytes + REQUEST_LINE_ALLOWANCE

    class HeadLimitedHttpTools(HttpToolsProtocol):
        reading_head = True  # a connection starts with a request's head
        head_bytes = 0

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.reading_head = True
            self.head_bytes = 0

        def on_headers_complete(self) -> None:
            self.reading_head = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self.reading_head or self.transport.is_closing():
                return
            # Still inside a head: all of this chunk belonged to it (or to the end of the
            # previous request, which errs on the side of refusing a little early).
            self.head_bytes += len(data)
            if self.head_bytes > limit:
                self.refuse_head()

        def refuse_head(self) -> None:
            logger.warning("request headers too large", extra={"bytes": self.head_bytes, "limit": limit})
            body = (
                b'{"error":{"code":"headers_too_large","message":"the request\'s headers are over %d bytes"}}'
                % (max_bytes)
            )
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[431],
                        b"content-type: application/json\r\n",
                        b"content-length: %d\r\n" % len(body),
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
            self.transport.close()

    return HeadLimitedHttpTools
