"""Bound parameters for generated SQL: every value travels as ``{name:Type}``, never as text."""

from __future__ import annotations

from typing import Any


class Parameters(dict[str, Any]):
    """Hands out fresh parameter names; ``bind`` returns the placeholder to put in the SQL."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        super().__init__(initial or {})
        self._counters: dict[str, int] = {}

    def bind(self, value: Any, type_: str, prefix: str = "p") -> str:
        """``prefix`` groups names by purpose: filter values are f0, f1, ...; goal settings g0, ..."""
        number = self._counters.get(prefix, 0)
        self._counters[prefix] = number + 1
        name = f"{prefix}{number}"
        self[name] = value
        return f"{{{name}:{type_}}}"
