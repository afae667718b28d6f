"""Progress for long command-line work: shown on a terminal, silent when piped.

A scan, a log verification, an export, a backup or a restore can take minutes.  Someone
watching a terminal wants to see that it moves; a script or cron job that pipes or
redirects stderr wants nothing but the result and the errors.  So progress goes to stderr
only when stderr is a terminal, and every command uses this one module, so they all look
and behave alike::

    from samtycke.progress import Progress

    with Progress("verifying receipts", total=len(entries)) as progress:
        for entry in entries:
            check(entry)
            progress.advance()          # "verifying receipts: 1,234/5,000 (24 %)"
        progress.say("checkpoints")     # a line of its own; the count so far stays above it

``progress.track(iterable)`` counts the items of an iterable as they are taken, so a
function that reads lines or rows needs no knowledge of progress at all.

``total`` may be unknown (``None``): the count is shown without a percentage.  A counted
line is redrawn in place (carriage return), at most every ``MIN_INTERVAL_S`` so that a
million small steps cost almost nothing; the final count is always drawn when the work
ends.  ``say`` prints a status line for steps that are not counted ("scenario reject-all").

Progress carries no results: what a command prints on stdout (a report, JSON) and its
error messages on stderr are the same whether or not a terminal is attached.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import TextIO, TypeVar

T = TypeVar("T")

MIN_INTERVAL_S = 0.1
CLEAR_LINE = "\r\x1b[K"


def interactive(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal someone watches (a pipe, a file or a closed stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """One piece of long work: a label, an optional total, and how far it got."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = sys.stderr if stream is None else stream
        self.shown = interactive(self._stream)
        self._clock = clock
        self._drawn_at: float | None = None
        self._line_open = False  # a counted line is on screen without its newline

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish()

    def advance(self, count: int = 1) -> None:
        """``count`` more steps are done."""
        self.update(self.done + count)

    def track(self, items: Iterable[T]) -> Iterator[T]:
        """Each of ``items``, counting one step as the next is taken (lines of a file, rows)."""
        for item in items:
            yield item
            self.advance()

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` steps are done (of ``total``, when it became known only now)."""
        self.done = done
        if total is not None:
            self.total = total
        if not self.shown:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < MIN_INTERVAL_S:
            return
        self._drawn_at = now
        self._write(CLEAR_LINE + self.line())
        self._line_open = True

    def say(self, text: str) -> None:
        """A status line of its own ("scenario reject-all"), kept on screen below the count so far."""
        if not self.shown:
            return
        self.finish()
        self._write(f"{self.label}: {text}\n")

    def finish(self) -> None:
        """Draw the final count and end its line; safe to call more than once.

        The next count after it is drawn at once, on a line of its own."""
        if not self.shown:
            return
        if self._line_open:
            self._write(CLEAR_LINE + self.line() + "\n")
        self._line_open = False
        self._drawn_at = None

    def line(self) -> str:
        """The counted line as shown: ``label: done/total (percent)``, or ``label: done``."""
        if self.total is None:
            return f"{self.label}: {self.done:,}"
        percent = f" ({100 * self.done // self.total} %)" if self.total else ""
        return f"{self.label}: {self.done:,}/{self.total:,}{percent}"

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
