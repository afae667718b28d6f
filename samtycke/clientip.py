"""The visitor's address: the socket peer, or what a trusted proxy says it forwarded.

``X-Forwarded-For`` and ``Forwarded`` are believed only when the peer is in
``server.trusted_proxies``; then the right-most address not itself a trusted proxy wins
(the left-most is whatever the client claimed).  The result lives in memory only: callers
derive what they need (location, a keyed hash, a masked form) and drop it.

The same trust decides whether the request reached the proxy over https
(``X-Forwarded-Proto`` / ``Forwarded: proto=``), and ``network`` tells which addresses
one holder controls: an IPv4 address alone, but a whole IPv6 /64, which providers hand to
a single customer.  ``network_key`` hashes that network with a key of this process, so
that limits can count per network without holding anything an address could be
recovered from.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import socket
from collections.abc import Sequence

from starlette.requests import HTTPConnection

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_FORWARDED_FOR = re.compile(r'for="?\[?([^\]";,]+)\]?', re.I)
_FORWARDED_PROTO = re.compile(r'proto="?([a-z]+)', re.I)
IPV6_HOLDER_PREFIX = 64


def unmapped(address: Address) -> Address:
    """An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class Networks:
    """A set of networks (``"10.0.0.0/8"``, ``"::1"``); a mapped IPv4 address counts as IPv4."""

    def __init__(self, networks: Sequence[str]) -> None:
        parsed = [ipaddress.ip_network(n, strict=False) for n in networks]
        # (version, network bits, mask) per network: integer tests run on every request,
        # where ``address in network`` would build objects.
        self._ranges = [(n.version, int(n.network_address), int(n.netmask)) for n in parsed]

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __contains__(self, address: Address) -> bool:
        if not self._ranges:
            return False
        address = unmapped(address)
        version, bits = address.version, int(address)
        for network_version, network, mask in self._ranges:
            if network_version == version and bits & mask == network:
                return True
        return False


class ClientIP:
    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self.trusted = Networks(trusted_proxies)
        self._network_secret = secrets.token_bytes(16)

    def is_trusted(self, address: Address) -> bool:
        return address in self.trusted

    def of(self, conn: HTTPConnection) -> Address | None:
        return self.resolve(
            conn.client.host if conn.client else "",
            conn.headers.get("forwarded", ""),
            conn.headers.get("x-forwarded-for", ""),
        )

    def network_key(self, address: Address) -> bytes:
        """A keyed hash of the network ``address`` is in."""
        return hmac.digest(self._network_secret, network(address).encode(), hashlib.sha256)[:8]

    def forwarded_https(self, conn: HTTPConnection) -> bool:
        """Whether a trusted proxy says the client reached it over https."""
        peer = parse(conn.client.host if conn.client else "")
        if peer is None or not self.is_trusted(peer):
            return False
        forwarded = conn.headers.get("forwarded", "")
        if forwarded:
            # The entry the nearest proxy added is the last one.
            protos = _FORWARDED_PROTO.findall(forwarded.rsplit(",", 1)[-1])
            return bool(protos) and protos[-1].lower() == "https"
        proto = conn.headers.get("x-forwarded-proto", "").rsplit(",", 1)[-1]
        return proto.strip().lower() == "https"

    def resolve(self, peer_host: str, forwarded: str, x_forwarded_for: str) -> Address | None:
        """The client address from the socket peer and, if it is a trusted proxy, its headers."""
        peer = parse(peer_host)
        if peer is None or not self.is_trusted(peer):
            return peer
        chain = forwarded_chain(forwarded, x_forwarded_for)
        for candidate in reversed(chain):
            address = parse(candidate)
            if address is None:
                return peer
            if not self.is_trusted(address):
                return address
        return peer


def network(address: Address) -> str:
    """The addresses one holder controls, as text: the IPv4 address, or the IPv6 /64 it is in."""
    address = unmapped(address)
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    return str(ipaddress.IPv6Network((address, IPV6_HOLDER_PREFIX), strict=False))


def forwarded_chain(forwarded: str, x_forwarded_for: str) -> list[str]:
    if forwarded:
        return _FORWARDED_FOR.findall(forwarded)
    return [part.strip() for part in x_forwarded_for.split(",") if part.strip()]


def parse(text: str) -> Address | None:
    text = text.strip()
    if text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        # The C parser is as strict as ipaddress's (no leading zeros, four parts) and four
        # times faster; this runs for every tracking request.
        return ipaddress.IPv4Address(socket.inet_pton(socket.AF_INET, text))
    except (OSError, ValueError):
        pass
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None
