"""kill -9 in the middle of a load: every acknowledged record reaches ClickHouse exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SETUP = """
import asyncio, sys
from pathlib import Path
from samtycke.journal import Journal, Shipper, receipts, record
from samtycke.storage import Layout, Migration, Storage, Table, parse_url
from samtycke.storage import migrations
storage = Storage(parse_url(sys.argv[1], sys.argv[2]))
migrations.apply(storage, Layout(storage.database),
                 [Migration("t.1", "items", (Table("crash_items", (("n", "UInt64"),), order_by="n"),)),
                  receipts.migration("t.2", ["crash_items"])])
journal = Journal(Path(sys.argv[3]))
journal.open()
"""

WRITER = (
    SETUP
    + """
shipper = Shipper(journal, storage, interval=0.02, batch_rows=100)

async def main():
    asyncio.create_task(shipper.run())
    n = 0
    while True:
        await journal.append([record("crash_items", {"n": n + k}) for k in range(20)])
        print(n + 19, flush=True)  # only now is the batch acknowledged
        n += 20

asyncio.run(main())
"""
)

RECOVER = (
    SETUP
    + """
Shipper(journal, storage, batch_rows=100).ship_once()
journal.close()
for n, c in storage.query("SELECT n, count() FROM crash_items GROUP BY n"):
    print(n, c)
"""
)


def test_kill_9_while_writing_and_shipping_loses_and_duplicates_nothing(
    tmp_path: Path, clickhouse_url: str
) -> None:
    if clickhouse_url.startswith("chdb://"):
        # Its own engine path: the session path belongs to this test process.
        url, database = f"chdb://{tmp_path / 'ch'}", "crash"
    else:
        url, database = clickhouse_url.rsplit("/", 1)
    args = [url, database, str(tmp_path / "journal")]
    writer = subprocess.Popen([sys.executable, "-c", WRITER, *args], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 60
    while acknowledged < 3000 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    writer.kill()
    writer.wait()
    for line in writer.stdout.read().split():
        acknowledged = max(acknowledged, int(line))
    assert acknowledged >= 3000, "the writer made progress before it was killed"

    recovered = subprocess.run(
        [sys.executable, "-c", RECOVER, *args], capture_output=True, text=True, check=True, timeout=120
    )
    counts = dict(map(int, line.split()) for line in recovered.stdout.splitlines())
    missing = [n for n in range(acknowledged + 1) if n not in counts]
    doubled = [n for n, c in counts.items() if c > 1]
    assert missing == [] and doubled == []
