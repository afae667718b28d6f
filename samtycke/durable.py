"""Small files that must survive a power cut whole: written aside, fsynced, then renamed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from samtycke import datadir


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (a new, renamed or deleted file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# One writer at a time: two threads replacing the same file (a request's checkpoint and the
# checkpoint loop's) would otherwise share the side file, and one would rename it from under the other.
_writing = threading.Lock()


def write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: after a crash it holds either the old or the new bytes.

    The file is private to the service's user (``samtycke.datadir``) from its first byte.
    """
    tmp = path.with_suffix(path.suffix + ".tmp")
    with _writing:
        with open(datadir.create(tmp), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
