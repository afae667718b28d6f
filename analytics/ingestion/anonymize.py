"""Matomo's IP anonymisation levels, the only form of an address that may be stored.

Level n zeroes the last n bytes of an IPv4 address (also inside ``::ffff:a.b.c.d``);
for other IPv6 addresses the levels keep /64, /48, /24 and nothing.
"""

from __future__ import annotations

import ipaddress

MAX_LEVEL = 4

# Prefix length kept for a plain IPv6 address, by level.
_IPV6_PREFIX = {0: 128, 1: 64, 2: 48, 3: 24, 4: 0}


def mask_ip(ip: str, level: int) -> str:
    """The address with Matomo's level-``level`` mask applied, as text.

    Raises ``ValueError`` for text that is not an IP address or a negative level;
    levels above 4 are capped at 4, as Matomo does.
    """
    if level < 0:
        raise ValueError(f"mask level must be 0-4, not {level}")
    level = min(level, MAX_LEVEL)
    address = ipaddress.ip_address(ip.strip())
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(_zero_tail(address.packed, level)))
    mapped = address.ipv4_mapped
    if mapped is not None:
        return "::ffff:" + str(ipaddress.IPv4Address(_zero_tail(mapped.packed, level)))
    keep = _IPV6_PREFIX[level]
    value = int(address) >> (128 - keep) << (128 - keep) if keep else 0
    return str(ipaddress.IPv6Address(value))


def _zero_tail(packed: bytes, count: int) -> bytes:
    return packed[: len(packed) - count] + b"\0" * count
