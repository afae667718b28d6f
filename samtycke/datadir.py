"""The data directory is private to the service's user: folders 0700, files 0600.

It holds the journal (hits and receipts on their way to ClickHouse), the signing keys,
the consent log's checkpoint and the embedded database, none of which another local user
may read.  samtycke creates its own files and folders with these modes whatever the
process's umask, and at start-up tightens whatever an earlier version or another tool
left more open.  The embedded ClickHouse makes its own files inside ``clickhouse/``; the
folder's 0700 keeps them out of reach too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def folder(path: Path) -> Path:
    """``path`` as a private folder, made (with its missing parents) if need be."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)  # mkdir's mode passes through the umask, and an old folder keeps its own
    return path


def create(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """Open ``path`` with ``flags`` as a private file (a descriptor), tightening it if it existed."""
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def tighten(root: Path) -> int:
    """Make every folder under ``root`` (itself included) 0700 and every file 0600; how many changed."""
    changed = 0
    for here, _, files in os.walk(root):
        for name, mode in ((here, FOLDER_MODE), *((os.path.join(here, f), FILE_MODE) for f in files)):
            try:
                info = os.lstat(name)
                if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
                    continue
                os.chmod(name, mode)
            except FileNotFoundError:  # the embedded database may drop a part meanwhile
                continue
            changed += 1
    return changed
