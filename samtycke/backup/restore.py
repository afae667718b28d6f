"""``samtycke restore``: a backup becomes a data directory and a database again.

Nothing is touched before the backup verifies in full.  The target must be empty, a data
directory no process uses and a database without tables, unless ``force`` says to
replace what is there.  Files come back private (keys 0600); tables are created from the
backup's own DDL and filled before the views that feed the rollups exist, so the
restored rollups are the backed-up ones (raw events may have expired since they were
counted), not a recount.  Every table must receive exactly the rows the manifest counts.
The restored service starts as the backed-up one would: it ships the copied journal and
checks the consent log against its kept checkpoint.
"""

from __future__ import annotations

import gzip
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from samtycke import datadir
from samtycke.backup import files
from samtycke.backup.manifest import CHUNK, FILES, Manifest, TableEntry
from samtycke.backup.verify import verify
from samtycke.journal.journal import Lane
from samtycke.storage import DataDirInUse, Storage, quote_identifier


class RestoreRefused(Exception):
    """The backup does not verify, or the target is not free to restore into."""


@dataclass(frozen=True)
class Restored:
    files: int
    tables: int
    rows: int


def restore(
    folder: Path,
    data_dir: Path,
    storage: Storage,
    *,
    force: bool,
    step: Callable[[str], None] = lambda _: None,
) -> Restored:
    report = verify(folder, lambda what: step(f"verifying {what}"))
    if not report.ok:
        raise RestoreRefused(f"the backup does not verify, so nothing was restored:\n{report.text()}")
    manifest = Manifest.read(folder)
    _refuse_if_in_use(data_dir)
    occupied = _occupied(data_dir, storage)
    if occupied and not force:
        raise RestoreRefused(
            f"{occupied} is not empty; restore into a fresh data directory and database, "
            "or pass --force to replace what is there"
        )
    if occupied:
        step("clearing the target")
        _clear(data_dir, storage)
    step("files")
    copied = 0
    prefix = f"{FILES}/"
    for name in manifest.files:
        if name.startswith(prefix):
            files.copy(folder / name, datadir.folder(data_dir) / name[len(prefix) :])
            copied += 1
    storage.ensure_database()
    rows = 0
    for table in manifest.tables:
        step(f"table {table.name}")
        storage.command(_retarget(table.ddl, manifest.database, storage.database))
        if not table.is_view:
            rows += _fill(folder, storage, table)
    return Restored(copied, len(manifest.tables), rows)


def _refuse_if_in_use(data_dir: Path) -> None:
    """A running samtycke holds a journal lane: restoring under it would lose data either way."""
    for path in sorted((data_dir / files.JOURNAL).glob("lane-*")):
        lane = Lane.try_claim(path)
        if lane is None:
            raise DataDirInUse(
                f"A samtycke process is using the data directory {data_dir}; stop it, then restore."
            )
        lane.release()


def _occupied(data_dir: Path, storage: Storage) -> str:
    if data_dir.exists() and any(data_dir.iterdir()):
        return f"the data directory {data_dir}"
    if (
        not storage.target.embedded
        and storage.query(
            "SELECT count() FROM system.tables WHERE database = {db:String}", {"db": storage.database}
        )[0][0]
    ):
        return f"the database {storage.database}"
    return ""


def _clear(data_dir: Path, storage: Storage) -> None:
    if not storage.target.embedded:
        names = storage.query(
            "SELECT name FROM system.tables WHERE database = {db:String} "
            "ORDER BY engine != 'MaterializedView'",
            {"db": storage.database},
        )
        for (name,) in names:
            storage.command(f"DROP TABLE IF EXISTS {quote_identifier(str(name))} SYNC")
    if not data_dir.exists():
        return  # only the database held something: a new data directory on an old server
    for child in data_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _fill(folder: Path, storage: Storage, table: TableEntry) -> int:
    if not table.rows:
        return 0  # verified empty; ClickHouse refuses an insert without a block
    written = storage.insert_native(table.name, _blocks(folder / table.file))
    if written != table.rows:
        raise RestoreRefused(f"the table {table.name} took {written} rows; the backup holds {table.rows}")
    return written


def _blocks(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def _retarget(ddl: str, old: str, new: str) -> str:
    """The DDL with its database name changed, when restoring under another name."""
    if old == new:
        return ddl
    return re.sub(rf"(?<![\w.`]){re.escape(old)}\.", f"{new}.", ddl)
