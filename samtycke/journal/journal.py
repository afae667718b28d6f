"""An append-only, fsynced journal in front of ClickHouse.

Writers hand records to ``append``; it returns only after the records are on disk.  One
writer thread does the I/O: every record that arrives while it is fsyncing joins the
next write, so one fsync acknowledges a whole group (group commit) and throughput grows
with load instead of being capped by the disk's fsync latency.

Each process claims a *lane*, ``<root>/lane-<n>``, by taking an exclusive ``flock`` on its
``LOCK`` file; several workers sharing one data directory get a lane each.  A lane holds
numbered segment files.  The newest is active; the shipper ``seal``s it, ships sealed
segments and ``discard``s them once ClickHouse has stored every row.  A lane whose
process died is claimed by the next process that starts, and shipped.

A segment's number names its content for good: the shipper's deduplication tokens carry
it, and ClickHouse drops a block whose token it has seen.  So numbers never repeat in a
lane, even after every segment was shipped and deleted: the lane's ``SEQ`` file holds a
lease, the highest number this lane may have used, renewed ``SEQ_LEASE`` numbers at a
time so that rolling a segment over rarely costs an extra fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from samtycke import datadir, durable
from samtycke.journal import segment
from samtycke.journal.segment import Record
from samtycke.unavailable import Unavailable

SUFFIX = ".seg"
SEQ_LEASE = 1024


class JournalFull(Unavailable):
    code = "journal_full"


class JournalClosed(Unavailable):
    code = "journal_closed"


def record(table: str, row: Mapping[str, Any]) -> Record:
    """A row as one JSON object, the form ClickHouse's JSONEachRow reads back."""
    try:
        data = orjson.dumps(row, default=str)
    except orjson.JSONEncodeError:
        # orjson refuses what JSON can still carry as escapes (lone surrogates, huge integers).
        data = json.dumps(row, separators=(",", ":"), default=str).encode()
    return Record(table, data)


@dataclass
class _Waiter:
    data: bytes
    count: int
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[None] | None = None
    event: threading.Event | None = None  # sync callers only: an Event is costly to make
    error: BaseException | None = None


