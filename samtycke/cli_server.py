"""Commands that change what samtycke keeps: in ClickHouse directly, or through the running server.

With a ClickHouse server, or an embedded data directory that no process holds, a command
opens the storage itself, brings its tables up to date and does its work there.  chDB lets
one process at a time open a data directory, so while ``samtycke serve`` holds it the
command asks that server over its API instead, with an admin bearer token from
``--token`` or ``$SAMTYCKE_TOKEN``.  ``--server URL`` asks a server in any case.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from samtycke.cli import CommandFailed, storage_failures
from samtycke.settings import Settings
from samtycke.storage import DataDirInUse, Migration, Storage

TOKEN_ENV = "SAMTYCKE_TOKEN"  # noqa: S105 - the name of a variable, not a secret
T = TypeVar("T")


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="URL of the running samtycke, to ask it instead of ClickHouse")
    parser.add_argument("--token", help=f"admin bearer token for the server (default: ${TOKEN_ENV})")


def here_or_on_server(
    args: argparse.Namespace, settings: Settings, here: Callable[[], T], there: Callable[[str], T]
) -> T:
    """``here()`` on the storage itself, or ``there(base_url)`` when a server holds it or is named."""
    if args.server:
        return there(args.server)
    try:
        return here()
    except DataDirInUse:
        return there(f"http://127.0.0.1:{settings.server.port}")


def in_storage(
    settings: Settings,
    migrations: Sequence[Migration],
    work: Callable[[Storage], Coroutine[Any, Any, T]],
    failed: str,
) -> T:
    """Run ``work`` on samtycke's ClickHouse, its tables up to date; ``failed`` prefixes a failure."""
    from samtycke.services import clickhouse_url
    from samtycke.storage import Layout, parse_url
    from samtycke.storage import migrations as migrating

    target = parse_url(
        clickhouse_url(settings, Path(settings.storage.data_dir).resolve()), settings.storage.database
    )
    storage = Storage(target)
    try:
        with storage_failures(failed):
            migrating.apply(storage, Layout(target.database, settings.storage.cluster), migrations)
            return asyncio.run(work(storage))
    finally:
        storage.close()


def ask_server(
    args: argparse.Namespace,
    base: str,
    method: str,
    path: str,
    *,
    json: Any = None,
    expect: int = 200,
    without_token: str = "",
) -> Any:
    """The JSON answer of the running samtycke; anything else ends the command with what to do.

    ``without_token`` is said first when no token was given: another way to get there.
    """
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise CommandFailed(
            f"{without_token}A running samtycke holds the data; give an admin token with --token or "
            f"${TOKEN_ENV} (make one with `samtycke token --role admin`).",
            2,
        )
    url = f"{base.rstrip('/')}{path}"
    try:
        response = httpx.request(
            method, url, json=json, headers={"authorization": f"Bearer {token}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        raise CommandFailed(
            f"Could not reach samtycke at {base}: {exc}. Is it running? Try --server.", 1
        ) from exc
    if response.status_code != expect:
        raise CommandFailed(f"samtycke answered {response.status_code}: {response.text[:500]}", 1)
    return response.json()
