"""Invalid: what was asked cannot be accepted as given, and asking again the same way will not help.

Like ``samtycke.unavailable``, an error free of HTTP: a domain raises it where it validates
what it was given (a consent choice, the notice version it names), and the web boundary
(``samtycke.web.app``) answers it 422 with the ``field`` it names, in one place.
"""

from __future__ import annotations


class Invalid(Exception):
    """``field`` names the part of the input that is wrong, when one part is."""

    code = "unprocessable"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