def _finish(batch: Sequence[_Waiter], error: BaseException | None) -> None:
    """Wake every waiter of a group commit, with one hop per event loop, not one per waiter."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for waiter in batch:
        waiter.error = error
        if waiter.loop is not None and waiter.future is not None:
            by_loop.setdefault(waiter.loop, []).append(waiter.future)
        if waiter.event is not None:
            waiter.event.set()
    for loop, futures in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(_resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class Lane:
    """A claimed lane directory: its lock, identity and segments."""

    def __init__(self, path: Path, lock_handle: Any) -> None:
        self.path = path
        self._lock_handle = lock_handle
        id_file = path / "ID"
        if not id_file.exists():
            durable.write(id_file, uuid.uuid4().hex.encode())
        # The lane id makes deduplication tokens unique across lanes and hosts.
        self.id = id_file.read_text().strip()

    @classmethod
    def try_claim(cls, path: Path) -> Lane | None:
        datadir.folder(path)
        lock = datadir.create(path / "LOCK", os.O_RDWR | os.O_CREAT | os.O_APPEND)
        handle = open(lock, "a+b")  # noqa: SIM115 - held for the lane's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return cls(path, handle)

    def segments(self) -> list[Path]:
        return sorted(self.path.glob(f"*{SUFFIX}"))

    def leased(self) -> int:
        """The highest segment number this lane may have used (0 for a new lane)."""
        try:
            return int((self.path / "SEQ").read_text())
        except FileNotFoundError:
            return 0

    def lease(self, upto: int) -> None:
        durable.write(self.path / "SEQ", str(upto).encode())

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
        self._lock_handle.close()


class Journal:
    def __init__(
        self,
        root: Path,
        *,
        segment_bytes: int = 16 * 1024 * 1024,
        max_bytes: int = 2 * 1024**3,
        fsync: bool = True,
        wake_after_records: int = 50_000,
    ) -> None:
        self.root = root
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.wake_after_records = wake_after_records
        self.on_wake: Callable[[], None] | None = None
        self.on_commit: Callable[[int, float], None] | None = None  # records, seconds
        self.lane: Lane | None = None
        self.repaired_bytes = 0
        self.commits = 0  # group commits so far: each is one write and one fsync
        self._cond = threading.Condition()
        self._pending: list[_Waiter] = []
        self._staging = threading.Lock()
        self._staged: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
        self._io = threading.Lock()  # file, sequence numbers, counters
        self._fd = -1
        self._seq = 0
        self._leased = 0
        self._active_records = 0
        self._active_bytes = 0
        self._sealed_bytes = 0
        self._sealed_records: dict[Path, int] = {}
        self._closing = False
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def open(self) -> None:
        datadir.folder(self.root)
        for n in range(1024):
            lane = Lane.try_claim(self.root / f"lane-{n}")
            if lane is not None:
                self.lane = lane
                break
        else:
            raise JournalFull("no free journal lane: more than 1024 processes share this data directory")
        for path in lane.segments():
            self.repaired_bytes += segment.repair(path)
            if path.stat().st_size == 0:
                path.unlink()
                continue
            self._sealed_records[path] = segment.count(path)
            self._sealed_bytes += path.stat().st_size
        existing = [int(p.stem) for p in lane.segments()]
        # Past anything a previous run may have numbered, shipped and deleted.
        self._seq = self._leased = max(max(existing, default=0), lane.leased())
        self._open_active()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        with self._io:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
                active = self._active_path()
                if active.exists() and active.stat().st_size == 0:
                    active.unlink()
        if self.lane is not None:
            self.lane.release()

    # -- writing ---------------------------------------------------------------------------------

    async def append(self, records: Sequence[Record]) -> None:
        """Return once ``records`` are durable; raise ``JournalFull`` if they cannot be."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(segment.encode(records), len(records), loop, loop.create_future())
        # Appends made in one event-loop turn reach the writer together: one hand-over and
        # one wake-up of the writer thread per turn, not per record.
        with self._staging:
            staged = self._staged.get(loop)
            if staged is None:
                self._staged[loop] = [waiter]
                loop.call_soon(self._submit_staged, loop)
            else:
                staged.append(waiter)
        assert waiter.future is not None
        # Cancelling this await cancels only this caller's future; the shared write goes on.
        await waiter.future

    def append_sync(self, records: Sequence[Record]) -> None:
        waiter = _Waiter(segment.encode(records), len(records), event=threading.Event())
        self._submit(waiter)
        assert waiter.event is not None
        waiter.event.wait()
        if waiter.error is not None:
            raise waiter.error

    def _submit_staged(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._staging:
            batch = self._staged.pop(loop, [])
        try:
            self._submit(*batch)
        except JournalClosed as exc:
            _resolve([w.future for w in batch if w.future is not None], exc)

    def _submit(self, *waiters: _Waiter) -> None:
        with self._cond:
            if self._closing or self._thread is None:
                raise JournalClosed("the journal is closed; the service is shutting down")
            self._pending.extend(waiters)
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            error: BaseException | None = None
            count = sum(w.count for w in batch)
            began = time.perf_counter()
            try:
                self._write(b"".join(w.data for w in batch), count)
            except JournalFull as exc:
                error = exc
            except OSError as exc:
                full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
                error = JournalFull(
                    "the journal's disk is full; nothing was recorded"
                    if full
                    else f"the journal could not write ({exc.strerror}); nothing was recorded"
                )
            seconds = time.perf_counter() - began
            _finish(batch, error)
            if error is None and self.on_commit is not None:
                self.on_commit(count, seconds)

    def _write(self, data: bytes, count: int) -> None:
        wake = False
        with self._io:
            if self._sealed_bytes + self._active_bytes + len(data) > self.max_bytes:
                raise JournalFull(
                    "the journal backlog is at its limit (journal.max_bytes) while ClickHouse "
                    "catches up; nothing was recorded"
                )
            start = self._active_bytes
            try:
                written = 0
                view = memoryview(data)
                while written < len(data):
                    written += os.write(self._fd, view[written:])
                if self.fsync:
                    os.fdatasync(self._fd)
            except OSError:
                # Leave no partial record behind for later records to follow.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                    os.lseek(self._fd, start, os.SEEK_SET)
                raise
            self._active_bytes += len(data)
            self._active_records += count
            self.commits += 1
            if self._active_bytes >= self.segment_bytes:
                self._seal_locked()
                wake = True
            elif self._active_records >= self.wake_after_records:
                wake = True
        if wake and self.on_wake is not None:
            self.on_wake()

    # -- shipping side ---------------------------------------------------------------------------

    def seal(self) -> int:
        """Close the active segment, if it holds anything, so it can be shipped; the number
        of the last sealed segment, which now holds or follows every record written."""
        with self._io:
            if self._active_records:
                self._seal_locked()
            return self._seq - 1

    def written_through(self) -> int:
        """The number of the segment holding the newest record written (and acknowledged)."""
        with self._io:
            return self._seq if self._active_records else self._seq - 1

    def sealed(self) -> list[Path]:
        with self._io:
            return sorted(self._sealed_records)

    def discard(self, path: Path) -> None:
        """Delete a sealed segment whose every row ClickHouse has acknowledged."""
        with self._io:
            size = path.stat().st_size
            path.unlink()
            path.with_suffix(".plan").unlink(missing_ok=True)
            durable.fsync_dir(path.parent)
            self._sealed_records.pop(path, None)
            self._sealed_bytes -= size

    def backlog(self) -> tuple[int, int]:
        """Records and bytes not yet shipped."""
        with self._io:
            return (
                sum(self._sealed_records.values()) + self._active_records,
                self._sealed_bytes + self._active_bytes,
            )

    def orphans(self) -> Iterator[Lane]:
        """Lanes left by processes that are gone; the caller ships them and releases them."""
        for path in sorted(self.root.glob("lane-*")):
            if self.lane is not None and path == self.lane.path:
                continue
            lane = Lane.try_claim(path)
            if lane is not None:
                for segment_path in lane.segments():
                    segment.repair(segment_path)
                yield lane

    # -- internals -------------------------------------------------------------------------------

    def _active_path(self) -> Path:
        assert self.lane is not None
        return self.lane.path / f"{self._seq:016d}{SUFFIX}"

    def _open_active(self) -> None:
        assert self.lane is not None
        self._seq += 1
        if self._seq > self._leased:
            self._leased = self._seq + SEQ_LEASE - 1
            self.lane.lease(self._leased)
        self._fd = datadir.create(self._active_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        durable.fsync_dir(self._active_path().parent)
        self._active_bytes = 0
        self._active_records = 0

    def _seal_locked(self) -> None:
        path = self._active_path()
        os.close(self._fd)
        self._sealed_records[path] = self._active_records
        self._sealed_bytes += self._active_bytes
        self._open_active()
