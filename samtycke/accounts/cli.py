"""``samtycke account create NAME --role ROLE``: an account from the command line.

For whoever does not want the first-run page, or scripts a deployment.  The password is
asked twice on a terminal, or read as one line from standard input when piped, so it is
never an argument (which ``ps`` and shell histories would show).  The account is made in
ClickHouse, or through the running server that holds the embedded data
(``samtycke.cli_server``), and recorded as made by ``cli``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from samtycke.accounts.errors import AccountError
from samtycke.accounts.model import ROLES, Account
from samtycke.accounts.store import MIGRATIONS, Accounts
from samtycke.cli import CommandFailed, add_config_option, command, load_settings
from samtycke.cli_server import add_server_options, ask_server, here_or_on_server, in_storage
from samtycke.sessions import MIGRATIONS as SESSION_MIGRATIONS
from samtycke.sessions import SessionStore
from samtycke.storage import Storage

CLI_ACTOR = "cli"


def register(subparsers: Any) -> None:
    group = command(subparsers, "account", "Manage accounts.", "samtycke account create anna --role admin")
    actions = group.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    create = command(
        actions,
        "create",
        "Create an account; the password is asked twice, or read from standard input when piped.",
        "samtycke account create anna --role admin\n"
        "  printf '%s\\n' \"$PASSWORD\" | samtycke account create ci --role marketer --config FILE",
    )
    add_config_option(create)
    create.add_argument("name", help="the user name: letters, digits and . @ + - _ (at most 64)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    add_server_options(create)
    create.set_defaults(run=run_create)


def read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password (at least 10 characters): ")
    if getpass.getpass("The same password again: ") != password:
        raise CommandFailed("The two passwords differ; nothing was created.", 2)
    return password


def run_create(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    password = read_password()

    async def create(storage: Storage) -> Account:
        now = lambda: datetime.now(UTC)  # noqa: E731 - the service's clock, here
        accounts = Accounts(
            storage,
            now,
            sessions=SessionStore(storage, now, ready=lambda: True),
            users=settings.users,
            tokens=settings.tokens,
        )
        return await accounts.create(args.name, args.role, password, actor=CLI_ACTOR)

    def here() -> str:
        account = in_storage(
            settings, [*SESSION_MIGRATIONS, *MIGRATIONS], create, "Could not create the account"
        )
        return account.role

    def there(base: str) -> str:
        body = {"name": args.name, "role": args.role, "password": password}
        hint = (
            "Create the first admin with the setup link `samtycke serve` printed, "
            "or stop it and run this again. "
        )
        answer = ask_server(args, base, "POST", "/api/v1/accounts", json=body, expect=201, without_token=hint)
        return str(answer["role"])

    try:
        role = here_or_on_server(args, settings, here, there)
    except AccountError as exc:
        raise CommandFailed(f"The account was not created: {exc.message}.", 2) from exc
    print(f"created {args.name} ({role}); log in at /login")
    return 0
