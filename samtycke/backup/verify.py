"""``samtycke backup --verify``: is a backup whole, unchanged and provable?

Every file must match its SHA-256 in the manifest and be private to its owner, no file
may be missing or added, each table file must hold the rows the manifest counts, and
each domain's own check must pass: the consent log's newest checkpoint in the backup
must verify against the backed-up keys and entries.  Domains contribute checks through a
``check(folder, tables, manifest) -> list[str]`` function in a module named in
``CHECKS``, so this package needs no domain of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from samtycke.backup import reader
from samtycke.backup.manifest import NAME, Manifest, ManifestError, digest
from samtycke.backup.reader import TableFiles
from samtycke.component import optional_module
from samtycke.storage import StorageError, StorageUnavailable

CHECKS = ("consent.ledger.backup",)


class Check(Protocol):
    def __call__(self, folder: Path, tables: TableFiles, manifest: Manifest) -> list[str]: ...


@dataclass
class Report:
    files: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.ok:
            head = f"OK: {self.files} files and {self.rows:,} rows match the manifest"
        else:
            head = f"FAILED: {len(self.problems)} problem(s)"
        return "\n".join(
            [head, *(f"  {p}" for p in self.problems[:50]), *(f"  note: {n}" for n in self.notes)]
        )


def verify(folder: Path, step: Callable[[str], None] = lambda _: None) -> Report:
    report = Report()
    try:
        manifest = Manifest.read(folder)
    except ManifestError as exc:
        report.problems.append(str(exc))
        return report
    step("checksums")
    _check_files(folder, manifest, report)
    if not report.ok:
        return report  # counting rows of a changed file would only repeat the finding
    if not reader.available():
        report.notes.append(
            "row counts and the consent log were not checked: that needs the embedded ClickHouse "
            "(pip install 'samtycke[embedded]')"
        )
        return report
    tables = TableFiles(folder)
    try:
        for table in manifest.tables:
            if table.is_view:
                continue
            step(f"rows of {table.name}")
            counted = tables.count(table.file)
            report.rows += counted
            if counted != table.rows:
                report.problems.append(f"{table.file} holds {counted} rows; the manifest says {table.rows}")
        for name in CHECKS:
            module = optional_module(name)
            if module is not None:
                step(name.rsplit(".", 2)[-2])
                check: Check = module.check
                report.problems.extend(check(folder, tables, manifest))
    except (StorageError, StorageUnavailable) as exc:
        report.problems.append(f"a table file cannot be read: {exc}")
    finally:
        tables.close()
    return report


def _check_files(folder: Path, manifest: Manifest, report: Report) -> None:
    for name, expected in sorted(manifest.files.items()):
        path = folder / name
        if not path.is_file():
            report.problems.append(f"{name} is missing")
            continue
        actual = digest(path)
        report.files += 1
        if (actual.sha256, actual.bytes) != (expected.sha256, expected.bytes):
            report.problems.append(f"{name} was changed: its SHA-256 does not match the manifest")
        if actual.mode & 0o077:
            report.problems.append(
                f"{name} is open to other users (mode {actual.mode:o}); a backup holds secret keys: chmod 600"
            )
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for extra in sorted(present - set(manifest.files) - {NAME}):
        report.problems.append(f"{extra} is not in the manifest")
    for table in manifest.tables:
        if not table.is_view and table.file not in manifest.files:
            report.problems.append(f"the data of table {table.name} ({table.file}) is not in the manifest")
