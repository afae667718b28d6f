"""The values accounts are made of: who an account is, its tokens, and an authenticated caller."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from samtycke.accounts.errors import InvalidAccount

ROLES = ("marketer", "auditor", "admin")
MAX_NAME = 64
MIN_PASSWORD = 10
# argon2 hashes whatever it is given; a bound keeps one request from costing more than a login should.
MAX_PASSWORD = 1024
# Letters (any script), digits and the punctuation of e-mail addresses: names appear in
# pages, logs and the account record, so nothing that could pass for markup or a new line.
NAME = re.compile(r"[\w.@+-]+")
# /api/v1/accounts/consent is a customer account's consent (consent.web.accounts), not a staff account.
RESERVED = ("consent",)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the account (or token) name and its role."""

    name: str
    role: str


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    disabled: bool
    created_at: datetime | None  # None for entries of the configuration file
    read_only: bool  # from the configuration file: change it there
    kind: str = "user"  # "user" logs in with a password; "token" is a [[tokens]] entry


@dataclass(frozen=True)
class TokenInfo:
    """A bearer token as listed: never the token itself, nor its hash."""

    id: str
    name: str
    created_at: datetime | None
    read_only: bool


def check_name(name: str) -> str:
    if not 0 < len(name) <= MAX_NAME or not NAME.fullmatch(name):
        raise InvalidAccount(
            f"a user name has 1 to {MAX_NAME} letters, digits or the characters . @ + - _",
            field="name",
        )
    if name in RESERVED:
        raise InvalidAccount(f"the name {name!r} is reserved", field="name")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidAccount(f"the role must be one of {', '.join(ROLES)}", field="role")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"a password has at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise InvalidAccount(f"a password has at most {MAX_PASSWORD} characters", field="password")
    return password
