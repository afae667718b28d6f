"""Accounts kept in ClickHouse, beside the read-only ones of the configuration file.

An account is a name, a role and an argon2 hash of its password; a bearer token is a
random string of which only the sha256 is kept, bound to an account and taking its role.
Both tables are ``ReplacingMergeTree`` keyed by name (or token id): every change adds a
row with a higher ``version``, and reads take each key's latest row, so a change is one
insert and the history stays until ClickHouse merges it away.  A deleted account is a
row marked deleted; its name can be taken again.

The ``[[users]]`` and ``[[tokens]]`` of the configuration file keep working and are
listed ``read_only``: they are changed in the file, and their names cannot be taken here.

Two rules keep samtycke administrable: the last admin who can log in cannot be disabled
or deleted (``LastAdmin``), and a disabled or deleted account is logged out everywhere
(``samtycke.sessions``) and its tokens stop working.  Token lookups are cached in-process
for ``CACHE_SECONDS``, as sessions are: this instance forgets a revoked token at once,
other instances within that time.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from samtycke.accounts.errors import (
    AccountExists,
    InvalidAccount,
    LastAdmin,
    NoSuchAccount,
    NoSuchToken,
    ReadOnlyAccount,
)
from samtycke.accounts.events import TABLE as EVENTS_TABLE
from samtycke.accounts.events import AccountEvents
from samtycke.accounts.model import (
    Account,
    Principal,
    TokenInfo,
    check_name,
    check_password,
    check_role,
)
from samtycke.passwords import Passwords
from samtycke.sessions import SessionStore
from samtycke.settings import Token, User
from samtycke.storage import Migration, Storage, StorageUnavailable, Table

ACCOUNTS = "accounts"
TOKENS = "account_tokens"
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
CONFIG_TOKEN = "config-"  # noqa: S105 - ids of [[tokens]] entries are their position, never their hash

TIME = "DateTime64(3, 'UTC')"
MIGRATIONS = [
    Migration(
        id="samtycke.0002_accounts",
        description="Accounts and bearer tokens managed in samtycke, and the record of every change to them.",
        steps=(
            Table(
                name=ACCOUNTS,
                columns=(
                    ("name", "String"),
                    ("role", "LowCardinality(String)"),
                    ("password_argon2", "String"),
                    ("disabled", "UInt8"),
                    ("deleted", "UInt8"),
                    ("created_at", TIME),
                    ("version", "UInt64"),
                ),
                engine="ReplacingMergeTree(version)",
                order_by="name",
                journalled=False,
                sharding_key="cityHash64(name)",
            ),
            Table(
                name=TOKENS,
                columns=(
                    ("id", "String"),
                    ("name", "String"),
                    ("sha256", "String"),
                    ("created_at", TIME),
                    ("revoked", "UInt8"),
                    ("version", "UInt64"),
                ),
                engine="ReplacingMergeTree(version)",
                order_by="id",
                journalled=False,
                sharding_key="cityHash64(id)",
            ),
            EVENTS_TABLE,
        ),
    )
]

ACCOUNT_COLUMNS = ("name", "role", "password_argon2", "disabled", "deleted", "created_at", "version")
TOKEN_COLUMNS = ("id", "name", "sha256", "created_at", "revoked", "version")
LATEST_ACCOUNTS = (
    "SELECT name, argMax(role, version), argMax(password_argon2, version), argMax(disabled, version), "
    "argMax(deleted, version), argMax(created_at, version), max(version) "
    f"FROM `{ACCOUNTS}` {{where}} GROUP BY name ORDER BY name"
)


@dataclass(frozen=True)
class _Row:
    """An account's latest row in ClickHouse."""

    name: str
    role: str
    password_argon2: str
    disabled: bool
    deleted: bool
    created_at: datetime
    version: int

    @property
    def live(self) -> bool:
        return not self.deleted

    @property
    def can_log_in(self) -> bool:
        return not self.deleted and not self.disabled

    def changed(self, version: int, **fields: object) -> tuple[object, ...]:
        values = {
            "name": self.name,
            "role": self.role,
            "password_argon2": self.password_argon2,
            "disabled": int(self.disabled),
            "deleted": int(self.deleted),
            "created_at": self.created_at,
            **fields,
            "version": version,
        }
        return tuple(values[column] for column in ACCOUNT_COLUMNS)

    def account(self) -> Account:
        return Account(self.name, self.role, self.disabled, self.created_at, read_only=False)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(
        self,
        storage: Storage,
        now: Callable[[], datetime],
        *,
        sessions: SessionStore,
        users: Sequence[User] = (),
        tokens: Sequence[Token] = (),
        passwords: Passwords | None = None,
        ready: Callable[[], bool] = lambda: True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.now = now
        self.sessions = sessions
        self.events = AccountEvents(storage, now)
        self.passwords = passwords or Passwords()
        self.ready = ready
        self.clock = clock
        self._users = {user.name: user for user in users}
        self._tokens = [(bytes.fromhex(token.sha256), token) for token in tokens]
        self._token_cache: dict[str, tuple[float, Principal | None]] = {}
        # One change at a time in this process, so "is the name free" and "is this the last
        # admin" still hold when the change is written.
        self._changing = asyncio.Lock()

    # -- changes -------------------------------------------------------------------------------------

    async def create(self, name: str, role: str, password: str, *, actor: str) -> Account:
        check_name(name)
        check_role(role)
        check_password(password)
        self._not_configured(name)
        password_hash = await self.passwords.hash(password)
        async with self._changing:
            current = await self._row(name)
            if current is not None and current.live:
                raise AccountExists(f"an account named {name!r} exists", field="name")
            created = self.now()
            row = (name, role, password_hash, 0, 0, created, self._version(current))
            await self._insert(ACCOUNTS, [row], ACCOUNT_COLUMNS)
            await self.events.record(actor, "create", name, f"role={role}")
        return Account(name, role, disabled=False, created_at=created, read_only=False)

    async def set_password(self, name: str, password: str, *, actor: str) -> None:
        """A new password; the account's sessions end, so whoever had the old one is logged out."""
        check_password(password)
        self._not_configured(name)
        password_hash = await self.passwords.hash(password)
        async with self._changing:
            current = await self._live(name)
            await self._insert(
                ACCOUNTS,
                [current.changed(self._version(current), password_argon2=password_hash)],
                ACCOUNT_COLUMNS,
            )
            await self.events.record(actor, "set_password", name)
        await self.sessions.end_all(name)

    async def disable(self, name: str, *, actor: str) -> None:
        """The account can no longer log in, its sessions end and its tokens stop working."""
        self._not_configured(name)
        async with self._changing:
            current = await self._live(name)
            await self._keep_an_admin(current)
            await self._insert(
                ACCOUNTS, [current.changed(self._version(current), disabled=1)], ACCOUNT_COLUMNS
            )
            await self.events.record(actor, "disable", name)
        self._token_cache.clear()
        await self.sessions.end_all(name)

    async def enable(self, name: str, *, actor: str) -> None:
        self._not_configured(name)
        async with self._changing:
            current = await self._live(name)
            await self._insert(
                ACCOUNTS, [current.changed(self._version(current), disabled=0)], ACCOUNT_COLUMNS
            )
            await self.events.record(actor, "enable", name)
        self._token_cache.clear()

    async def delete(self, name: str, *, actor: str) -> None:
        """The account goes, with its tokens; it is logged out everywhere; the record of it stays."""
        self._not_configured(name)
        async with self._changing:
            current = await self._live(name)
            await self._keep_an_admin(current)
            await self._insert(
                ACCOUNTS, [current.changed(self._version(current), deleted=1)], ACCOUNT_COLUMNS
            )
            revoked = [
                (token_id, name, sha256, created, 1, version + 1)
                for token_id, sha256, created, version in await self._live_tokens(name)
            ]
            await self._insert(TOKENS, revoked, TOKEN_COLUMNS)
            await self.events.record(actor, "delete", name)
        self._token_cache.clear()
        await self.sessions.end_all(name)

    async def issue_token(self, name: str, *, actor: str) -> str:
        """A new bearer token for the account, with its role; returned once, only its sha256 is kept."""
        self._not_configured(name)
        token = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        async with self._changing:
            current = await self._live(name)
            if current.disabled:
                raise InvalidAccount(f"the account {name!r} is disabled; enable it first", field="name")
            row = (token_id, name, token_sha256(token), self.now(), 0, self._version(None))
            await self._insert(TOKENS, [row], TOKEN_COLUMNS)
            await self.events.record(actor, "issue_token", name, f"token={token_id}")
        return token

    async def revoke_token(self, token_id: str, *, actor: str) -> None:
        if token_id.startswith(CONFIG_TOKEN):
            raise ReadOnlyAccount("this token is in the configuration file; remove it there", field="token")
        async with self._changing:
            self._require_ready()
            rows = await self.storage.aquery(
                "SELECT argMax(name, version), argMax(sha256, version), argMax(created_at, version), "
                f"argMax(revoked, version), max(version) FROM `{TOKENS}` WHERE id = {{id:String}} "
                "GROUP BY id",
                {"id": token_id},
            )
            if not rows or int(rows[0][3]):
                raise NoSuchToken("no such token, or it was revoked already", field="token")
            name, sha256, created, _, version = rows[0]
            await self._insert(
                TOKENS, [(token_id, name, sha256, created, 1, int(version) + 1)], TOKEN_COLUMNS
            )
            await self.events.record(actor, "revoke_token", str(name), f"token={token_id}")
        self._token_cache.clear()

    # -- reading ---------------------------------------------------------------------------------------

    async def list(self) -> builtins.list[Account]:
        """Every account: those of the configuration file (read-only) first, then the others by name."""
        configured = [Account(u.name, u.role, False, None, read_only=True) for u in self._users.values()]
        configured += [
            Account(t.name, t.role, False, None, read_only=True, kind="token") for _, t in self._tokens
        ]
        stored = [row.account() for row in await self._rows() if row.live]
        return configured + stored

    async def tokens(self, name: str) -> builtins.list[TokenInfo]:
        """The account's live tokens, those of the configuration file (read-only) first."""
        configured = [
            TokenInfo(f"{CONFIG_TOKEN}{i}", t.name, None, read_only=True)
            for i, (_, t) in enumerate(self._tokens)
            if t.name == name
        ]
        return configured + [
            TokenInfo(token_id, name, _utc(created), read_only=False)
            for token_id, _, created, _ in await self._live_tokens(name)
        ]

    async def any_admin(self) -> bool:
        """Whether anyone can administer samtycke: an admin in the file, or one here who can log in."""
        if any(u.role == "admin" for u in self._users.values()) or any(
            t.role == "admin" for _, t in self._tokens
        ):
            return True
        return any(row.role == "admin" and row.can_log_in for row in await self._rows())

    # -- authentication --------------------------------------------------------------------------------

    async def verify_password(self, name: str, password: str) -> Principal | None:
        """The account, if ``password`` is its password and it may log in."""
        configured = self._users.get(name)
        if configured is not None:
            ok = await self.passwords.verify(configured.password_argon2, password)
            return Principal(configured.name, configured.role) if ok else None
        row = await self._row(name) if self.ready() else None
        usable = row is not None and row.can_log_in
        # An unknown or disabled name is checked against a stand-in hash, at a wrong password's cost.
        if not await self.passwords.verify(row.password_argon2 if usable and row else None, password):
            return None
        assert row is not None
        return Principal(row.name, row.role)

    async def check_token(self, token: str) -> Principal | None:
        configured = self._configured_token(token)
        if configured is not None:
            return configured
        key = token_sha256(token)
        cached = self._token_cache.get(key)
        if cached is None or cached[0] <= self.clock():
            cached = (self.clock() + CACHE_SECONDS, await self._stored_token(key))
            if len(self._token_cache) >= CACHE_ENTRIES:
                self._token_cache.clear()
            self._token_cache[key] = cached
        return cached[1]

    def _configured_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).digest()
        found: Token | None = None
        # Compare against every entry so timing does not reveal which one matched.
        for expected, entry in self._tokens:
            if hmac.compare_digest(digest, expected):
                found = entry
        return Principal(found.name, found.role) if found else None

    async def _stored_token(self, key: str) -> Principal | None:
        if not self.ready():
            return None
        rows = await self.storage.aquery(
            f"SELECT argMax(name, version), argMax(revoked, version) FROM `{TOKENS}` "
            "WHERE sha256 = {key:String} GROUP BY id",
            {"key": key},
        )
        for name, revoked in rows:
            if int(revoked):
                continue
            row = await self._row(str(name))
            if row is not None and row.can_log_in:
                return Principal(row.name, row.role)
        return None

    # -- internals -------------------------------------------------------------------------------------

    def _require_ready(self) -> None:
        if not self.ready():
            raise StorageUnavailable("accounts are kept in ClickHouse, which is not ready yet", retry_after=5)

    def _not_configured(self, name: str) -> None:
        if name in self._users or any(t.name == name for _, t in self._tokens):
            raise ReadOnlyAccount(f"{name!r} is in the configuration file; change it there", field="name")

    def _version(self, current: _Row | None) -> int:
        # Microseconds since the epoch, and always above the row it replaces, so the newest
        # change wins even when two fall in the same microsecond or the clock steps back.
        now = int(self.now().timestamp() * 1_000_000)
        return max(now, current.version + 1) if current else now

    async def _rows(self, name: str | None = None) -> builtins.list[_Row]:
        self._require_ready()
        where = "WHERE name = {name:String}" if name is not None else ""
        rows = await self.storage.aquery(LATEST_ACCOUNTS.format(where=where), {"name": name or ""})
        return [
            _Row(str(n), str(role), str(pw), bool(dis), bool(dele), _utc(created), int(version))
            for n, role, pw, dis, dele, created, version in rows
        ]

    async def _row(self, name: str) -> _Row | None:
        rows = await self._rows(name)
        return rows[0] if rows else None

    async def _live(self, name: str) -> _Row:
        row = await self._row(name)
        if row is None or not row.live:
            raise NoSuchAccount(f"no account named {name!r}", field="name")
        return row

    async def _keep_an_admin(self, changing: _Row) -> None:
        if changing.role != "admin" or not changing.can_log_in:
            return
        if any(u.role == "admin" for u in self._users.values()) or any(
            t.role == "admin" for _, t in self._tokens
        ):
            return
        others = [
            r for r in await self._rows() if r.role == "admin" and r.can_log_in and r.name != changing.name
        ]
        if not others:
            raise LastAdmin(
                f"{changing.name!r} is the last admin who can log in; create another admin first",
                field="name",
            )

    async def _live_tokens(self, name: str) -> builtins.list[tuple[str, str, datetime, int]]:
        self._require_ready()
        rows = await self.storage.aquery(
            "SELECT id, argMax(sha256, version), argMax(created_at, version), max(version) "
            f"FROM `{TOKENS}` WHERE name = {{name:String}} GROUP BY id "
            "HAVING argMax(revoked, version) = 0 ORDER BY 3, 1",
            {"name": name},
        )
        return [(str(i), str(sha), _utc(created), int(version)) for i, sha, created, version in rows]

    async def _insert(self, table: str, rows: Sequence[tuple[object, ...]], columns: Sequence[str]) -> None:
        if rows:
            self._require_ready()
            await run_in_threadpool(self.storage.insert_rows, table, rows, columns)


def _utc(moment: datetime) -> datetime:
    # The driver may hand back UTC times without their zone.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
