"""Matomo's IP masking levels for IPv4, IPv4-mapped IPv6 and IPv6."""

from __future__ import annotations

import pytest

from analytics.ingestion.anonymize import mask_ip

IPV4 = "192.168.123.234"
MAPPED = "::ffff:192.168.123.234"
IPV6 = "2001:db8:abcd:1234:5678:9abc:def0:1234"


@pytest.mark.parametrize(
    ("level", "ipv4", "mapped", "ipv6"),
    [
        (0, "192.168.123.234", "::ffff:192.168.123.234", "2001:db8:abcd:1234:5678:9abc:def0:1234"),
        (1, "192.168.123.0", "::ffff:192.168.123.0", "2001:db8:abcd:1234::"),
        (2, "192.168.0.0", "::ffff:192.168.0.0", "2001:db8:abcd::"),
        (3, "192.0.0.0", "::ffff:192.0.0.0", "2001:d00::"),
        (4, "0.0.0.0", "::ffff:0.0.0.0", "::"),
    ],
)
def test_every_level(level: int, ipv4: str, mapped: str, ipv6: str) -> None:
    assert mask_ip(IPV4, level) == ipv4
    assert mask_ip(MAPPED, level) == mapped
    assert mask_ip(IPV6, level) == ipv6


def test_level_3_on_ipv6_keeps_24_bits() -> None:
    # ffff:ff00:: is a /24 mask: the third hex digit pair of the second group goes.
    assert mask_ip("2001:dbff:1::1", 3) == "2001:db00::"


def test_levels_above_four_are_capped() -> None:
    assert mask_ip(IPV4, 9) == mask_ip(IPV4, 4)
    assert mask_ip(IPV6, 9) == "::"


def test_mapped_text_spellings_are_understood() -> None:
    assert mask_ip("::FFFF:c0a8:7bea", 2) == "::ffff:192.168.0.0"


@pytest.mark.parametrize(("ip", "level"), [("not an ip", 2), ("300.1.1.1", 2), (IPV4, -1)])
def test_refuses_what_is_not_an_address_or_level(ip: str, level: int) -> None:
    with pytest.raises(ValueError):
        mask_ip(ip, level)
