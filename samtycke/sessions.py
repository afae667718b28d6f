"""Login sessions that the server can end.

A signed cookie alone cannot be taken back: whoever holds it stays logged in until it
expires.  So the cookie carries only a random session id, and ClickHouse holds the
session: who, which role, until when, and whether it was ended.  Every instance in front
of the same ClickHouse sees the same sessions.  Logging out ends one session; an admin can
end every session of an account (``DELETE /api/v1/accounts/{name}/sessions``,
``samtycke sessions revoke NAME``).

The table is keyed by a sha256 of the id, so reading it does not let anyone log in.  An
ended session is a row with a higher revision (``ReplacingMergeTree``).  Rows are few (one
per login) and are kept: a TTL would delete them by ClickHouse's clock, while expiry is
judged by the service's.  Lookups are cached in-process for ``CACHE_SECONDS``: the
instance that ends a session forgets it at once, other instances within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool

from samtycke.storage import Migration, Storage, StorageUnavailable, Table

SESSIONS = "sessions"
SESSION_SECONDS = 12 * 3600
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
LIVE, ENDED = 0, 1

TIME = "DateTime64(3, 'UTC')"
MIGRATIONS = [
    Migration(
        id="samtycke.0001_sessions",
        description="Login sessions, so that logging out and revoking end them on the server.",
        steps=(
            Table(
                name=SESSIONS,
                columns=(
                    ("id_sha256", "String"),
                    ("name", "String"),
                    ("role", "LowCardinality(String)"),
                    ("created_at", TIME),
                    ("expires_at", TIME),
                    ("revision", "UInt8"),
                ),
                engine="ReplacingMergeTree(revision)",
                order_by="id_sha256",
                journalled=False,
                sharding_key="cityHash64(id_sha256)",
            ),
        ),
    )
]


@dataclass(frozen=True)
class Session:
    name: str
    role: str
    expires_at: datetime


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        storage: Storage,
        now: Callable[[], datetime],
        ready: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.now = now
        self.ready = ready
        self.clock = clock
        self._cache: dict[str, tuple[float, Session | None]] = {}

    def _require_ready(self) -> None:
        if not self.ready():
            raise StorageUnavailable("sessions are kept in ClickHouse, which is not ready yet", retry_after=5)

    async def start(self, name: str, role: str) -> str:
        """A new session; returns its id, for the cookie only."""
        self._require_ready()
        session_id = secrets.token_urlsafe(32)
        created = self.now()
        row = (_key(session_id), name, role, created, created + timedelta(seconds=SESSION_SECONDS), LIVE)
        await self._insert([row])
        return session_id

    async def find(self, session_id: str) -> Session | None:
        """The session, if it exists, is live and has not expired."""
        key = _key(session_id)
        cached = self._cache.get(key)
        if cached is None or cached[0] <= self.clock():
            cached = (self.clock() + CACHE_SECONDS, await self._load(key))
            if len(self._cache) >= CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key] = cached
        session = cached[1]
        return session if session is not None and session.expires_at > self.now() else None

    async def _load(self, key: str) -> Session | None:
        self._require_ready()
        rows = await self.storage.aquery(
            f"SELECT any(name), any(role), max(expires_at), max(revision) FROM `{SESSIONS}` "
            "WHERE id_sha256 = {key:String} HAVING count() > 0",
            {"key": key},
        )
        if not rows or int(rows[0][3]) != LIVE:
            return None
        name, role, expires_at, _ = rows[0]
        # The driver may hand back UTC times without their zone.
        expires_at = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)
        return Session(str(name), str(role), expires_at)

    async def end(self, session_id: str) -> None:
        """Log out: the session no longer authenticates, here at once and elsewhere soon."""
        key = _key(session_id)
        self._cache.pop(key, None)
        self._require_ready()
        await self.storage.acommand(
            f"INSERT INTO `{SESSIONS}` SELECT id_sha256, name, role, created_at, expires_at, {ENDED} "
            f"FROM `{SESSIONS}` WHERE id_sha256 = {{key:String}} LIMIT 1",
            {"key": key},
        )

    async def end_all(self, name: str) -> int:
        """End every live session of an account; returns how many were ended."""
        self._require_ready()
        live = (
            f"SELECT id_sha256, any(name), any(role), min(created_at), max(expires_at), {ENDED} "
            f"FROM `{SESSIONS}` WHERE name = {{name:String}} GROUP BY id_sha256 "
            f"HAVING max(revision) = {LIVE} AND max(expires_at) > {{now:DateTime64(3, 'UTC')}}"
        )
        parameters = {"name": name, "now": self.now()}
        keys = [str(row[0]) for row in await self.storage.aquery(live, parameters)]
        if keys:
            await self.storage.acommand(f"INSERT INTO `{SESSIONS}` {live}", parameters)
        for key in keys:
            self._cache.pop(key, None)
        return len(keys)

    async def _insert(self, rows: list[tuple[object, ...]]) -> None:
        if rows:
            columns = ("id_sha256", "name", "role", "created_at", "expires_at", "revision")
            await run_in_threadpool(self.storage.insert_rows, SESSIONS, rows, columns)
