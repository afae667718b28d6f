"""Shipping the journal into ClickHouse exactly once, on chDB and over HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from samtycke.journal import Journal, Shipper, Unconfirmed, receipts, record, segment
from samtycke.journal.shipper import token
from samtycke.storage import Layout, MaterializedView, Migration, Storage, StorageUnavailable, Table
from samtycke.storage import migrations as migrations_module

ITEMS = Table(
    name="items",
    columns=(("n", "UInt64"), ("kind", "LowCardinality(String)")),
    order_by="n",
)
ITEM_COUNTS = Table(
    name="item_counts",
    columns=(("kind", "LowCardinality(String)"), ("rows", "AggregateFunction(count)")),
    engine="AggregatingMergeTree",
    order_by="kind",
)
SCHEMA = [
    Migration(
        "test.0001_items",
        "items and a rollup",
        (
            ITEMS,
            ITEM_COUNTS,
            MaterializedView(
                "item_counts_mv",
                "item_counts",
                "items",
                "SELECT kind, countState() AS rows FROM {source} GROUP BY kind",
            ),
        ),
    ),
    receipts.migration("test.0002_receipts", ["items"]),
]


def migrate(storage: Storage) -> None:
    migrations_module.apply(storage, Layout(storage.database), SCHEMA)


def counts(storage: Storage) -> tuple[int, int, int]:
    rows, distinct = storage.query("SELECT count(), uniqExact(n) FROM items")[0]
    (rolled,) = storage.query("SELECT countMerge(rows) FROM item_counts")[0]
    return int(rows), int(distinct), int(rolled)


def test_shipping_moves_every_row_once_and_deletes_the_segment(storage: Storage, tmp_path: Path) -> None:
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage, batch_rows=300)
    try:
        journal.append_sync([record("items", {"n": i, "kind": "a" if i % 2 else "b"}) for i in range(1000)])
        assert shipper.ship_once() == 1000
        assert counts(storage) == (1000, 1000, 1000)
        assert journal.backlog() == (0, 0)
        assert list(tmp_path.glob("lane-0/*.seg")) == [tmp_path / "lane-0" / "0000000000000002.seg"]
    finally:
        journal.close()


def test_replaying_a_segment_after_a_crash_adds_nothing(storage: Storage, tmp_path: Path) -> None:
    """A crash after ClickHouse acknowledged a chunk but before the segment was deleted."""
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    journal.append_sync([record("items", {"n": i, "kind": "k"}) for i in range(500)])
    journal.seal()
    (path,) = journal.sealed()
    assert journal.lane is not None
    shipper = Shipper(journal, storage, batch_rows=200)
    shipper._ship_segment(journal.lane, path)  # shipped, but the process dies before discard
    journal.close()

    restarted = Journal(tmp_path)
    restarted.open()
    # A new batch size must not change how the old segment is cut: it kept its plan.
    replay = Shipper(restarted, storage, batch_rows=77)
    try:
        assert replay.ship_once() == 500
        assert counts(storage) == (500, 500, 500)
    finally:
        restarted.close()


def test_restarts_after_everything_shipped_lose_nothing(storage: Storage, tmp_path: Path) -> None:
    """Each run ships and deletes all it wrote, so the next run finds no segment on disk.

    The same rows per run and the same lane each time: a segment number that restarted
    at 1 would repeat the previous run's deduplication tokens, and ClickHouse would drop
    the new rows as repeats.
    """
    migrate(storage)
    shipped_segments: list[str] = []
    for run in range(6):
        journal = Journal(tmp_path)
        journal.open()
        try:
            journal.append_sync([record("items", {"n": run * 3 + k, "kind": "k"}) for k in range(3)])
            journal.seal()
            shipped_segments += [path.stem for path in journal.sealed()]
            assert Shipper(journal, storage).ship_once() == 3
            assert list(tmp_path.glob("lane-0/*.seg")) == [journal._active_path()]
        finally:
            journal.close()
        assert list(tmp_path.glob("lane-0/*.seg")) == []
    assert counts(storage) == (18, 18, 18)
    assert len(set(shipped_segments)) == len(shipped_segments) == 6


def test_equal_rows_in_different_segments_are_both_kept(storage: Storage, tmp_path: Path) -> None:
    """Only a replay of the same chunk deduplicates; two real, equal events are two events."""
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage)
    try:
        for _ in range(2):
            journal.append_sync([record("items", {"n": 7, "kind": "same"})])
            assert shipper.ship_once() == 1
    finally:
        journal.close()
    assert counts(storage) == (2, 1, 2)


def test_a_chunk_clickhouse_does_not_hold_keeps_its_segment(storage: Storage, tmp_path: Path) -> None:
    """ClickHouse acknowledges an insert it drops as a repeat; the shipper must notice."""
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage)
    try:
        journal.append_sync([record("items", {"n": n, "kind": "k"}) for n in range(3)])
        journal.seal()
        (path,) = journal.sealed()
        assert journal.lane is not None
        body = b"\n".join(segment.read_by_table(path)["items"])
        # Other rows stored earlier under this chunk's token: its insert will be dropped.
        storage.insert_json_lines(
            "items", b'{"n": 100, "kind": "other"}', token(journal.lane, path, "items", 0, body)
        )
        with pytest.raises(Unconfirmed):
            shipper.ship_once()
        assert path.exists() and journal.backlog()[0] == 3
        assert asyncio.run(shipper.ship()) is False
        assert "not confirmed" in shipper.state.last_error
        assert shipper.state.unconfirmed_segments == {f"lane-0/{path.name}"}
        journal.append_sync([record("items", {"n": 50, "kind": "k"})])
        with pytest.raises(Unconfirmed):
            shipper.ship_once()  # a stuck segment does not hold back the ones after it
        assert counts(storage)[0] == 2 and journal.backlog()[0] == 3
    finally:
        journal.close()


def test_an_unknown_table_waits_for_migrations_instead_of_losing_rows(
    storage: Storage, tmp_path: Path
) -> None:
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage)
    try:
        journal.append_sync([record("items", {"n": 1, "kind": "k"})])
        with pytest.raises(StorageUnavailable):
            shipper.ship_once()
        assert journal.backlog()[0] == 1
        migrate(storage)
        assert shipper.ship_once() == 1
        assert counts(storage)[0] == 1
    finally:
        journal.close()


def test_a_row_clickhouse_rejects_is_quarantined_not_retried_forever(
    storage: Storage, tmp_path: Path
) -> None:
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage)
    try:
        journal.append_sync([record("items", {"n": "not a number", "kind": "k"})])
        shipper.ship_once()
        assert shipper.state.quarantined_segments == 1
        assert len(list((tmp_path / "quarantine").iterdir())) == 1
        journal.append_sync([record("items", {"n": 5, "kind": "k"})])
        assert shipper.ship_once() == 1
    finally:
        journal.close()


def test_clickhouse_outage_mid_load_loses_and_duplicates_nothing(
    clickhouse_http: Any, tmp_path: Path
) -> None:
    """Stop the HTTP ClickHouse in the middle of a load; once it is back, all rows arrive once."""
    from samtycke.storage import parse_url

    storage = Storage(parse_url(f"{clickhouse_http.url}/outage_{time.time_ns()}", "x"), connect_timeout=1.0)
    migrate(storage)
    journal = Journal(tmp_path)
    journal.open()
    shipper = Shipper(journal, storage, interval=0.05, batch_rows=250, max_backoff=0.5)
    acknowledged: list[int] = []
    stop_load = threading.Event()

    def load() -> None:
        n = 0
        while not stop_load.is_set():
            journal.append_sync([record("items", {"n": n + k, "kind": "load"}) for k in range(50)])
            acknowledged.extend(range(n, n + 50))
            n += 50
            time.sleep(0.002)

    async def run() -> None:
        ship_task = asyncio.create_task(shipper.run())
        writer = threading.Thread(target=load)
        writer.start()
        await asyncio.sleep(0.5)
        clickhouse_http.stop()
        await asyncio.sleep(1.0)
        failures_during_outage = shipper.state.consecutive_failures
        clickhouse_http.start()
        await asyncio.sleep(0.5)
        stop_load.set()
        writer.join()
        deadline = time.monotonic() + 30
        while journal.backlog()[0] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        ship_task.cancel()
        assert failures_during_outage > 0, "the outage was real: shipping failed during it"

    try:
        asyncio.run(run())
        assert journal.backlog()[0] == 0
        rows, distinct, rolled = counts(storage)
        assert (rows, distinct, rolled) == (len(acknowledged), len(acknowledged), len(acknowledged))
    finally:
        journal.close()
        storage.close()
