"""The embedded engine's deduplication logs after a crash (``samtycke.storage.dedup_log``).

A crash between the engine's log record and its part's rename leaves a part folder named
``tmp_insert_<part>`` beside a log that names ``<part>``.  The engine tests reproduce that
state exactly: one real insert, a clean stop, then the part folder renamed back to the
name it had before its commit.  A fresh process then replays the same chunk under the same
token, with and without the repair.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samtycke.storage import dedup_log
from samtycke.storage.dedup_log import (
    BlockRange,
    StoredBlocks,
    UnreadableLog,
    part_range,
    repair,
    repair_table,
)

SETUP = """
import sys
from samtycke.journal import receipts
from samtycke.storage import Layout, MaterializedView, Migration, Storage, Table, parse_url, migrations
storage = Storage(parse_url("chdb://" + sys.argv[1], "torn"))
migrations.apply(storage, Layout("torn"), [
    Migration("t.1", "items", (
        Table("items", (("n", "UInt64"),), order_by="n"),
        Table("item_tens", (("ten", "UInt64"), ("rows", "UInt64")),
              engine="SummingMergeTree", order_by="ten"),
        MaterializedView("item_tens_mv", "item_tens", "items",
                         "SELECT intDiv(n, 10) AS ten, count() AS rows FROM {source} GROUP BY ten"),
    )),
    receipts.migration("t.2", ["items"]),
])
CHUNK = b"\\n".join(b'{"n": %d}' % n for n in range(40))
TOKEN = "lane:0000000000000001:items:0:digest"
"""

INSERT = SETUP + "storage.insert_json_lines('items', CHUNK, TOKEN)\nstorage.close()\n"

REPLAY = (
    SETUP
    + """
storage.insert_json_lines("items", CHUNK, TOKEN)
print(storage.query("SELECT count() FROM items")[0][0],
      storage.query("SELECT sum(rows) FROM item_tens")[0][0],
      storage.query("SELECT sum(rows) FROM journal_shipments WHERE token = {t:String}", {"t": TOKEN})[0][0])
"""
)

# The same replay through the driver alone: nothing of samtycke's runs before the engine opens.
REPLAY_UNREPAIRED = """
import sys, clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1], database="torn")
chunk = b"\\n".join(b'{"n": %d}' % n for n in range(40))
client.raw_insert("items", None, chunk, fmt="JSONEachRow", settings={
    "insert_deduplication_token": "lane:0000000000000001:items:0:digest",
    "deduplicate_blocks_in_dependent_materialized_views": 1})
print(client.query("SELECT count() FROM items").result_rows[0][0],
      client.query("SELECT sum(rows) FROM item_tens").result_rows[0][0],
      client.query("SELECT sum(rows) FROM journal_shipments").result_rows[0][0])
"""

TABLES = ("items", "item_tens", "journal_shipments")


def run(script: str, engine: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script, str(engine)], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def tear(engine: Path, table: str) -> None:
    """Leave ``table``'s only part as a crash between log record and rename leaves it."""
    folder = (engine / "data" / "torn" / table).resolve()
    (part,) = [entry for entry in folder.iterdir() if part_range(entry.name) is not None]
    part.rename(folder / f"tmp_insert_{part.name}")


@pytest.mark.parametrize("torn", TABLES)
def test_a_replay_after_a_torn_insert_is_stored_once_in_every_table(tmp_path: Path, torn: str) -> None:
    engine = tmp_path / "ch"
    run(INSERT, engine)
    tear(engine, torn)
    assert run(REPLAY, engine) == "40 40 40"


@pytest.mark.parametrize("torn", TABLES)
def test_without_the_repair_the_engine_drops_the_replay_of_a_torn_insert(tmp_path: Path, torn: str) -> None:
    # Why the repair exists: should a later engine keep its log true by itself, this fails.
    engine = tmp_path / "ch"
    run(INSERT, engine)
    tear(engine, torn)
    expected = {table: "0" if table == torn else "40" for table in TABLES}
    assert run(REPLAY_UNREPAIRED, engine) == " ".join(expected[table] for table in TABLES)


def test_a_replay_of_a_stored_insert_is_still_dropped(tmp_path: Path) -> None:
    engine = tmp_path / "ch"
    run(INSERT, engine)
    assert run(REPLAY, engine) == "40 40 40"


