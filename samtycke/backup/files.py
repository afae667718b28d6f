"""Which files of the data directory a backup holds, and how they are copied.

Everything samtycke keeps in its data directory is copied (signing keys, cookie keys,
the consent log's kept checkpoint, the journal, and whatever a later version adds) except
the embedded database, which is exported table by table instead, the lock files that
only mean something to a live process, and backups being made.  Every copy is private
(files 0600, folders 0700), the mode the signing keys need and the one samtycke gives
its data directory anyway.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from samtycke import datadir

EMBEDDED_DATABASE = "clickhouse"
JOURNAL = "journal"
IN_PROGRESS = ".backups"  # where a running server builds a backup before sending it
_LOCKS = ("LOCK", ".lock")


def data_files(data_dir: Path, *, journal: bool) -> Iterator[Path]:
    """The files to copy, relative to ``data_dir``: the journal's alone, or all the others."""
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        top = relative.parts[0]
        if top in (EMBEDDED_DATABASE, IN_PROGRESS) or (top == JOURNAL) != journal:
            continue
        if path.is_file() and not path.is_symlink() and not path.name.endswith(_LOCKS):
            yield relative


def copy(source: Path, target: Path) -> bool:
    """Copy one file privately; False when it went away meanwhile (a segment shipped and deleted)."""
    for parent in reversed(target.parents):
        if not parent.exists():
            datadir.folder(parent)
    try:
        with open(source, "rb") as reader:
            fd = datadir.create(target)
            with open(fd, "wb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
    except FileNotFoundError:
        return False
    return True
