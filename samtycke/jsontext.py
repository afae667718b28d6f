"""JSON from clients, parsed with every way it can fail named as one error.

``json.loads`` fails in more ways than ``ValueError``: nesting deeper than the interpreter's
recursion limit raises ``RecursionError`` (a 16 KB body of ``[`` is enough), and numbers
past what Python converts raise ``ValueError`` or ``OverflowError`` depending on where
they land.  A ``\\udc80`` escape is valid JSON but decodes to a lone surrogate, a string
that is no UTF-8 text and that ClickHouse's drivers cannot carry.  Each is the client's
mistake, never the server's, so callers catch one ``NotJSON`` and answer with their own 4xx.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Any escape of a surrogate: pairs decode to one code point, so only a match asks for a walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


class NotJSON(ValueError):
    """The text is not JSON samtycke can read: malformed, not UTF-8, too deep or too large."""


def parse(text: bytes | bytearray | str) -> Any:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError, OverflowError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotJSON(f"not valid JSON ({type(exc).__name__})") from exc
    # Text may hold a surrogate unescaped; bytes only escaped, which the search finds cheaply.
    may_hold = isinstance(text, str) or _SURROGATE_ESCAPE.search(text) is not None
    if may_hold and _has_lone_surrogate(value):
        raise NotJSON("not valid JSON (a lone surrogate escape)")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """Whether any string or key in ``value`` is no UTF-8 text; a loop, as nesting may be deep."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False
