"""The single writer of the consent log: gapless indices and group commit.

Requests hand the sequencer a function that builds an entry for a given index.  One task
takes everything queued, gives each entry the next index, journals the whole batch with
one ``services.append`` (one fsync), and only then adds the leaves to the tree and
answers the callers.  While a batch is being made durable the next one queues up, so
throughput follows load.  If the journal refuses a batch, none of its indices was
acknowledged or written, the tree is unchanged, and the next batch takes the same
indices: the sequence stays gapless and an acknowledged index is never reused.

One sequencer per log: several processes appending would each need the whole tree, so
``consent.ledger.log`` takes an exclusive lock and only its holder writes (see the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consent import schema
from consent.ledger.entries import canonical_fast, ch_time
from consent.ledger.merkle import MerkleTree, leaf_hash
from samtycke.journal import Record, record

logger = logging.getLogger("samtycke.consent")


@dataclass(frozen=True)
class Entry:
    kind: str
    body: dict[str, Any]  # without "index"; the sequencer adds it
    event_time: datetime
    site_id: int = 0
    subject: str = ""
    receipt_id: str = ""


@dataclass(frozen=True)
class Appended:
    index: int
    leaf_hash: bytes
    entry: dict[str, Any]


# Records journalled with an entry, before it: given, or made from the index the entry gets
# (for records that point at it).
Extra = Sequence[Record] | Callable[[int], Sequence[Record]]


@dataclass
class _Request:
    entry: Entry
    extra: Extra
    future: asyncio.Future[Appended]


@dataclass
class Sequencer:
    tree: MerkleTree
    append_records: Callable[[list[Record]], Awaitable[None]]
    on_appended: Callable[[list[Appended]], None] = lambda appended: None
    _queue: list[_Request] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def append(self, entry: Entry, extra: Extra = ()) -> Appended:
        """Return once ``entry`` (and ``extra`` records before it) are durable and in the tree."""
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.append(_Request(entry, extra, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    batch, self._queue = self._queue, []
                    await self._commit(batch)
        finally:
            for request in self._queue:
                if not request.future.done():
                    request.future.cancel()

    async def _commit(self, batch: list[_Request]) -> None:
        start = self.tree.size
        records: list[Record] = []
        appended: list[Appended] = []
        for offset, request in enumerate(batch):
            index = start + offset
            body = {**request.entry.body, "index": index}
            data = canonical_fast(body)
            leaf = leaf_hash(data)
            extra = request.extra
            records.extend(extra(index) if callable(extra) else extra)
            records.append(record(schema.LOG, _row(index, request.entry, data, leaf)))
            appended.append(Appended(index, leaf, body))
        try:
            await self.append_records(records)
        except BaseException as exc:
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for item in appended:
            self.tree.append(item.leaf_hash)
        with contextlib.suppress(Exception):
            self.on_appended(appended)
        for request, item in zip(batch, appended, strict=True):
            if not request.future.done():
                request.future.set_result(item)


def _row(index: int, entry: Entry, data: bytes, leaf: bytes) -> dict[str, Any]:
    return {
        "idx": index,
        "kind": entry.kind,
        "site_id": entry.site_id,
        "subject": entry.subject,
        "receipt_id": entry.receipt_id,
        "event_time": ch_time(entry.event_time),
        "entry": data.decode("utf-8"),
        "leaf_hash": leaf.hex(),
        "revision": 0,
    }
