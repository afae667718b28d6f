"""Whole numbers in request text.

``str.isdigit`` accepts characters such as "²" that ``int`` then rejects, so a query string
checked with it can still raise; these accept ASCII digits only.
"""

from __future__ import annotations


def is_whole_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_integer(text: str) -> bool:
    return is_whole_number(text[1:] if text.startswith("-") else text)
