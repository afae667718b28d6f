"""Request facts read straight from the ASGI scope, for the paths every request takes.

Starlette's ``Headers`` builds a list of decoded pairs and goes through a generic
``Mapping.get`` for each lookup; the hot paths read one or two headers and need neither.
Names are lower-case bytes, as the scope holds them; values are decoded as latin-1.
"""

from __future__ import annotations

from collections.abc import Container

from starlette.requests import cookie_parser
from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first header called ``name``, as ``Headers.get`` gives it, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every header called ``name``, in the order they came, as ``Headers.getlist`` gives them."""
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def headers_named(scope: Scope, names: Container[bytes], joined: Container[bytes] = ()) -> dict[bytes, str]:
    """The headers called one of ``names``, in one pass over the list: the first of each, except
    that a name in ``joined`` (a list-valued header such as ``X-Forwarded-For``) has every
    value, joined with ``", "``."""
    found: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        if key in names:
            text = value.decode("latin-1")
            if key in found and key in joined:
                found[key] += ", " + text
            else:
                found.setdefault(key, text)
    return found


def cookie(scope: Scope, name: str) -> str | None:
    """``HTTPConnection.cookies.get(name)`` (a later Cookie header wins), parsing no Cookie
    header when there is none."""
    value = None
    for text in header_values(scope, b"cookie"):
        found = cookie_parser(text).get(name)
        if found is not None:
            value = found
    return value
