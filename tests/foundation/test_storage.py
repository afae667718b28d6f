"""Storage: migrations on both backends, cluster DDL, and a clear word for a busy data dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from samtycke.storage import Layout, MaterializedView, Migration, Storage, Table
from samtycke.storage import client as client_module
from samtycke.storage import migrations as migrations_module

EVENTS = Table(
    name="events",
    columns=(("site_id", "UInt32"), ("timestamp", "DateTime64(3, 'UTC')"), ("page", "String")),
    partition_by="toYYYYMM(timestamp)",
    order_by="(site_id, timestamp)",
    ttl="toDateTime(timestamp) + INTERVAL 13 MONTH",
)
DAILY = Table(
    name="daily",
    columns=(("site_id", "UInt32"), ("day", "Date"), ("views", "AggregateFunction(count)")),
    engine="AggregatingMergeTree",
    order_by="(site_id, day)",
    journalled=False,
)
DAILY_MV = MaterializedView(
    "daily_mv",
    "daily",
    "events",
    "SELECT site_id, toDate(timestamp) AS day, countState() AS views FROM {source} GROUP BY site_id, day",
)
MIGRATIONS = [
    Migration("test.0001_events", "events", (EVENTS,)),
    Migration("test.0002_daily", "a rollup", (DAILY, DAILY_MV)),
]


def test_migrations_apply_once_and_are_recorded(storage: Storage) -> None:
    layout = Layout(storage.database)
    assert migrations_module.apply(storage, layout, MIGRATIONS) == ["test.0001_events", "test.0002_daily"]
    assert migrations_module.apply(storage, layout, MIGRATIONS) == []
    status = migrations_module.status(storage, layout, MIGRATIONS)
    assert [(s.id, s.applied, s.changed) for s in status] == [
        ("test.0001_events", True, False),
        ("test.0002_daily", True, False),
    ]
    storage.command("INSERT INTO events VALUES (1, now64(3), '/a'), (1, now64(3), '/b')")
    assert storage.query("SELECT countMerge(views) FROM daily") == [(2,)]


def test_an_edited_migration_is_reported_as_changed(storage: Storage) -> None:
    layout = Layout(storage.database)
    migrations_module.apply(storage, layout, MIGRATIONS[:1])
    edited = Migration("test.0001_events", "events", (Table("events", (("x", "UInt8"),), order_by="x"),))
    (status,) = migrations_module.status(storage, layout, [edited])
    assert status.applied and status.changed


def test_a_migration_interrupted_half_way_completes_on_the_next_run(storage: Storage) -> None:
    layout = Layout(storage.database)
    for statement in MIGRATIONS[1].statements(layout)[:1]:  # the table, not yet the view
        storage.command(statement)
    assert migrations_module.apply(storage, layout, MIGRATIONS) == ["test.0001_events", "test.0002_daily"]


def test_cluster_layout_renders_replicated_local_tables_behind_distributed_ones() -> None:
    layout = Layout("samtycke", cluster="analytics")
    statements = [s for m in MIGRATIONS for s in m.statements(layout)]
    local, distributed, rollup_local, rollup, view = statements
    assert local.startswith("CREATE TABLE IF NOT EXISTS `events_local` ON CLUSTER `analytics`")
    assert "ENGINE = ReplicatedMergeTree" in local and "replicated_deduplication_window" in local
    assert "TTL toDateTime(timestamp) + INTERVAL 13 MONTH" in local
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS `events` ON CLUSTER `analytics` AS `events_local` "
        "ENGINE = Distributed(`analytics`, `samtycke`, `events_local`, rand())"
    )
    assert "ENGINE = ReplicatedAggregatingMergeTree" in rollup_local
    assert "Distributed(`analytics`, `samtycke`, `daily_local`" in rollup
    assert "TO `daily_local`" in view and "FROM `events_local`" in view
    single = [s for m in MIGRATIONS for s in m.statements(Layout("samtycke"))]
    assert len(single) == 3 and all("ON CLUSTER" not in s for s in single)
    assert "non_replicated_deduplication_window" in single[0]


def test_a_second_process_on_the_embedded_data_dir_gets_a_clear_message(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'ch'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from samtycke.storage import Storage, parse_url;"
            f"s = Storage(parse_url({url!r}, 'x')); s.query('SELECT 1');"
            "print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        config = tmp_path / "c.toml"
        config.write_text(f'[storage]\nclickhouse_url = "{url}"\ndata_dir = "{tmp_path / "d"}"\n')
        result = subprocess.run(
            [sys.executable, "-m", "samtycke", "migrate", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert "Another samtycke process is using the data directory" in result.stderr
        assert "Traceback" not in result.stderr and "EmbeddedServer" not in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_native_export_in_pieces_reads_back_every_row_once(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small pieces, so the embedded engine's export spans several; equal rows and NULLs included.
    monkeypatch.setattr(client_module, "EXPORT_BUCKET_ROWS", 5)
    database = storage.database
    storage.command(
        f"CREATE TABLE {database}.source (a UInt64, n Nullable(String)) ENGINE = MergeTree ORDER BY a"
    )
    storage.command(
        f"INSERT INTO {database}.source SELECT number % 7, if(number % 3 = 0, NULL, 'v') FROM numbers(23)"
    )
    pieces: list[bytes] = []
    storage.export_native(f"SELECT * FROM {database}.source", pieces.append)
    storage.command(f"CREATE TABLE {database}.copy AS {database}.source")
    assert storage.insert_native(f"{database}.copy", iter(pieces)) == 23
    grouped = "SELECT a, n, count() FROM {database}.{table} GROUP BY a, n ORDER BY a, n"
    assert storage.query(grouped.format(database=database, table="copy")) == storage.query(
        grouped.format(database=database, table="source")
    )
