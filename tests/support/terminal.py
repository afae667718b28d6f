"""Run a command as a person at a terminal would, or as a script that pipes its output.

``on_terminal`` gives the child a pseudo-terminal for stdin, stdout and stderr (python's
``pty`` module), so ``isatty()`` is true in it, and returns everything it wrote there;
``piped`` gives it pipes and returns stdout and stderr apart.  Commands that show progress
only on a terminal are tested with both.
"""

from __future__ import annotations

import os
import pty
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def on_terminal(
    argv: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> Finished:
    """Run ``argv`` with a terminal on all three standard streams; ``stdout`` holds all it wrote."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [str(part) for part in argv],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
            cwd=cwd,
            close_fds=True,
        )
    finally:
        os.close(terminal)
    chunks: list[bytes] = []
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
        returncode = process.wait(timeout=timeout)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return Finished(returncode, text, "")


def piped(
    argv: Sequence[str | Path],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> Finished:
    """Run ``argv`` with its output piped, as a script or cron job would."""
    result = subprocess.run(
        [str(part) for part in argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    return Finished(result.returncode, result.stdout, result.stderr)
