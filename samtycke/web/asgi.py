"""Request facts read straight from the ASGI scope, for the paths every request takes.

Starlette's ``Headers`` builds a list of decoded pairs and goes through a generic
``Mapping.get`` for each lookup; the hot paths read one or two headers and need neither.
"""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first header called ``name`` (lower case), as ``Headers.get`` gives it, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
