"""HTTP content codings, decoded and encoded in bounded pieces.

A few hundred KiB of gzip can inflate to hundreds of MB, so nothing here ever produces
more than ``PIECE`` bytes at a time: a decoder hands out the inflated body piece by
piece and keeps the rest of its input until asked again.  The proxy reads what it needs
of a page this way and re-encodes as it goes, so its memory does not depend on what the
upstream sends.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol

PIECE = 64 * 1024
# What the proxy can decode (and so offers upstreams); br needs a package samtycke does not install.
DECODABLE = ("gzip", "x-gzip", "deflate", "identity")
GZIP_WBITS = 16 + zlib.MAX_WBITS
# Fast: a re-encoded page should cost the proxy little CPU; the upstream chose its own level.
LEVEL = 3


class CorruptBody(Exception):
    """The body does not decode in the coding its Content-Encoding names."""


class Decoder(Protocol):
    """Decoded pieces of ``data``; input a caller stopped taking pieces of is kept for the next call."""

    def decode(self, data: bytes) -> Iterator[bytes]: ...
    def flush(self) -> Iterator[bytes]: ...


class Encoder(Protocol):
    name: str

    def encode(self, data: bytes) -> bytes: ...
    def sync(self) -> bytes: ...
    def finish(self) -> bytes: ...


class Identity:
    name = "identity"

    def __init__(self) -> None:
        self._pending = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        # What a caller did not take before stopping comes first on its next call.
        self._pending += data
        while self._pending:
            piece, self._pending = self._pending[:PIECE], self._pending[PIECE:]
            yield piece

    def flush(self) -> Iterator[bytes]:
        return iter(())

    def encode(self, data: bytes) -> bytes:
        return data

    def sync(self) -> bytes:
        return b""

    def finish(self) -> bytes:
        return b""


class Inflater:
    """gzip (any number of members, as the format allows) or deflate (zlib-wrapped or raw)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._inflate: zlib._Decompress | None = zlib.decompressobj(GZIP_WBITS) if gzip else None
        self._ended = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._pieces(data)
        except zlib.error as exc:
            raise CorruptBody(str(exc)) from exc

    def _pieces(self, data: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            # Some servers send raw deflate for "deflate"; a zlib header tells the two apart.
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        # What a caller did not take before stopping comes first on its next call.
        pending = self._inflate.unconsumed_tail + data
        while pending:
            piece = self._inflate.decompress(pending, PIECE)
            if piece:
                yield piece
            pending = self._inflate.unconsumed_tail
            if self._inflate.eof:
                rest = self._inflate.unused_data
                if not (self._gzip and rest.lstrip(b"\0")):
                    self._ended = True
                    return  # trailing bytes after the stream are ignored, as browsers do
                self._inflate = zlib.decompressobj(GZIP_WBITS)
                pending = rest

    def flush(self) -> Iterator[bytes]:
        if self._inflate is None or self._ended:
            return
        try:
            while tail := self._inflate.flush(PIECE):
                yield tail
        except zlib.error as exc:
            raise CorruptBody(str(exc)) from exc


class Deflater:
    def __init__(self, name: str) -> None:
        self.name = name
        wbits = GZIP_WBITS if name in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, wbits)

    def encode(self, data: bytes) -> bytes:
        return self._deflate.compress(data)

    def sync(self) -> bytes:
        """Everything so far, decodable now: the browser can start on the page's head."""
        return self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._deflate.flush(zlib.Z_FINISH)


def decoder(coding: str) -> Decoder | None:
    """A decoder for a Content-Encoding value, or None for one the proxy cannot decode."""
    if coding in ("", "identity"):
        return Identity()
    if coding in ("gzip", "x-gzip", "deflate"):
        return Inflater(gzip=coding != "deflate")
    return None


def encoder(coding: str) -> Encoder:
    return Identity() if coding in ("", "identity") else Deflater(coding)


def accepted(accept_encoding: str, coding: str) -> bool:
    """Whether an Accept-Encoding value allows ``coding`` (q=0 refuses; ``*`` allows)."""
    allowed: dict[str, bool] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        allowed[name.strip().lower()] = quality > 0
    aliases = {"x-gzip": "gzip"}
    wanted = aliases.get(coding, coding)
    return allowed.get(wanted, allowed.get(coding, allowed.get("*", False)))
