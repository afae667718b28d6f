"""Moves sealed journal segments into ClickHouse, exactly once.

Every ``interval`` seconds (sooner when the journal fills a batch) the shipper seals the
active segment and inserts each sealed segment's rows, table by table, in chunks.  Every
chunk carries a deduplication token made of the lane id, the segment, the table and the
chunk's row range.  The chunk size is written beside the segment (``.plan``) before its
first insert and kept until the segment is deleted, so a replay after a crash cuts exactly
the same chunks, sends the same tokens, and ClickHouse drops what it already has.  A
segment is deleted only after every chunk was acknowledged; while ClickHouse is
unreachable the shipper keeps everything and retries with exponential backoff.  A segment
ClickHouse rejects outright (not an outage: a bad row) is copied aside to
``quarantine/`` rather than blocking the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from samtycke.journal import segment
from samtycke.journal.journal import Journal, Lane, _write_durably
from samtycke.storage.client import StorageError, StorageUnavailable

log = logging.getLogger("samtycke.shipper")

Sink = Callable[[str, bytes, str], None]
"""Insert JSON lines into a table with a deduplication token; raises the storage errors."""

# Unknown table or database: the schema is not there yet, which is an outage, not bad data.
_RETRY_CODES = {60, 81}
# How long the shipper steps off the GIL between slices of a segment: long enough for a
# waiting event loop to take it (a zero sleep often hands it straight back to the shipper).
GIL_PAUSE_SECONDS = 0.0001


def _yield_gil() -> None:
    time.sleep(GIL_PAUSE_SECONDS)


@dataclass
class ShipperState:
    shipped_rows: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_success: float = 0.0
    quarantined_segments: int = 0


class Shipper:
    def __init__(
        self,
        journal: Journal,
        sink: Sink,
        *,
        interval: float = 0.5,
        batch_rows: int = 50_000,
        max_backoff: float = 30.0,
        on_shipped: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.journal = journal
        self.sink = sink
        self.interval = interval
        self.batch_rows = batch_rows
        self.max_backoff = max_backoff
        self.on_shipped = on_shipped
        self.state = ShipperState()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        # A cancelled ship() leaves its worker thread running; the next one must wait for it.
        self._thread_lock = threading.Lock()

    # -- synchronous core (runs in a worker thread) ----------------------------------------------

    def ship_once(self) -> int:
        """Ship everything sealed now, this lane's and orphaned lanes'; returns rows shipped."""
        with self._thread_lock:
            return self._ship_once()

    def _ship_once(self) -> int:
        assert self.journal.lane is not None
        self.journal.seal()
        shipped = 0
        for path in self.journal.sealed():
            shipped += self._ship_segment(self.journal.lane, path)
            self.journal.discard(path)
        for lane in self.journal.orphans():
            try:
                for path in lane.segments():
                    shipped += self._ship_segment(lane, path)
                    path.unlink()
                    path.with_suffix(".plan").unlink(missing_ok=True)
            finally:
                lane.release()
        return shipped

    def _ship_segment(self, lane: Lane, path: Path) -> int:
        groups = segment.read_by_table(path, _yield_gil)
        plan = path.with_suffix(".plan")
        if plan.exists():
            chunk_rows = int(plan.read_text())
        else:
            chunk_rows = self.batch_rows
            _write_durably(plan, str(chunk_rows).encode())
        rows_shipped = 0
        try:
            for table, rows in groups.items():
                for start in range(0, len(rows), chunk_rows):
                    chunk = rows[start : start + chunk_rows]
                    # The row range is part of the token: a token names exactly one chunk's
                    # content, so ClickHouse can never drop a different chunk as a repeat.
                    token = f"{lane.id}:{path.stem}:{table}:{start}+{len(chunk)}"
                    began = time.perf_counter()
                    self.sink(table, b"\n".join(chunk), token)
                    if self.on_shipped is not None:
                        self.on_shipped(table, len(chunk), time.perf_counter() - began)
                    rows_shipped += len(chunk)
        except StorageError as exc:
            if exc.code in _RETRY_CODES:
                raise StorageUnavailable(str(exc)) from exc
            self._quarantine(lane, path, exc)
        return rows_shipped

    def _quarantine(self, lane: Lane, path: Path, exc: StorageError) -> None:
        target = lane.path.parent / "quarantine"
        target.mkdir(exist_ok=True)
        kept = target / f"{lane.id}-{path.name}"
        # A copy, so that discard() below sees and deletes the original as usual.
        kept.write_bytes(path.read_bytes())
        self.state.quarantined_segments += 1
        log.error(
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
                shipped = await run_in_threadpool(self.ship_once)
            except StorageUnavailable as exc:
                self.state.consecutive_failures += 1
                self.state.last_error = exc.message
                if self.state.consecutive_failures in (1, 10) or self.state.consecutive_failures % 100 == 0:
                    log.warning(
                        "shipping paused: ClickHouse unavailable",
                        extra={"failures": self.state.consecutive_failures},
                    )
                return False
            self.state.shipped_rows += shipped
            self.state.consecutive_failures = 0
            self.state.last_error = ""
            self.state.last_success = time.time()
            return True

    def _backoff(self) -> float:
        return float(min(self.max_backoff, self.interval * 2 ** min(self.state.consecutive_failures, 10)))

    async def flush(self, timeout: float = 10.0) -> bool:
        """Ship what is left, at shutdown; what cannot be shipped stays for the next start."""
        try:
            return await asyncio.wait_for(self.ship(), timeout)
        except TimeoutError:
            return False
