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
    args: argparse.Namespace,
    settings: Settings,
    here: Callable[[], T],
    there: Callable[[str], T],
    *,
    held: bool = False,
) -> T:
    """``here()`` on the storage itself, or ``there(base_url)`` when a server holds it or is named.

    ``held`` says the caller already knows a server holds the data, before ``here()`` would
    start on anything it cannot undo.
    """
    if args.server:
        return there(args.server)
    if held:
        return there(local_url(settings))
    try:
        return here()
    except DataDirInUse:
        return there(local_url(settings))


def local_url(settings: Settings) -> str:
    """Where the ``samtycke serve`` of these settings answers on this machine."""
    host = settings.server.host
    if host in ("0.0.0.0", "::"):  # noqa: S104 - a listening address, mapped to a reachable one
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def admin_token(args: argparse.Namespace, without_token: str = "") -> str:
    """The admin bearer token of ``--token`` or the environment; none ends the command.

    ``without_token`` is said first when no token was given: another way to get there.
    """
    token: str = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise CommandFailed(
            f"{without_token}A running samtycke holds the data; give an admin token with --token or "
            f"${TOKEN_ENV} (make one with `samtycke token --role admin`).",
            2,
        )
    return token


def in_storage(
    settings: Settings,
    migrations: Sequence[Migration],
    work: Callable[[Storage], Coroutine[Any, Any, T]],
    failed: str,
) -> T:
    """Run ``work`` on samtycke's ClickHouse, its tables up to date; ``failed`` prefixes a failure."""
    from samtycke.services import storage_target
    from samtycke.storage import Layout
    from samtycke.storage import migrations as migrating

    target = storage_target(settings)
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
    params: dict[str, Any] | None = None,
    expect: int = 200,
    without_token: str = "",
    timeout: float = 30,
) -> Any:
    """The JSON answer of the running samtycke; anything else ends the command with what to do."""
    token = admin_token(args, without_token)
    url = f"{base.rstrip('/')}{path}"
    try:
        response = httpx.request(
            method,
            url,
            json=json,
            params=params,
            headers={"authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        raise CommandFailed(
            f"Could not reach samtycke at {base}: {exc}. Is it running? Try --server.", 1
        ) from exc
    if response.status_code != expect:
        raise CommandFailed(f"samtycke answered {response.status_code}: {response.text[:500]}", 1)
    return response.json()
