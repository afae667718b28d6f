"""Moves sealed journal segments into ClickHouse, exactly once.

Every ``interval`` seconds (sooner when the journal fills a batch) the shipper seals the
active segment and inserts each sealed segment's rows, table by table, in chunks.  Every
chunk carries a deduplication token made of the lane id, the segment number (never
reused in a lane), the table, the chunk's row range and a hash of the chunk's bytes: a
token names exactly one chunk's content, so ClickHouse can drop a chunk only as a true
replay of itself.  The chunk size is written beside the segment (``.plan``) before its
first insert and kept until the segment is deleted, so a replay after a crash cuts exactly
the same chunks and sends the same tokens.

An insert's answer does not say whether ClickHouse stored the block or dropped it as a
repeat, so after each segment the shipper reads back ClickHouse's shipment receipts
(``receipts``) and deletes the segment only when every chunk's rows are there.  While
ClickHouse is unreachable, or a segment is not confirmed, the shipper keeps everything
and retries with exponential backoff.

Readers that need what was just journalled to be queryable (a visitor's own receipts)
wait for the next shipment with ``stored``, rather than ship themselves: a request that
forced a shipment would seal a segment and insert into every table each time, and a
stream of such reads would undo the batching.  A segment ClickHouse rejects outright (not an
outage: a bad row) is copied aside to ``quarantine/`` rather than blocking the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from samtycke import durable
from samtycke.journal import quarantine, receipts, segment
from samtycke.journal.journal import Journal, Lane
from samtycke.storage.client import Storage, StorageError, StorageUnavailable

logger = logging.getLogger("samtycke.shipper")

# Unknown table or database: the schema is not there yet, which is an outage, not bad data.
_RETRY_CODES = {60, 81}
# How long the shipper steps off the GIL between slices of a segment: long enough for a
# waiting event loop to take it (a zero sleep often hands it straight back to the shipper).
GIL_PAUSE_SECONDS = 0.0001


def _yield_gil() -> None:
    time.sleep(GIL_PAUSE_SECONDS)


class Unconfirmed(Exception):
    """ClickHouse acknowledged a segment's inserts but does not hold all of its rows."""

    def __init__(self, segment: str, missing_chunks: int) -> None:
        super().__init__(
            f"segment {segment}: {missing_chunks} chunk(s) not confirmed by ClickHouse; kept in the journal"
        )
        self.segment = segment
        self.missing_chunks = missing_chunks


@dataclass(frozen=True)
class Chunk:
    table: str
    rows: int
    token: str


@dataclass
class ShipperState:
    consecutive_failures: int = 0
    last_error: str = ""
    quarantined_segments: int = 0
    unconfirmed_segments: set[str] = field(default_factory=set)


