"""``samtycke sessions revoke NAME``: log an account out everywhere.

The sessions end in ClickHouse, or through the running server that holds the embedded
data (``samtycke.cli_server``); other running instances stop accepting them within
``samtycke.sessions.CACHE_SECONDS``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from samtycke import accounts, sessions
from samtycke.accounts.cli import CLI_ACTOR
from samtycke.accounts.events import AccountEvents
from samtycke.cli import add_config_option, command, load_settings
from samtycke.cli_server import add_server_options, ask_server, here_or_on_server, in_storage
from samtycke.storage import Storage


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
    add_server_options(revoke)
    revoke.set_defaults(run=run_revoke)


def run_revoke(args: argparse.Namespace) -> int:
    settings = load_settings(args)

    def now() -> datetime:
        return datetime.now(UTC)

    async def end_all(storage: Storage) -> int:
        ended = await sessions.SessionStore(storage, now, ready=lambda: True).end_all(args.name)
        # Recorded for auditors like the same change made on the accounts page.
        await AccountEvents(storage, now).record(CLI_ACTOR, "end_sessions", args.name, f"sessions={ended}")
        return ended

    def here() -> int:
        migrations = [*sessions.MIGRATIONS, *accounts.MIGRATIONS]
        return in_storage(settings, migrations, end_all, "Could not end the sessions")

    def there(base: str) -> int:
        path = f"/api/v1/accounts/{quote(args.name, safe='')}/sessions"
        return int(ask_server(args, base, "DELETE", path)["ended"])

    ended = here_or_on_server(args, settings, here, there)
    print(f"ended {ended} session(s) of {args.name}")
    return 0
