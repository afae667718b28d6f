"""Daily random salts for cookieless visitor ids, shared by every instance through ClickHouse.

A visitor without statistics consent is ``blake2b(site | ip | user agent, key=salt)``:
stable for a day, unlinkable across days once the salt is gone.  Each site's salt
rotates at midnight in the site's time zone.  Only the current and the previous salt are
kept; anything older than 48 hours is deleted (and a table TTL backs that up).

Instances agree without coordination: each one that finds no salt for the day inserts a
random candidate, then all of them use the earliest candidate written for that day.

Expiry is decided by the instance's clock, in the queries: a salt created more than 48 hours
ago is never used, even before it is deleted.  The table TTL, evaluated by ClickHouse's own
clock, is the back-up; it cannot take a salt that is still in use while the two clocks agree,
because a salt is created during its own site-local day (at most 25 hours long).  When the
clocks disagree by more than that, the TTL may drop the row an instance has just written;
the instance then says so once and keeps a salt of its own for the day, as it does while
storage is unreachable, and offers it again as the shared candidate at each rotation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool

from analytics.schema import SALTS
from samtycke.settings import Site
from samtycke.storage import Layout, Storage, StorageError, StorageUnavailable

logger = logging.getLogger("samtycke.analytics.salts")

KEEP = timedelta(hours=48)
COLUMNS = ("site_id", "day", "salt", "created_at")


@dataclass(frozen=True)
class Salt:
    site_id: int
    day: date
    key: bytes


class Salts:
    def __init__(
        self, storage: Storage, sites: list[Site], now: Callable[[], datetime], layout: Layout | None = None
    ) -> None:
        self.storage = storage
        self.layout = layout or Layout(storage.database)
        self.now = now
        self.zones = {site.id: ZoneInfo(site.timezone) for site in sites}
        self._current: dict[int, Salt] = {}
        self._kept_locally: dict[int, date] = {}  # the day each site last fell back to a local salt
        self._lock = asyncio.Lock()

    def local_day(self, site_id: int, at: datetime | None = None) -> date:
        return (at or self.now()).astimezone(self.zones[site_id]).date()

    def cached(self, site_id: int, at: datetime | None = None) -> Salt | None:
        """The salt for the site's current day if already known: the hot path's lookup."""
        salt = self._current.get(site_id)
        if salt is not None and salt.day == self.local_day(site_id, at):
            return salt
        return None

    async def current(self, site_id: int) -> Salt:
        salt = self.cached(site_id)
        if salt is not None:
            return salt
        async with self._lock:
            salt = self.cached(site_id)
            if salt is None:
                salt = await run_in_threadpool(self._load_or_create, site_id, self.local_day(site_id))
                self._current[site_id] = salt
            return salt

    def _load_or_create(self, site_id: int, day: date) -> Salt:
        held = self._current.get(site_id)
        if held is not None and held.day != day:
            held = None
        try:
            found = self._earliest(site_id, day)
            if found is None:
                # The salt already in use for the day, if any, is the candidate: ids stay put.
                candidate = held.key if held is not None else secrets.token_bytes(32)
                self.storage.insert_rows(SALTS, [(site_id, day, candidate.hex(), self.now())], COLUMNS)
                found = self._earliest(site_id, day)
                if found is None:
                    # Acknowledged but not there: the engine's clock runs far ahead of ours, so
                    # the TTL expired the row on arrival (or something else deleted it).
                    if self._kept_locally.get(site_id) != day:
                        self._kept_locally[site_id] = day
                        logger.warning(
                            "salt not kept by storage (clocks disagree?); using a local salt for the day",
                            extra={"site_id": site_id, "day": day.isoformat()},
                        )
                    return Salt(site_id, day, candidate)
        except (StorageUnavailable, StorageError) as exc:
            # Hits keep flowing while ClickHouse is away; this instance's ids for the day
            # may then differ from others' until the next refresh finds the shared salt.
            logger.warning("salt store unavailable; using a local salt", extra={"reason": str(exc)[:200]})
            return held if held is not None else Salt(site_id, day, secrets.token_bytes(32))
        return Salt(site_id, day, bytes.fromhex(found))

    def _earliest(self, site_id: int, day: date) -> str | None:
        """The day's shared salt: the earliest candidate that has not expired by this instance's clock."""
        rows = self.storage.query(
            f"SELECT argMin(salt, (created_at, salt)), count() FROM {SALTS} "
            "WHERE site_id = {site:UInt32} AND day = {day:Date} "
            "AND created_at >= {cutoff:DateTime64(3, 'UTC')}",
            {"site": site_id, "day": day, "cutoff": self.now() - KEEP},
        )
        if not rows or not rows[0][1]:
            return None
        return str(rows[0][0])

    def rotate(self) -> None:
        """Make sure today's salt exists, adopt the shared one, and delete expired salts."""
        for site_id in self.zones:
            today = self.local_day(site_id)
            self._current[site_id] = self._load_or_create(site_id, today)
            self.delete_expired(site_id, today)

    def delete_expired(self, site_id: int, today: date) -> None:
        stale = (
            "site_id = {site:UInt32} "
            "AND (day < {previous:Date} OR created_at < {cutoff:DateTime64(3, 'UTC')})"
        )
        parameters = {"site": site_id, "previous": today - timedelta(days=1), "cutoff": self.now() - KEEP}
        found = self.storage.query(f"SELECT count() FROM {SALTS} WHERE {stale}", parameters)
        if found and found[0][0]:  # a DELETE is a mutation: only when there is something to delete
            table = f"`{self.layout.local(SALTS)}`{self.layout.on_cluster}"
            self.storage.command(f"DELETE FROM {table} WHERE {stale}", parameters)

    async def run(self, every: float = 60.0) -> None:
        """Keep salts fresh: rotate soon after midnight and drop old ones."""
        while True:
            try:
                async with self._lock:
                    await _finish_even_if_cancelled(run_in_threadpool(self.rotate))
            except (StorageUnavailable, StorageError) as exc:
                logger.warning("salt rotation failed; retrying", extra={"reason": str(exc)[:200]})
            await asyncio.sleep(every)


async def _finish_even_if_cancelled(work: Awaitable[None]) -> None:
    """Await work done in a thread; on cancellation, let the thread finish before giving up.

    A worker thread cannot be interrupted, and one still querying after shutdown would
    hold the embedded engine open behind the next start's back.
    """
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def visitor_hash(salt: Salt, site_id: int, ip: str, user_agent: str) -> int:
    """The cookieless visitor id: keyed, so without the (deleted) salt it cannot be recomputed."""
    digest = hashlib.blake2b(
        f"{site_id}\x1f{ip}\x1f{user_agent}".encode("utf-8", "surrogatepass"), key=salt.key, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def identified_hash(site_id: int, visitor: str) -> int:
    """The id of a visitor who consented: derived from the tracker's id, the same every day."""
    digest = hashlib.blake2b(f"{site_id}\x1f{visitor}".encode(), person=b"samtycke-visitor", digest_size=8)
    return int.from_bytes(digest.digest(), "big")