class Shipper:
    def __init__(
        self,
        journal: Journal,
        storage: Storage,
        *,
        interval: float = 0.5,
        batch_rows: int = 50_000,
        max_backoff: float = 30.0,
        on_shipped: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.journal = journal
        self.storage = storage
        self.interval = interval
        self.batch_rows = batch_rows
        self.max_backoff = max_backoff
        self.on_shipped = on_shipped
        self.state = ShipperState()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        # The journal's segments are stored up to this number (this lane's), and the event
        # that the shipment under way sets when it ends, stored or not.
        self.stored_through = 0
        self._sealed_through = 0
        self._shipment_ended = asyncio.Event()
        # A cancelled ship() leaves its worker thread running; the next one must wait for it.
        self._thread_lock = threading.Lock()

    # -- synchronous core (runs in a worker thread) ----------------------------------------------

    def ship_once(self) -> int:
        """Ship everything sealed now, this lane's and orphaned lanes'; returns rows shipped."""
        with self._thread_lock:
            return self._ship_once()

    def _ship_once(self) -> int:
        assert self.journal.lane is not None
        self._sealed_through = self.journal.seal()
        unconfirmed: list[Unconfirmed] = []
        shipped = self._ship_all(self.journal.lane, self.journal.sealed(), self.journal.discard, unconfirmed)
        for lane in self.journal.orphans():
            try:
                shipped += self._ship_all(lane, lane.segments(), _delete_segment, unconfirmed)
            finally:
                lane.release()
        if unconfirmed:
            raise unconfirmed[0]
        return shipped

    def _ship_all(
        self, lane: Lane, paths: list[Path], remove: Callable[[Path], None], unconfirmed: list[Unconfirmed]
    ) -> int:
        """Ship and remove each segment; an unconfirmed one is kept, and the ones after it still ship."""
        shipped = 0
        for path in paths:
            try:
                shipped += self._ship_segment(lane, path)
            except Unconfirmed as exc:
                unconfirmed.append(exc)
                continue
            remove(path)
        return shipped

    def _ship_segment(self, lane: Lane, path: Path) -> int:
        groups = segment.read_by_table(path, _yield_gil)
        plan = path.with_suffix(".plan")
        if plan.exists():
            chunk_rows = int(plan.read_text())
        else:
            chunk_rows = self.batch_rows
            durable.write(plan, str(chunk_rows).encode())
        chunks: list[Chunk] = []
        try:
            for table, rows in groups.items():
                for start in range(0, len(rows), chunk_rows):
                    part = rows[start : start + chunk_rows]
                    body = b"\n".join(part)
                    chunk = Chunk(table, len(part), token(lane, path, table, start, body))
                    began = time.perf_counter()
                    self.storage.insert_json_lines(table, body, chunk.token)
                    if self.on_shipped is not None:
                        self.on_shipped(table, chunk.rows, time.perf_counter() - began)
                    chunks.append(chunk)
        except StorageError as exc:
            if exc.code in _RETRY_CODES:
                raise StorageUnavailable(str(exc)) from exc
            self._quarantine(lane, path, exc)
            return sum(chunk.rows for chunk in chunks)
        self._confirm(lane, path, chunks)
        return sum(chunk.rows for chunk in chunks)

    def _confirm(self, lane: Lane, path: Path, chunks: list[Chunk]) -> None:
        """Raise ``Unconfirmed`` unless ClickHouse holds every chunk's rows."""
        stored = receipts.stored_rows(self.storage, [chunk.token for chunk in chunks])
        missing = [chunk for chunk in chunks if stored.get(chunk.token) != chunk.rows]
        name = f"{lane.path.name}/{path.name}"
        if missing:
            self.state.unconfirmed_segments.add(name)
            raise Unconfirmed(name, len(missing))
        self.state.unconfirmed_segments.discard(name)

    def _quarantine(self, lane: Lane, path: Path, exc: StorageError) -> None:
        # A copy, so that discard() below sees and deletes the original as usual.
        kept = quarantine.keep(lane.path.parent, f"{lane.id}-{path.name}", path.read_bytes())
        self.state.quarantined_segments += 1
        logger.error(
            "segment rejected by ClickHouse, kept in quarantine",
            extra={"segment": kept.name, "error_code": exc.code},
        )

    # -- asynchronous driver -----------------------------------------------------------------------

    def wake(self) -> None:
        """Ship now rather than at the next tick (thread-safe via the loop)."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        def wake_from_writer() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self.journal.on_wake = wake_from_writer
        delay = self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            delay = self.interval if await self.ship() else self._backoff()

    async def ship(self) -> bool:
        """One shipment; False when ClickHouse was unreachable (the data stays journalled)."""
        async with self._lock:
            try:
                await run_in_threadpool(self.ship_once)
            except StorageUnavailable as exc:
                self._failed(exc.message)
                if self._worth_logging():
                    logger.warning(
                        "shipping paused: ClickHouse unavailable",
                        extra={"failures": self.state.consecutive_failures},
                    )
                return False
            except Unconfirmed as exc:
                self._failed(str(exc))
                if self._worth_logging():
                    logger.error(
                        "shipping paused: ClickHouse does not hold rows it acknowledged",
                        extra={"segment": exc.segment, "chunks": exc.missing_chunks},
                    )
                return False
            else:
                self.state.consecutive_failures = 0
                self.state.last_error = ""
                self.stored_through = max(self.stored_through, self._sealed_through)
                return True
            finally:
                self._shipment_ended.set()
                self._shipment_ended = asyncio.Event()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No shipment runs while the block does: ClickHouse then takes no journalled rows,
        so a copy of its tables and of the journal made inside holds every record once."""
        async with self._lock:
            yield

    async def stored(self, through: int, timeout: float) -> bool:
        """Wait until scheduled shipments have stored this lane's segments up to ``through``
        (``Journal.written_through``); False when one fails or ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.stored_through < through:
            ended = self._shipment_ended
            try:
                await asyncio.wait_for(ended.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return False
            if self.state.consecutive_failures and self.stored_through < through:
                return False
        return True

    def _failed(self, reason: str) -> None:
        self.state.consecutive_failures += 1
        self.state.last_error = reason

    def _worth_logging(self) -> bool:
        failures = self.state.consecutive_failures
        return failures in (1, 10) or failures % 100 == 0

    def _backoff(self) -> float:
        return float(min(self.max_backoff, self.interval * 2 ** min(self.state.consecutive_failures, 10)))

    async def flush(self, timeout: float = 10.0) -> bool:
        """Ship what is left, at shutdown; what cannot be shipped stays for the next start."""
        try:
            return await asyncio.wait_for(self.ship(), timeout)
        except TimeoutError:
            return False


def token(lane: Lane, path: Path, table: str, start: int, body: bytes) -> str:
    """The deduplication token of one chunk: where it comes from, and what it holds."""
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    return f"{lane.id}:{path.stem}:{table}:{start}:{digest}"


def _delete_segment(path: Path) -> None:
    """Remove a shipped segment of an orphaned lane, with its plan."""
    path.unlink()
    path.with_suffix(".plan").unlink(missing_ok=True)
