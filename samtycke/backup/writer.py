"""Writing a backup into an empty folder: the data directory's files and every table.

The order keeps every record in exactly one place while shipping is paused: first the
files outside the journal (the kept checkpoint among them, so it never covers more than
the rest of the backup), then the tables, then the journal.  Tables whose engine merges
rows (replacing, aggregating) are read with ``FINAL``: the backup holds what queries see,
so a purged payload that a merge has not yet removed is not carried into it.

Row counts are taken before and after each table's export; tables written outside the
journal (sessions, salts) can change meanwhile, and such a table is exported again.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from samtycke import datadir
from samtycke.backup import files
from samtycke.backup.manifest import FILES, TABLES, Manifest, TableEntry, digest
from samtycke.storage import Storage, quote_identifier

logger = logging.getLogger("samtycke.backup")

ATTEMPTS = 3
# Level 1: Native columns compress well even so, and a higher level costs more time than it saves.
GZIP_LEVEL = 1
_MERGING = ("Replacing", "Aggregating", "Collapsing", "VersionedCollapsing", "Summing")
_VIEWS = ("MaterializedView", "View")

Step = Callable[[str], None]


class TableChanging(Exception):
    """A table kept changing while it was exported."""


def write(storage: Storage, data_dir: Path, folder: Path, step: Step = lambda _: None) -> Manifest:
    """Back up ``storage``'s database and ``data_dir`` into ``folder`` (made private, must be empty)."""
    datadir.folder(folder)
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        database=storage.database,
        source=storage.target.describe(),
    )
    step("files")
    _copy_files(data_dir, folder, manifest, journal=False)
    datadir.folder(folder / TABLES)
    for name, engine, ddl in _tables(storage):
        step(f"table {name}")
        manifest.tables.append(_export(storage, folder, name, engine, ddl))
    step("journal")
    _copy_files(data_dir, folder, manifest, journal=True)
    for table in manifest.tables:
        if table.file:
            manifest.files[table.file] = digest(folder / table.file)
    manifest.write(folder)
    return manifest


def _copy_files(data_dir: Path, folder: Path, manifest: Manifest, *, journal: bool) -> None:
    for relative in files.data_files(data_dir, journal=journal):
        name = f"{FILES}/{relative.as_posix()}"
        if files.copy(data_dir / relative, folder / name):
            manifest.files[name] = digest(folder / name)


def _tables(storage: Storage) -> list[tuple[str, str, str]]:
    """Tables first, views after: a view is recreated only once its tables hold their rows."""
    rows = storage.query(
        "SELECT name, engine, create_table_query FROM system.tables "
        "WHERE database = {db:String} AND NOT is_temporary AND NOT startsWith(name, '.inner') ORDER BY name",
        {"db": storage.database},
    )
    found = [(str(name), str(engine), str(ddl)) for name, engine, ddl in rows]
    return sorted(found, key=lambda row: row[1] in _VIEWS)


def _export(storage: Storage, folder: Path, name: str, engine: str, ddl: str) -> TableEntry:
    if engine in _VIEWS:
        return TableEntry(name=name, engine=engine, ddl=ddl)
    final = " FINAL" if engine.startswith(_MERGING) else ""
    source = f"{quote_identifier(name)}{final}"
    relative = f"{TABLES}/{name}.native.gz"
    for _ in range(ATTEMPTS):
        before = _count(storage, source)
        with (
            open(datadir.create(folder / relative), "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as out,
        ):
            storage.export_native(f"SELECT * FROM {source}", out.write)
        if _count(storage, source) == before:
            return TableEntry(name=name, engine=engine, ddl=ddl, file=relative, rows=before)
        logger.info(
            "backup: a table changed while it was exported; exporting it again", extra={"table": name}
        )
    raise TableChanging(f"the table {name} kept changing while it was exported; try again")


def _count(storage: Storage, source: str) -> int:
    return int(storage.query(f"SELECT count() FROM {source}")[0][0])
