"""The manifest of a backup: what it holds, with a checksum per file and rows per table.

``manifest.json`` sits at the top of a backup folder.  ``files`` names every other file
(by its path in the backup) with its SHA-256, size and mode; ``tables`` lists the
database's tables and views in the order they were exported, each with the DDL that
recreates it and, for a table, its data file and row count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NAME = "manifest.json"
FORMAT = "samtycke-backup"
VERSION = 1
FILES = "files"  # the data directory's own files, at their paths in it
TABLES = "tables"  # one compressed Native file per table
CHUNK = 1 << 20


class ManifestError(Exception):
    """The manifest is missing or not one samtycke wrote."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int
    mode: int


@dataclass(frozen=True)
class TableEntry:
    name: str
    engine: str
    ddl: str
    file: str = ""  # empty for a view: it holds no rows of its own
    rows: int = 0

    @property
    def is_view(self) -> bool:
        return not self.file


@dataclass
class Manifest:
    created_at: str
    database: str
    source: str  # which storage the tables came from, for people reading the manifest
    tables: list[TableEntry] = field(default_factory=list)
    files: dict[str, FileEntry] = field(default_factory=dict)

    def write(self, folder: Path) -> None:
        document = {"format": FORMAT, "version": VERSION, **asdict(self)}
        (folder / NAME).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            document: dict[str, Any] = json.loads((folder / NAME).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ManifestError(f"{folder} holds no {NAME}: it is not a samtycke backup") from exc
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ManifestError(f"{folder / NAME} cannot be read: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ManifestError(f"{folder / NAME} is not a samtycke backup manifest")
        if document.get("version") != VERSION:
            raise ManifestError(
                f"{folder / NAME} has version {document.get('version')!r}; this samtycke reads {VERSION}"
            )
        try:
            return cls(
                created_at=str(document["created_at"]),
                database=str(document["database"]),
                source=str(document["source"]),
                tables=[TableEntry(**table) for table in document["tables"]],
                files={str(path): FileEntry(**entry) for path, entry in document["files"].items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ManifestError(f"{folder / NAME} is incomplete: {exc}") from exc


def digest(path: Path) -> FileEntry:
    """A file's checksum, size and permission bits."""
    hasher = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
            size += len(block)
    return FileEntry(hasher.hexdigest(), size, path.stat().st_mode & 0o777)
