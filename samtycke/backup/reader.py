"""Reading a backup's table files without a database: an in-memory embedded ClickHouse.

``--verify`` counts each file's rows and hands the consent log's rows to its check, and
``restore`` does both before it touches anything.  The files are read where they lie, with
ClickHouse's ``file()`` table function; nothing is loaded into a database.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

from samtycke.storage import Storage, Target


def available() -> bool:
    """Whether this install has the embedded engine that reads the files."""
    return importlib.util.find_spec("chdb") is not None


class TableFiles:
    """Queries over a backup's table files; ``{table}`` in a query names one of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._storage: Storage | None = None

    def _engine(self) -> Storage:
        if self._storage is None:
            self._storage = Storage(Target("chdb", ":memory:", "", 0, "", "", "default"), pool_size=1)
        return self._storage

    def source(self, file: str) -> str:
        path = str(self.folder / file).replace("\\", "\\\\").replace("'", "\\'")
        return f"file('{path}', 'Native')"

    def count(self, file: str) -> int:
        with gzip.open(self.folder / file, "rb") as handle:
            if not handle.read(1):
                return 0  # an empty table: a Native file without blocks has no structure to read
        return int(self._engine().query(f"SELECT count() FROM {self.source(file)}")[0][0])

    def rows(self, file: str, select: str) -> list[dict[str, Any]]:
        """``select`` with ``{table}`` standing for the file's rows."""
        return self._engine().query_dicts(select.format(table=self.source(file)))

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
