"""``samtycke sessions revoke NAME``: log an account out everywhere.

With a ClickHouse server, or an embedded data directory no server holds, the command
ends the sessions in ClickHouse itself; running instances stop accepting them within
``samtycke.sessions.CACHE_SECONDS``.  When a running samtycke holds the embedded data
directory it asks that server instead, with an admin token from ``--token`` or
``SAMTYCKE_TOKEN``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from samtycke import sessions
from samtycke.cli import add_config_option, command, load_settings, storage_failures
from samtycke.settings import Settings

TOKEN_ENV = "SAMTYCKE_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def register(subparsers: Any) -> None:
    group = command(subparsers, "sessions", "End login sessions.", "samtycke sessions revoke anna")
    actions = group.add_subparsers(dest="sessions_command", metavar="ACTION", required=True)
    revoke = command(
        actions,
        "revoke",
        "End every session of a user (or token) name: it must log in again.",
        "samtycke sessions revoke anna --config /etc/samtycke.toml",
    )
    add_config_option(revoke)
    revoke.add_argument("name", help="the user name, or token name, whose sessions end")
    revoke.add_argument("--server", help="URL of the running samtycke, to ask it instead of ClickHouse")
    revoke.add_argument("--token", help=f"admin bearer token for --server (default: ${TOKEN_ENV})")
    revoke.set_defaults(run=run_revoke)


def run_revoke(args: argparse.Namespace) -> int:
    from samtycke.storage import DataDirInUse

    settings = load_settings(args)
    if args.server:
        return _through_server(args, args.server)
    try:
        ended = _direct(settings, args.name)
    except DataDirInUse:
        return _through_server(args, f"http://127.0.0.1:{settings.server.port}")
    print(f"ended {ended} session(s) of {args.name}")
    return 0


def _direct(settings: Settings, name: str) -> int:
    from samtycke.services import clickhouse_url
    from samtycke.storage import Layout, Storage, migrations, parse_url

    target = parse_url(
        clickhouse_url(settings, Path(settings.storage.data_dir).resolve()), settings.storage.database
    )
    storage = Storage(target)
    try:
        with storage_failures("Could not end the sessions"):
            migrations.apply(storage, Layout(target.database, settings.storage.cluster), sessions.MIGRATIONS)
            store = sessions.SessionStore(storage, lambda: datetime.now(UTC), ready=lambda: True)
            return asyncio.run(store.end_all(name))
    finally:
        storage.close()


def _through_server(args: argparse.Namespace, base: str) -> int:
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        print(
            f"A running samtycke holds the data; give an admin token with --token or ${TOKEN_ENV} "
            "(make one with `samtycke token --role admin`).",
            file=sys.stderr,
        )
        return 2
    url = f"{base.rstrip('/')}/api/v1/users/{quote(args.name, safe='')}/sessions"
    try:
        response = httpx.delete(url, headers={"authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        print(f"Could not reach samtycke at {base}: {exc}. Is it running? Try --server.", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"samtycke answered {response.status_code}: {response.text[:500]}", file=sys.stderr)
        return 1
    print(f"ended {response.json()['ended']} session(s) of {args.name}")
    return 0
