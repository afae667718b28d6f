"""JSON from clients, parsed with every way it can fail named as one error.

``json.loads`` fails in more ways than ``ValueError``: nesting deeper than the interpreter's
recursion limit raises ``RecursionError`` (a 16 KB body of ``[`` is enough), and numbers
past what Python converts raise ``ValueError`` or ``OverflowError`` depending on where
they land.  Each is the client's mistake, never the server's, so callers catch one
``NotJSON`` and answer with their own 4xx.
"""

from __future__ import annotations

import json
from typing import Any


class NotJSON(ValueError):
    """The text is not JSON samtycke can read: malformed, not UTF-8, too deep or too large."""


def parse(text: bytes | bytearray | str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError, OverflowError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotJSON(f"not valid JSON ({type(exc).__name__})") from exc