OPEN_AND_CLOSE_IN_THREADS = """
import sys, threading
from samtycke.storage import Storage, parse_url
failures = []

def use(storage):
    try:
        storage.query("SELECT 1")
    except Exception as exc:
        failures.append(type(exc).__name__)

for _ in range(20):
    storages = [Storage(parse_url("chdb://" + sys.argv[1], "threads")) for _ in range(8)]
    threads = [threading.Thread(target=use, args=(storage,)) for storage in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for storage in storages:
        storage.close()  # the last one closed stops the engine, so the next round opens it again
print(len(failures), sorted(set(failures)))
"""


def test_threads_opening_the_engine_at_once_never_take_the_repair_for_another_process(tmp_path: Path) -> None:
    assert run(OPEN_AND_CLOSE_IN_THREADS, tmp_path / "ch") == "0 []"


# -- the log, read and repaired as files --------------------------------------------------------


def table_with(tmp_path: Path, parts: list[str], *logs: str) -> Path:
    table = tmp_path / "store" / "abc" / "abc12345"
    (table / dedup_log.LOGS).mkdir(parents=True)
    for part in parts:
        (table / part).mkdir()
    for number, text in enumerate(logs, start=1):
        (table / dedup_log.LOGS / f"deduplication_log_{number}.txt").write_text(text)
    return table


def last_log(table: Path) -> str:
    return sorted((table / dedup_log.LOGS).iterdir())[-1].read_text()


def test_a_path_the_engine_never_made_is_left_alone(tmp_path: Path) -> None:
    assert repair(tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_part_names_give_the_blocks_they_hold() -> None:
    assert part_range("all_5_5_0") == BlockRange("all", 5, 5)
    assert part_range("202612_1_40_3_41") == BlockRange("202612", 1, 40)
    for not_a_part in ("tmp_insert_all_5_5_0", "detached", "deduplication_logs", "format_version.txt"):
        assert part_range(not_a_part) is None


@given(
    parts=st.lists(st.tuples(st.sampled_from(["all", "202612"]), st.integers(0, 60), st.integers(0, 8))),
    logged=st.tuples(st.sampled_from(["all", "202612", "202611"]), st.integers(0, 70)),
)
def test_a_block_is_held_exactly_when_one_part_on_disk_covers_it(
    parts: list[tuple[str, int, int]], logged: tuple[str, int]
) -> None:
    # The reference: any part of the same partition whose block numbers include the block's.
    ranges = [BlockRange(partition, first, first + width) for partition, first, width in parts]
    block = BlockRange(logged[0], logged[1], logged[1])
    covered = any(r.partition == block.partition and r.first <= block.first <= r.last for r in ranges)
    assert StoredBlocks(ranges).hold(block) == covered


def test_only_blocks_without_a_part_on_disk_are_forgotten(tmp_path: Path) -> None:
    table = table_with(
        tmp_path,
        ["all_1_3_1", "all_4_4_0_6", "tmp_insert_all_7_7_0"],
        "1\tall_1_1_0\tmerged\n1\tall_4_4_0\tmutated\n",
        "1\tall_5_5_0\tdropped_by_the_engine\n2\tall_5_5_0\tdropped_by_the_engine\n"
        "1\tall_7_7_0\ttorn\n1\t202612_7_7_0\tother_partition\n",
    )
    assert repair_table(table) == 2
    assert last_log(table).endswith("2\tall_7_7_0\ttorn\n2\t202612_7_7_0\tother_partition\n")
    assert repair_table(table) == 0, "a repaired log is left alone"


@pytest.mark.parametrize(
    "log",
    ["1\tall_7_7_0\ttorn", "3\tall_7_7_0\tunknown_operation\n", "1\tnot-a-part\tblock\n", "1\tall_7_7_0\n"],
)
def test_a_log_it_cannot_read_is_left_to_the_engine(tmp_path: Path, log: str) -> None:
    table = table_with(tmp_path, [], log)
    with pytest.raises(UnreadableLog):
        repair_table(table)
    assert last_log(table) == log
    assert repair(tmp_path) == []
    assert last_log(table) == log


def test_nothing_is_touched_while_an_engine_holds_the_path(tmp_path: Path) -> None:
    table = table_with(tmp_path, [], "1\tall_7_7_0\ttorn\n")
    status = tmp_path / "status"
    status.write_text("PID: 1\n")
    with open(status, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert repair(tmp_path) == []
    assert last_log(table) == "1\tall_7_7_0\ttorn\n"
    assert [(r.table, r.forgotten) for r in repair(tmp_path)] == [(table, 1)]
