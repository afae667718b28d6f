"""Journal benchmarks: durable appends per second, and shipping throughput into chDB.

    python bench/journal_bench.py [--seconds 5] [--producers 256] [--rows 500000]

Each figure comes with a baseline measured in the same run on the same disk:
- appends: group commit against one fsync per record (what a naive journal does);
- shipping: the shipper (read segments, chunk, dedup tokens) against one bare JSONEachRow
  insert of the same rows into the same table.
Results go to bench/journal.json; bench/RESULTS.md quotes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from samtycke.journal import Journal, Shipper, receipts, record
from samtycke.storage import Layout, Migration, Storage, Table, migrations, parse_url

HERE = Path(__file__).resolve().parent

EVENT = {
    "site_id": 1,
    "timestamp": "2026-11-21 10:15:30.123",
    "visitor_id": 1234567890123,
    "visit_id": 987654321,
    "name": "pageview",
    "page": "/mina-sidor/fakturor",
    "referrer_source": "Google",
    "channel": "Organic Search",
    "country": "SE",
    "browser": "Firefox",
    "os": "Linux",
    "device": "Desktop",
}

EVENTS = Table(
    name="bench_events",
    columns=(
        ("site_id", "UInt32"),
        ("timestamp", "DateTime64(3, 'UTC')"),
        ("visitor_id", "UInt64"),
        ("visit_id", "UInt64"),
        ("name", "LowCardinality(String)"),
        ("page", "String"),
        ("referrer_source", "LowCardinality(String)"),
        ("channel", "LowCardinality(String)"),
        ("country", "LowCardinality(String)"),
        ("browser", "LowCardinality(String)"),
        ("os", "LowCardinality(String)"),
        ("device", "LowCardinality(String)"),
    ),
    order_by="(site_id, timestamp)",
)


def naive_fsync_appends(directory: Path, seconds: float) -> float:
    """One write and one fsync per record: the baseline group commit is measured against."""
    line = json.dumps(EVENT).encode() + b"\n"
    fd = os.open(directory / "naive.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    count = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        os.write(fd, line)
        os.fdatasync(fd)
        count += 1
    elapsed = time.perf_counter() - started
    os.close(fd)
    return count / elapsed


def group_commit_appends(directory: Path, seconds: float, producers: int) -> tuple[float, float]:
    """Concurrent producers, each awaiting durability of one record at a time."""
    journal = Journal(directory)
    journal.open()
    count = 0

    async def producer(deadline: float) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await journal.append([record("bench_events", EVENT)])
            count += 1

    async def run() -> float:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(producer(deadline) for _ in range(producers)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    commits = journal.commits
    journal.close()
    return count / elapsed, count / max(commits, 1)


def shipping(directory: Path, rows: int) -> tuple[float, float]:
    storage = Storage(parse_url(f"chdb://{directory / 'ch'}", "bench"))
    layout = Layout("bench")
    migrations.apply(
        storage,
        layout,
        [Migration("bench.0001", "events", (EVENTS,)), receipts.migration("bench.0002", [EVENTS.name])],
    )

    body = b"\n".join(json.dumps(EVENT).encode() for _ in range(rows))
    started = time.perf_counter()
    storage.insert_json_lines("bench_events", body, dedup_token="baseline")
    bare = rows / (time.perf_counter() - started)

    journal = Journal(directory / "journal", segment_bytes=64 * 1024 * 1024)
    journal.open()
    batch = [record("bench_events", EVENT) for _ in range(10_000)]
    for _ in range(rows // len(batch)):
        journal.append_sync(batch)
    shipper = Shipper(journal, storage, batch_rows=50_000)
    started = time.perf_counter()
    shipped = shipper.ship_once()
    through_journal = shipped / (time.perf_counter() - started)
    journal.close()
    (total,) = storage.query("SELECT count() FROM bench_events")[0]
    assert total == rows + shipped, "every row arrives exactly once"
    storage.close()
    return through_journal, bare


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--producers", type=int, default=256)
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:
        base = Path(tmp)
        naive = naive_fsync_appends(base, args.seconds)
        grouped, per_commit = group_commit_appends(base / "journal", args.seconds, args.producers)
        shipped, bare = shipping(base / "ship", args.rows)
    results = {
        "cpus": os.cpu_count(),
        "durable_appends_per_s": round(grouped),
        "records_per_fsync": round(per_commit, 1),
        "baseline_one_fsync_per_record_per_s": round(naive),
        "appends_ratio_vs_baseline": round(grouped / naive, 1),
        "ship_rows_per_s": round(shipped),
        "baseline_bare_insert_rows_per_s": round(bare),
        "ship_ratio_vs_bare_insert": round(shipped / bare, 2),
        "goals": {"durable_appends_per_s": 20_000, "ship_rows_per_s": 150_000},
    }
    (HERE / "journal.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
