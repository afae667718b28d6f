"""Reading and writing ``Set-Cookie`` header values, just as far as enforcement needs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]

    @property
    def deletes(self) -> bool:
        """True when the header removes the cookie rather than storing one."""
        max_age = self.attributes.get("max-age")
        if max_age is not None:
            try:
                return int(max_age) <= 0
            except ValueError:
                return False
        expires = self.attributes.get("expires")
        if expires:
            try:
                return parsedate_to_datetime(expires).timestamp() < time.time()
            except (TypeError, ValueError):
                return False
        return False


def parse(header: str) -> SetCookie | None:
    pair, *rest = header.split(";")
    name, sep, value = pair.partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    attributes: dict[str, str] = {}
    for item in rest:
        key, _, val = item.partition("=")
        attributes[key.strip().lower()] = val.strip()
    return SetCookie(name, value.strip(), attributes)


def expire(name: str, path: str, domain: str, *, secure: bool) -> str:
    """A header that deletes ``name`` as stored under this path and domain.

    ``Max-Age=0`` alone: every browser in use honours it, and an ``Expires`` date would
    add 40 bytes to each of the many headers a response may carry.
    """
    parts = [f"{name}=", "Max-Age=0", f"Path={path}"]
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
