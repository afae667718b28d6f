"""Segments ClickHouse rejected, kept aside in ``<journal>/quarantine/`` for an operator.

A rejected segment holds the same personal data as the rows that did reach ClickHouse
(pseudonymous visitor ids, pages, consent receipts), so it must not outlive an erasure:
``purge`` rewrites every quarantined segment without the records the caller names, the
way erasure removes them from the tables, and drops a segment left empty.  Like the rest
of the data directory, the folder and its files are private to the service's user.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from samtycke import datadir, durable
from samtycke.journal import segment

FOLDER = "quarantine"


def keep(journal_root: Path, name: str, data: bytes) -> Path:
    """Keep a copy of a rejected segment's bytes under ``name``."""
    kept = datadir.folder(journal_root / FOLDER) / name
    durable.write(kept, data)
    return kept


def purge(journal_root: Path, matches: Callable[[str, bytes], bool]) -> int:
    """Remove every quarantined record for which ``matches(table, row)``; how many were removed."""
    folder = journal_root / FOLDER
    removed = 0
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix == ".tmp" or not path.is_file():
            continue
        tables, rows, _ = segment.scan(path.read_bytes())
        kept = [segment.Record(t, r) for t, r in zip(tables, rows, strict=True) if not matches(t, r)]
        if len(kept) == len(rows):
            continue
        removed += len(rows) - len(kept)
        if kept:
            durable.write(path, segment.encode(kept))
        else:
            path.unlink()
            durable.fsync_dir(folder)
    return removed
