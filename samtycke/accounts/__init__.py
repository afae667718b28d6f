"""Accounts: who may log in, with which role, and the record of every change to them.

The flow: a person or script asks for an account change (the admin pages and API, the
first-run setup page of ``first_run``, ``samtycke account create`` in ``cli``) →
``Accounts`` in ``store.py`` checks it and writes it to ClickHouse (argon2 password hashes,
sha256 token hashes, never the secret) → ``AccountEvents`` in ``events.py`` records who
did what to whom, for auditors → ``samtycke.auth`` consults the store on every login and
bearer-token call, beside the read-only ``[[users]]`` and ``[[tokens]]`` of the
configuration file.  The values all of them pass around are in ``model``.

Public surface (``services.accounts`` in a running app):

- ``Accounts.create / set_password / disable / enable / delete`` change an account;
  every change takes the ``actor`` (who made it) and is recorded.  Disabling or deleting
  an account, or setting its password, ends its sessions.
- ``Accounts.list()`` gives every account, those of the configuration file marked
  ``read_only``; ``issue_token`` (the token is returned once), ``revoke_token`` and
  ``tokens(name)`` manage bearer tokens.
- ``verify_password``, ``check_token`` and ``any_admin`` answer authentication.
- ``AccountEvents.recent(limit)`` is the record, newest first.
- Refusals are ``AccountError`` subclasses (``errors.py``), free of HTTP; the web
  boundary maps them to statuses.
"""

from samtycke.accounts.errors import (
    AccountError,
    AccountExists,
    InvalidAccount,
    LastAdmin,
    NoSuchAccount,
    NoSuchToken,
    ReadOnlyAccount,
)
from samtycke.accounts.events import AccountEvent, AccountEvents
from samtycke.accounts.model import ROLES, Account, Principal, TokenInfo
from samtycke.accounts.store import MIGRATIONS, Accounts

__all__ = [
    "MIGRATIONS",
    "ROLES",
    "Account",
    "AccountError",
    "AccountEvent",
    "AccountEvents",
    "AccountExists",
    "Accounts",
    "InvalidAccount",
    "LastAdmin",
    "NoSuchAccount",
    "NoSuchToken",
    "Principal",
    "ReadOnlyAccount",
    "TokenInfo",
]
