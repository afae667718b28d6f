"""The consent log: the tree, its single writer, signed checkpoints and stored entries.

Start-up (``load``) first ships whatever the journal still holds, so every acknowledged
entry is in ClickHouse, then rebuilds the tree from the stored leaf hashes (one row per
index, thanks to ``ReplacingMergeTree`` and the shipper's deduplication tokens), checks
the indices are gapless and that the rebuilt tree matches the last signed checkpoint,
and only then starts accepting entries.

The last checkpoint is checked twice: as stored in ClickHouse, and as kept in the data
directory (``consent-log.checkpoint``).  The local copy catches storage that lost entries
together with their checkpoints, such as an older ClickHouse backup restored under a
newer data directory: a log that resumed from there would hand out indices that signed
receipts already carry.  Either disagreement leaves the log closed, loudly.

Reads of stored entries (a visitor's history, the audit export) need every entry the log
has acknowledged to be in ClickHouse.  They wait for the shipper's next scheduled
shipment when an entry may still be on its way, and never ship by themselves: anyone can
ask for a history, and a shipment per request would mean an insert per request.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consent import schema
from consent.ledger import note
from consent.ledger.entries import ch_time
from consent.ledger.keys import KeyRing
from consent.ledger.merkle import MerkleTree
from consent.ledger.sequencer import Appended, Entry, Extra, Sequencer
from samtycke import datadir, durable
from samtycke.journal import Record, record
from samtycke.services import Services
from samtycke.storage import StorageUnavailable
from samtycke.unavailable import Unavailable

logger = logging.getLogger("samtycke.consent")

PAGE_ROWS = 10_000
# How long a read waits for the next shipment before answering 503; shipments run every
# journal.ship_interval seconds, so this is many of them.
STORED_WAIT_SECONDS = 10.0


class LogNotReady(Unavailable):
    code = "consent_log_not_ready"


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    key_id: str
    created_at: datetime


def log_origin(services: Services) -> str:
    configured = services.settings.consent.log_origin
    if configured:
        return configured
    host = urlsplit(services.settings.server.public_url).hostname or "localhost"
    return f"samtycke/{host}/consent-log"


class ConsentLog:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.keys = KeyRing.load_or_create(services.data_dir)
        self.origin = log_origin(services)
        self.tree = MerkleTree()
        self.sequencer = Sequencer(self.tree, self.journal)
        self.written_through = 0  # the journal segment holding the log's newest record
        self.latest: SignedCheckpoint | None = None
        self.ready = False
        self.loaded = False
        self.problem = "the consent log is loading"
        self._writer_lock: Any = None
        self._task: asyncio.Task[None] | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def claim_writer(self) -> bool:
        """Only one process may append: take the data directory's log lock."""
        path = Path(self.services.data_dir) / "consent-log.lock"
        lock = datadir.create(path, os.O_RDWR | os.O_CREAT | os.O_APPEND)
        handle = open(lock, "a+b")  # noqa: SIM115 - held while the process runs
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._writer_lock = handle
        return True

    async def load(self) -> None:
        if self._writer_lock is None and not self.claim_writer():
            self.problem = "another process writes this consent log; run one writer (see README)"
            logger.error("consent log: another process holds the writer lock")
            return
        delay = 0.2
        while not await self.services.shipper.ship():
            self.problem = f"the journal cannot be shipped yet: {self.services.shipper.state.last_error}"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        storage = self.services.storage
        rows = await storage.aquery(f"SELECT idx, leaf_hash FROM `{schema.LOG}` FINAL ORDER BY idx")
        for position, (index, _) in enumerate(rows):
            if int(index) != position:
                self.problem = f"the stored consent log has a gap: index {position} is missing"
                logger.error("consent log: gap in stored indices", extra={"index": position})
                return
        self.tree = MerkleTree.from_leaf_hashes(bytes.fromhex(str(h)) for _, h in rows)
        self.sequencer.tree = self.tree
        last = await storage.aquery_dicts(
            f"SELECT tree_size, root_hash, note, key_id, created_at FROM `{schema.CHECKPOINTS}` FINAL "
            "ORDER BY tree_size DESC LIMIT 1"
        )
        if last:
            size, root = int(last[0]["tree_size"]), bytes.fromhex(str(last[0]["root_hash"]))
            if size > self.tree.size or self.tree.root(size) != root:
                self.problem = (
                    f"the stored consent log does not match its signed checkpoint at tree size {size}"
                )
                logger.error(
                    "consent log: stored entries disagree with the last checkpoint", extra={"size": size}
                )
                return
            self.latest = SignedCheckpoint(
                size, root, str(last[0]["note"]), str(last[0]["key_id"]), last[0]["created_at"]
            )
        kept = self._kept_checkpoint()
        if kept is not None and (kept[0] > self.tree.size or self.tree.root(kept[0]) != kept[1]):
            self.problem = (
                f"the stored consent log holds {self.tree.size} entries, but this data directory signed "
                f"a checkpoint at tree size {kept[0]} that it does not match: restore the missing entries, "
                "or point storage back at the ClickHouse that holds this log"
            )
            logger.error(
                "consent log: storage disagrees with the checkpoint kept in the data directory",
                extra={"size": kept[0], "stored": self.tree.size},
            )
            return
        self._task = asyncio.create_task(self.sequencer.run(), name="consent-sequencer")
        self.loaded = True
        logger.info("consent log loaded", extra={"tree_size": self.tree.size})

    def open(self) -> None:
        """Accept requests: the log is loaded and whatever must come first is in it."""
        self.ready = True
        self.problem = ""

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._writer_lock is not None:
            self._writer_lock.close()
            self._writer_lock = None
        self.ready = False

    def require_ready(self) -> None:
        if not self.ready:
            raise LogNotReady(self.problem or "the consent log is not ready", retry_after=2)

    # -- writing ---------------------------------------------------------------------------------

    async def journal(self, records: list[Record]) -> None:
        """Journal entries of the log (or their redactions), noting where they went for ``flush``."""
        await self.services.append(records)
        self.written_through = self.services.journal.written_through()

    async def append(self, entry: Entry, extra: Extra = ()) -> Appended:
        self.require_ready()
        return await self.sequencer.append(entry, extra)

    # -- checkpoints ------------------------------------------------------------------------------

    async def checkpoint(self) -> SignedCheckpoint:
        """The newest signed checkpoint, signing (and storing) one if the tree has grown."""
        self.require_ready()
        size = self.tree.size
        if (
            self.latest is not None
            and self.latest.size == size
            and self.latest.key_id == self.keys.active_kid
        ):
            return self.latest
        root = self.tree.root(size)
        key = self.keys.active
        text = note.sign(note.Checkpoint(self.origin, size, root), self.origin, key)
        signed = SignedCheckpoint(size, root, text, key.kid, self.services.now())
        # Not through ``journal``: reads never query stored checkpoints, so none waits for them.
        await self.services.append(
            [
                record(
                    schema.CHECKPOINTS,
                    {
                        "tree_size": size,
                        "root_hash": root.hex(),
                        "note": text,
                        "key_id": key.kid,
                        "created_at": ch_time(signed.created_at),
                    },
                )
            ]
        )
        if self.latest is None or self.latest.size <= size:
            self.latest = signed
            await asyncio.to_thread(self._keep_checkpoint, signed)
        return signed

    async def checkpoint_covering(self, size: int) -> SignedCheckpoint:
        """The newest signed checkpoint if it covers the first ``size`` entries, else a new one."""
        latest = self.latest
        if latest is not None and latest.size >= size and latest.key_id == self.keys.active_kid:
            return latest
        return await self.checkpoint()

    @property
    def _kept_path(self) -> Path:
        return Path(self.services.data_dir) / "consent-log.checkpoint"

    def _keep_checkpoint(self, signed: SignedCheckpoint) -> None:
        durable.write(self._kept_path, f"{signed.size} {signed.root.hex()}\n".encode())

    def _kept_checkpoint(self) -> tuple[int, bytes] | None:
        try:
            size, root = self._kept_path.read_text().split()
        except FileNotFoundError:
            return None
        return int(size), bytes.fromhex(root)

    async def checkpoint_loop(self) -> None:
        interval = max(self.services.settings.consent.checkpoint_interval, 0.1)
        while True:
            if self.ready:
                try:
                    await self.checkpoint()
                except Unavailable as exc:
                    logger.warning("checkpoint not stored", extra={"reason": exc.message})
            await asyncio.sleep(interval)

    # -- reading stored entries ---------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every record the log has journalled is visible in ClickHouse
        (read-your-writes), shipped on the shipper's own schedule."""
        if not await self.services.shipper.stored(self.written_through, STORED_WAIT_SECONDS):
            raise StorageUnavailable(
                "ClickHouse has not stored the newest log entries yet; they are safe in the journal",
                retry_after=2,
            )

    async def rows(self, start: int, end: int) -> list[dict[str, Any]]:
        return await self.services.storage.aquery_dicts(
            f"SELECT idx, kind, site_id, subject, receipt_id, event_time, entry, leaf_hash "
            f"FROM `{schema.LOG}` FINAL WHERE idx >= {{start:UInt64}} AND idx < {{end:UInt64}} ORDER BY idx",
            {"start": start, "end": end},
        )

    async def iter_rows(self, start: int, end: int) -> AsyncIterator[dict[str, Any]]:
        for page in range(start, end, PAGE_ROWS):
            for row in await self.rows(page, min(page + PAGE_ROWS, end)):
                yield row
