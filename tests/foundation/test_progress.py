"""Long command-line work shows progress on a terminal and stays quiet when piped."""

from __future__ import annotations

import io
import os
import sys

from samtycke.progress import Progress
from tests.support.terminal import on_terminal, piped

# A command's shape: progress while it works, its result on stdout, a summary on stderr.
WORK = """
import sys
from samtycke.progress import Progress
with Progress("checking", total=3, clock=iter(range(0, 100, 1)).__next__) as progress:
    progress.say("first part")
    for _ in range(3):
        progress.advance()
print("result")
print("summary", file=sys.stderr)
"""


class Terminal(io.StringIO):
    """What a terminal keeps of what is written to it."""

    def isatty(self) -> bool:
        return True


def test_piped_output_has_no_progress_lines() -> None:
    finished = piped([sys.executable, "-c", WORK])
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "result\n"
    assert finished.stderr == "summary\n"


def test_a_terminal_shows_the_progress_lines_and_the_same_result() -> None:
    finished = on_terminal([sys.executable, "-c", WORK])
    assert finished.returncode == 0, finished.stdout
    assert "checking: first part\n" in finished.stdout
    assert "checking: 3/3 (100 %)\n" in finished.stdout
    assert finished.stdout.endswith("result\nsummary\n"), finished.stdout


def test_a_count_is_redrawn_in_place_at_most_every_tenth_of_a_second() -> None:
    times = iter([0.0, 0.05, 0.09, 0.2, 0.25])
    screen = Terminal()
    progress = Progress("exporting", total=None, stream=screen, clock=lambda: next(times))
    for _ in range(5):
        progress.advance()
    progress.finish()
    progress.finish()
    assert screen.getvalue() == (
        "\r\x1b[Kexporting: 1"  # drawn at 0.0
        "\r\x1b[Kexporting: 4"  # at 0.2; 2 and 3 came too soon after it
        "\r\x1b[Kexporting: 5\n"  # the final count, always, and once
    )


def test_a_status_line_keeps_the_count_so_far_and_the_next_count_is_drawn_at_once() -> None:
    screen = Terminal()
    progress = Progress("verifying", total=200, stream=screen, clock=lambda: 1.0)
    progress.update(50)
    progress.say("checkpoints")
    progress.update(200)
    progress.finish()
    assert screen.getvalue() == (
        "\r\x1b[Kverifying: 50/200 (25 %)"
        "\r\x1b[Kverifying: 50/200 (25 %)\n"
        "verifying: checkpoints\n"
        "\r\x1b[Kverifying: 200/200 (100 %)"
        "\r\x1b[Kverifying: 200/200 (100 %)\n"
    )


def test_a_total_of_nothing_shows_no_percentage_and_a_late_total_is_taken() -> None:
    assert Progress("scanning", total=0, stream=Terminal()).line() == "scanning: 0/0"
    progress = Progress("scanning", stream=Terminal(), clock=lambda: 0.0)
    progress.update(2, total=8)
    assert progress.line() == "scanning: 2/8 (25 %)"


def test_a_closed_or_redirected_stream_is_no_terminal() -> None:
    with open(os.devnull, "w") as closed:  # a real file, closed: isatty() raises
        pass
    assert not Progress("x", stream=closed).shown
    quiet = io.StringIO()
    progress = Progress("x", total=1, stream=quiet)
    progress.advance()
    progress.say("y")
    progress.finish()
    assert not progress.shown and quiet.getvalue() == ""


def test_track_counts_the_items_as_they_are_taken() -> None:
    screen = Terminal()
    with Progress("reading", stream=screen, clock=lambda: 0.0) as progress:
        taken = [line.upper() for line in progress.track(["a", "b", "c"])]
    assert taken == ["A", "B", "C"] and progress.done == 3
    assert screen.getvalue().endswith("\r\x1b[Kreading: 3\n")
