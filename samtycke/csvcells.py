"""CSV cells a spreadsheet shows as text and never runs as a formula.

Spreadsheets treat a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some strip a leading tab or carriage return first; a visitor who controls a page title or an
event name could otherwise make an export run ``=HYPERLINK(...)`` or a DDE command on the
analyst's machine.  Following OWASP's CSV injection advice, such a cell gets a leading
apostrophe, which spreadsheets hide and which makes the rest text.  Numbers (``-3``,
``+1.5e3``) are not formulas and are left as they are, so columns of numbers stay numbers.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number, as Python and ClickHouse write them; not "-inf" or "-1_0", which
# float() reads but a spreadsheet would try as a formula.
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def text(value: object) -> str:
    """``value`` as the text of one CSV cell (quoting is the writer's job): None is empty."""
    if value is None:
        return ""
    cell = str(value)
    if cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell):
        return "'" + cell
    return cell
