"""samtycke's own HTTP edge: uvicorn's httptools parser, with a bound on the request head.

httptools buffers a request line and headers of any size until the blank line that ends
them, so one connection could make the server hold megabytes before the app sees a byte.
This protocol counts what arrives while a head is incomplete and, past
``server.max_header_bytes`` plus the longest request line samtycke accepts, answers 431
and closes the connection.  The app's own
``HeaderLimit`` then checks the parsed headers, under this server or any other.

Such a refusal counts against the client's network (``samtycke.refusals``), as the app's
refusals do, and a network over its budget is answered 429 here, before a byte of what it
sent is parsed, after a second's wait (``PENALTY_DELAY``).  Only when the peer is the
client itself: behind a trusted proxy the client is known from headers, so the app's
``samtycke.web.penalty`` decides instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from samtycke.clientip import ClientIP, parse
from samtycke.refusals import RefusalBudget
from samtycke.web.headerlimit import REQUEST_LINE_ALLOWANCE
from samtycke.web.penalty import answer_penalised

logger = logging.getLogger("samtycke")

# A client that waits for each answer before it sends again (most scripts do) sends one
# request a second per connection while refused, instead of as many as the server answers;
# a held connection costs a socket and no CPU.  Past ``MAX_HELD`` held at once, the answer
# is immediate, so a flood of connections cannot hold the server's sockets.
PENALTY_DELAY = 1.0
MAX_HELD = 256


@dataclass
class Held:
    """How many connections are waiting for their 429."""

    count: int = 0


def head_limited_protocol(
    max_bytes: int, client_ip: ClientIP | None = None, refusals: RefusalBudget | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol, refusing request heads over ``max_bytes`` of headers
    (and the request line's allowance), and every request of a network over ``refusals``."""
    limit = max_bytes + REQUEST_LINE_ALLOWANCE
    held = Held()

    class HeadLimitedHttpTools(HttpToolsProtocol):
        reading_head = True  # a connection starts with a request's head
        head_bytes = 0
        network_key: bytes | None = None  # the peer's network, when the peer is the client

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if client_ip is None or refusals is None or refusals.limit <= 0 or self.client is None:
                return
            peer = parse(self.client[0])
            if peer is not None and not client_ip.is_trusted(peer):
                self.network_key = client_ip.network_key(peer)

        def penalised(self) -> bool:
            key = self.network_key
            return key is not None and refusals is not None and refusals.anyone_over() and refusals.over(key)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.reading_head = True
            self.head_bytes = 0

        def on_headers_complete(self) -> None:
            self.reading_head = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            if self.penalised():
                self.hold_and_refuse()
                return
            super().data_received(data)
            if not self.reading_head or self.transport.is_closing():
                return
            # Still inside a head: all of this chunk belonged to it (or to the end of the
            # previous request, which errs on the side of refusing a little early).
            self.head_bytes += len(data)
            if self.head_bytes > limit:
                self.refuse_head()

        def hold_and_refuse(self) -> None:
            """Answer after ``PENALTY_DELAY`` seconds, reading nothing meanwhile, while few are held."""
            self.transport.pause_reading()
            if held.count >= MAX_HELD:
                self.refuse_network()
                return
            held.count += 1
            asyncio.get_running_loop().call_later(PENALTY_DELAY, self.release)

        def release(self) -> None:
            held.count -= 1
            if not self.transport.is_closing():
                self.refuse_network()

        def refuse_network(self) -> None:
            assert refusals is not None and self.network_key is not None
            retry_after = refusals.retry_after(self.network_key)
            body = answer_penalised(retry_after, closed=True)
            self.transport.write(
                b"".join(
                    [
                        STATUS_LINE[429],
                        b"content-type: application/json\r\n",
                        b"content-length: %d\r\n" % len(body),
                        b"retry-after: %d\r\n" % retry_after,
                        b"connection: close\r\n\r\n",
                        body,
                    ]
                )
            )
            self.transport.close()

        def refuse_head(self) -> None:
            if refusals is not None and self.network_key is not None:
                refusals.refused(self.network_key)
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
