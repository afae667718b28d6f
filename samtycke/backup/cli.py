"""``samtycke backup DIR``, ``samtycke backup --verify DIR`` and ``samtycke restore DIR``.

A backup is made by the running samtycke when one holds the data directory (through
``POST /api/v1/backup``, with an admin token from ``--token`` or ``SAMTYCKE_TOKEN``), and
by the command itself otherwise.  It is verified as soon as it is written.  A restore
needs a data directory no process uses.

On a terminal each command names the step it is at (the files, each table, the journal,
each check) and counts the bytes a running samtycke sends; piped, it prints the summary
alone (``samtycke.progress``).

Exit codes: 0 done (or verified), 1 the backup failed or does not verify, 2 usage errors,
a target in use or not empty.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from samtycke.backup import archive, files, writer
from samtycke.backup.restore import RestoreRefused, restore
from samtycke.backup.verify import Report, verify
from samtycke.cli import CommandFailed, add_config_option, command, load_settings, storage_failures
from samtycke.cli_server import TOKEN_ENV, admin_token, here_or_on_server
from samtycke.journal.journal import Lane
from samtycke.progress import Progress
from samtycke.settings import Settings
from samtycke.storage import Storage


def register(subparsers: Any) -> None:
    backup = command(
        subparsers,
        "backup",
        "Back up the database, the signing keys and the journal into a new folder, or verify a backup.",
        "samtycke backup /var/backups/samtycke-2025-01-31 --config /etc/samtycke.toml\n"
        "  samtycke backup --verify /var/backups/samtycke-2025-01-31",
    )
    add_config_option(backup)
    backup.add_argument("dir", help="a new or empty folder for the backup (with --verify: the backup)")
    backup.add_argument(
        "--verify", action="store_true", help="check an existing backup instead of making one"
    )
    backup.add_argument("--server", help="URL of the running samtycke (default: found by itself)")
    backup.add_argument(
        "--token", help=f"admin bearer token for the running samtycke (default: ${TOKEN_ENV})"
    )
    backup.set_defaults(run=run_backup)
    restorer = command(
        subparsers,
        "restore",
        "Restore a backup into the configured data directory and database (stop samtycke first).",
        "samtycke restore /var/backups/samtycke-2025-01-31 --config /etc/samtycke.toml",
    )
    add_config_option(restorer)
    restorer.add_argument("dir", help="the backup folder")
    restorer.add_argument(
        "--force", action="store_true", help="replace a data directory or database that is not empty"
    )
    restorer.set_defaults(run=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    if args.verify:
        with Progress("verifying") as progress:
            report = verify(folder, progress.say)
        print(report.text())
        return 0 if report.ok else 1
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise CommandFailed(f"{folder} is not an empty folder; a backup goes into a new or empty one.", 2)
    settings = load_settings(args)
    data_dir = Path(settings.storage.data_dir).resolve()
    source = here_or_on_server(
        args,
        settings,
        lambda: _direct(settings, data_dir, folder),
        lambda base: _through_server(args, base, folder),
        held=_running(data_dir),
    )
    with Progress("verifying") as progress:
        report = verify(folder, progress.say)
    _summary(report, folder, source)
    return 0 if report.ok else 1


def run_restore(args: argparse.Namespace) -> int:
    from samtycke.services import storage_target

    settings = load_settings(args)
    data_dir = Path(settings.storage.data_dir).resolve()
    if settings.storage.cluster:
        raise CommandFailed(
            "A cluster is restored with ClickHouse's RESTORE ... ON CLUSTER; see the README.", 2
        )
    storage = Storage(storage_target(settings))
    try:
        with storage_failures("The restore failed"), Progress("restore") as progress:
            done = restore(Path(args.dir), data_dir, storage, force=args.force, step=progress.say)
    except RestoreRefused as exc:
        raise CommandFailed(str(exc), 2) from exc
    finally:
        storage.close()
    print(
        f"restored {done.files} files and {done.tables} tables ({done.rows:,} rows) into {data_dir}; "
        "start samtycke to ship the restored journal"
    )
    return 0


def _running(data_dir: Path) -> bool:
    """Whether a samtycke process works on ``data_dir``: it holds a journal lane."""
    for path in sorted((data_dir / files.JOURNAL).glob("lane-*")):
        lane = Lane.try_claim(path)
        if lane is None:
            return True
        lane.release()
    return False


def _direct(settings: Settings, data_dir: Path, folder: Path) -> str:
    from samtycke.services import storage_target

    if settings.storage.cluster:
        raise CommandFailed(
            "A cluster is backed up with ClickHouse's BACKUP ... ON CLUSTER; see the README.", 2
        )
    storage = Storage(storage_target(settings))
    try:
        with storage_failures("The backup failed"), Progress("backup") as progress:
            writer.write(storage, data_dir, folder, progress.say)
    finally:
        storage.close()
    return storage.target.describe()


def _through_server(args: argparse.Namespace, base: str, folder: Path) -> str:
    token = admin_token(args)
    url = f"{base.rstrip('/')}/api/v1/backup"
    headers = {"authorization": f"Bearer {token}"}
    with Progress("backup") as status:
        status.say(f"the running samtycke at {base} writes it, then sends it")
    try:
        with (
            Progress("bytes received") as progress,
            httpx.stream("POST", url, headers=headers, timeout=httpx.Timeout(30, read=None)) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise CommandFailed(f"samtycke answered {response.status_code}: {response.text[:500]}", 1)
            archive.extract(_counted(response.iter_bytes(archive.CHUNK), progress), folder)
    except httpx.HTTPError as exc:
        raise CommandFailed(
            f"Could not reach samtycke at {base}: {exc}. Is it running? Try --server.", 1
        ) from exc
    except archive.BadArchive as exc:
        raise CommandFailed(str(exc), 1) from exc
    return f"the running samtycke at {base}"


def _counted(chunks: Iterator[bytes], progress: Progress) -> Iterator[bytes]:
    """The chunks as they come, with their bytes counted: the server sends nothing until its
    copy is made, and then a large table for a while."""
    for chunk in chunks:
        progress.advance(len(chunk))
        yield chunk


def _summary(report: Report, folder: Path, source: str) -> None:
    if report.ok:
        print(f"backed up {source} into {folder}; {report.text()}")
    else:
        print(f"the backup in {folder} does not verify:\n{report.text()}")
