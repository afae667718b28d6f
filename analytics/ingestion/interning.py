"""Values that many holders share, each kept once and known by a small number.

A holder stores the number instead of the value (four bytes in a packed table instead of a
reference to an object of its own), and lets go of it when done; the value is dropped when
its last holder lets go, so what is kept is bounded by the values in use, never by the
values ever seen.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Interned(Generic[T]):
    def __init__(self) -> None:
        self._numbers: dict[T, int] = {}
        self._values: list[T | None] = []
        self._holders = array("I")
        self._unused: list[int] = []  # numbers whose value was dropped, given out again first

    def __len__(self) -> int:
        """How many distinct values are held."""
        return len(self._numbers)

    def hold(self, value: T) -> int:
        """The value's number, held once more until ``release``."""
        number = self._numbers.get(value)
        if number is not None:
            self._holders[number] += 1
            return number
        if self._unused:
            number = self._unused.pop()
            self._values[number] = value
            self._holders[number] = 1
        else:
            number = len(self._values)
            self._values.append(value)
            self._holders.append(1)
        self._numbers[value] = number
        return number

    def value(self, number: int) -> T:
        value = self._values[number]
        assert value is not None, "a released number was read"
        return value

    def release(self, number: int) -> None:
        self._holders[number] -= 1
        if self._holders[number] == 0:
            del self._numbers[self.value(number)]
            self._values[number] = None
            self._unused.append(number)
