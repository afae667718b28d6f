"""The banner's ``<script>`` put into an HTML page as it streams from the upstream.

With it goes a ``first`` tag (the Consent Mode default) right after ``<head …>``, before
anything of the page's own, or just before the banner in a page without a ``<head>``.

A page is never held whole.  Its first bytes are decoded, in bounded pieces, only until
the injection point (before ``</head>``, or just after ``<body …>``) turns up within
``SCAN_LIMIT`` bytes of HTML; the tag goes in there and the rest streams on, decoded and
re-encoded piece by piece.  The response keeps the upstream's coding when the visitor
accepts it and is sent decoded otherwise.  A page without an injection point in its
first ``SCAN_LIMIT`` bytes, one already carrying the banner, and one in a coding the
proxy cannot decode (or that does not decode) go out exactly as the upstream sent them.

Memory per response is a few pieces, the scanned prefix and zlib's windows, whatever
the upstream sends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from consent.enforcement import codings
from consent.enforcement.codings import CorruptBody, Decoder, Encoder

logger = logging.getLogger("samtycke.proxy")

PREFIX = "/_samtycke"
BANNER_SRC = f"{PREFIX}/banner.js".encode()
# Real pages close their head within a few tens of KiB; past this the page goes without the banner.
SCAN_LIMIT = 512 * 1024

_HEAD_END = re.compile(rb"</head\s*>", re.I)
_BODY_START = re.compile(rb"<body[^>]*>", re.I)
_HEAD_START = re.compile(rb"<head(?:\s[^>]*)?>", re.I)

Send = Callable[[bytes, bool], Awaitable[None]]


def banner_tag(site_id: int, nonce: str = "") -> bytes:
    extra = f' nonce="{nonce}"' if nonce else ""
    return f'<script src="{PREFIX}/banner.js" data-site="{site_id}" defer{extra}></script>'.encode()


def injection_point(html: bytes | bytearray, start: int = 0) -> int | None:
    """Where the banner goes in a page that starts with ``html``; None while it is not known yet.

    ``start`` skips what an earlier call searched: a match cannot begin before its last ``<``.
    """
    start = max(html.rfind(b"<", 0, start), 0)
    match = _HEAD_END.search(html, start)
    if match:
        return match.start()
    match = _BODY_START.search(html, start)
    return match.end() if match else None


def place(html: bytes, at: int, tag: bytes, first: bytes) -> bytes:
    """``html`` with ``tag`` at ``at`` and ``first`` after ``<head>`` (else just before ``tag``)."""
    head = _HEAD_START.search(html, 0, at)
    if head is None:
        return html[:at] + first + tag + html[at:]
    return html[: head.end()] + first + html[head.end() : at] + tag + html[at:]


@dataclass
class Plan:
    """What the head of a page decided: the bytes read so far and how the response goes out."""

    raw: list[bytes]  # the upstream's bytes read while scanning, still to be sent if passed through
    html: bytes  # the decoded prefix, the tag already in it when ``injected``
    injected: bool
    decoder: Decoder | None
    reason: str = ""  # why the page goes without the banner


async def scan(coding: str, body: AsyncIterator[bytes], tag: bytes, first: bytes = b"") -> Plan:
    """Read ``body`` until the injection point, the scan limit or its end, whichever comes first."""
    decoder = codings.decoder(coding)
    if decoder is None:
        return Plan([], b"", False, None, "content encoding not decodable")
    raw: list[bytes] = []
    html = bytearray()
    at: int | None = None
    searched = 0
    try:
        async for chunk in body:
            raw.append(chunk)
            for piece in decoder.decode(chunk):
                html += piece
                if len(html) >= SCAN_LIMIT:
                    break
            at = injection_point(html, searched)
            searched = len(html)
            if at is not None or len(html) >= SCAN_LIMIT:
                break
        else:
            for piece in decoder.flush():
                html += piece
            at = injection_point(html, searched)
    except CorruptBody:
        return Plan(raw, b"", False, None, "body does not decode")
    if at is None:
        return Plan(raw, b"", False, None, "no </head> or <body> near the start")
    if BANNER_SRC in html[:at]:
        return Plan(raw, b"", False, None, "")
    return Plan(raw, place(bytes(html), at, tag, first), True, decoder)


async def stream(plan: Plan, rest: AsyncIterator[bytes], encoder: Encoder, send: Send) -> None:
    """The injected page: its prefix, then the rest of ``rest`` re-encoded piece by piece."""
    assert plan.decoder is not None
    decoder = plan.decoder
    # The head goes out at once, decodable on its own, so the browser can start on it.
    await send(encoder.encode(plan.html) + encoder.sync(), True)
    try:
        # Whatever the decoder kept of the scanned chunks comes out first.
        for piece in decoder.decode(b""):
            await _out(encoder.encode(piece), send)
        async for chunk in rest:
            for piece in decoder.decode(chunk):
                await _out(encoder.encode(piece), send)
        for piece in decoder.flush():
            await _out(encoder.encode(piece), send)
    except CorruptBody:
        logger.warning("upstream HTML stopped decoding part way; its end is cut")
    await send(encoder.finish(), False)


async def _out(data: bytes, send: Send) -> None:
    if data:
        await send(data, True)
    else:
        # A highly compressed body can inflate for long without output; let other requests run.
        await asyncio.sleep(0)
