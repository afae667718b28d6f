"""The chDB-backed ClickHouse HTTP fixture works with the real clickhouse-connect HTTP client.

Other tests rely on tests/clickhouse_server.py to exercise samtycke's "HTTP ClickHouse" path;
these tests pin down the parts of the protocol that path depends on.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.binding import bind_query, use_form_encoding
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary

from tests.clickhouse_server import ClickHouseHTTPProcess

DEDUP_WINDOW = "SETTINGS non_replicated_deduplication_window = 1000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseHTTPProcess]:
    with ClickHouseHTTPProcess(tmp_path_factory.mktemp("clickhouse-http")) as process:
        yield process


@pytest.fixture
def client(server: ClickHouseHTTPProcess) -> Iterator[Client]:
    client = clickhouse_connect.get_client(dsn=server.url)
    yield client
    client.close()


@pytest.fixture
def db(client: Client) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    client.command(f"CREATE DATABASE {name}")
    yield name
    client.command(f"DROP DATABASE {name}")


def test_handshake(server: ClickHouseHTTPProcess, client: Client) -> None:
    assert client.server_version is not None
    assert client.server_version.split(".")[0].isdigit()
    # The fixture refuses client_protocol_version, so the client must have fallen back to 0.
    assert client.protocol_version == 0
    assert client.ping()
    with urllib.request.urlopen(f"http://{server.host}:{server.port}/ping", timeout=5) as response:
        assert response.read() == b"Ok.\n"
    assert client.command("SELECT version(), timezone()") == [client.server_version, "Etc/UTC"]
    assert client.command("SELECT 1") == 1


def test_ddl_mergetree_aggregating_and_materialized_view(client: Client, db: str) -> None:
    created = client.command(
        f"CREATE TABLE {db}.events (site_id UInt64, user_id UInt64, ts DateTime) "
        f"ENGINE = MergeTree ORDER BY (site_id, ts) {DEDUP_WINDOW}"
    )
    # A statement without a result set must come back as a summary, not as an empty result.
    assert isinstance(created, QuerySummary)
    client.command(
        f"CREATE TABLE {db}.daily (site_id UInt64, day Date, visitors AggregateFunction(uniq, UInt64)) "
        f"ENGINE = AggregatingMergeTree ORDER BY (site_id, day) {DEDUP_WINDOW}"
    )
    client.command(
        f"CREATE MATERIALIZED VIEW {db}.daily_mv TO {db}.daily AS SELECT site_id, toDate(ts) AS day, "
        f"uniqState(user_id) AS visitors FROM {db}.events GROUP BY site_id, day"
    )
    client.command(
        f"INSERT INTO {db}.events VALUES (1, 10, '2024-05-01 10:00:00'), (1, 11, '2024-05-01 11:00:00'), "
        "(1, 10, '2024-05-01 12:00:00'), (2, 10, '2024-05-02 10:00:00')"
    )
    engines = client.query(f"SELECT name, engine FROM system.tables WHERE database = '{db}' ORDER BY name")
    assert engines.result_rows == [
        ("daily", "AggregatingMergeTree"),
        ("daily_mv", "MaterializedView"),
        ("events", "MergeTree"),
    ]
    assert "non_replicated_deduplication_window = 1000" in str(client.command(f"SHOW CREATE {db}.events"))
    rollup = client.query(
        f"SELECT site_id, day, uniqMerge(visitors) FROM {db}.daily GROUP BY site_id, day ORDER BY site_id"
    )
    assert [(site, str(day), n) for site, day, n in rollup.result_rows] == [
        (1, "2024-05-01", 2),
        (2, "2024-05-02", 1),
    ]


def test_bound_parameters(client: Client) -> None:
    assert client.query("SELECT {n:UInt64} + 1", parameters={"n": 41}).result_rows == [(42,)]
    tricky = "tab\there, quote ' backslash \\ newline\n åäö"
    row = client.query(
        "SELECT {s:String}, {a:Array(String)}, {t:DateTime}",
        parameters={"s": tricky, "a": ["x", "y'z"], "t": datetime(2024, 5, 1, 12, 0, 0)},
    ).result_rows[0]
    assert row == (tricky, ["x", "y'z"], datetime(2024, 5, 1, 12, 0, 0))
    big = "x" * 10_000 + "'\\"
    sql, params = "SELECT length({big:String}), {big:String} = {same:String}", {"big": big, "same": big}
    # Over 4 KiB of bound parameters makes the client send query and parameters as multipart/form-data.
    assert use_form_encoding(*bind_query(sql, params))
    result = client.query(sql, params)
    assert result.result_rows == [(len(big.encode()), 1)]
    assert client.command("SELECT {n:UInt64} * 2", parameters={"n": 21}) == 42


@pytest.mark.parametrize("compress", [False, "lz4", "zstd", "gzip"])
def test_insert_100k_rows(server: ClickHouseHTTPProcess, db: str, compress: bool | str) -> None:
    client = clickhouse_connect.get_client(dsn=server.url, compress=compress)
    client.command(
        f"CREATE TABLE {db}.hits (id UInt64, path String, lc LowCardinality(String)) "
        "ENGINE = MergeTree ORDER BY id"
    )
    # Rows wide enough for the client to cut the insert into several Native blocks (compressed one by one).
    rows = [[i, f"/some/fairly/long/page/path/{i:08d}", f"site{i % 7}"] for i in range(100_000)]
    summary = client.insert(f"{db}.hits", rows, column_names=["id", "path", "lc"])
    assert summary.written_rows == 100_000
    totals = client.query(f"SELECT count(), sum(id), uniqExact(path), uniqExact(lc) FROM {db}.hits")
    assert totals.result_rows == [(100_000, 100_000 * 99_999 // 2, 100_000, 7)]
    # Large results come back through the same negotiated (compressed) response encoding.
    back = client.query(f"SELECT id, path, lc FROM {db}.hits ORDER BY id").result_rows
    assert [list(row) for row in back] == rows
    client.close()


def test_raw_insert_with_deduplication_token_is_idempotent(client: Client, db: str) -> None:
    client.command(
        f"CREATE TABLE {db}.src (site UInt64, n UInt64) ENGINE = MergeTree ORDER BY site " + DEDUP_WINDOW
    )
    client.command(
        f"CREATE TABLE {db}.totals (site UInt64, n AggregateFunction(sum, UInt64)) "
        f"ENGINE = AggregatingMergeTree ORDER BY site {DEDUP_WINDOW}"
    )
    client.command(
        f"CREATE MATERIALIZED VIEW {db}.totals_mv TO {db}.totals AS "
        f"SELECT site, sumState(n) AS n FROM {db}.src GROUP BY site"
    )
    jsonl = b"".join(json.dumps({"site": i % 3, "n": i}).encode() + b"\n" for i in range(30))
    settings: dict[str, Any] = {
        "insert_deduplication_token": "tok",
        "deduplicate_blocks_in_dependent_materialized_views": 1,
    }
    for _ in range(2):
        client.raw_insert(f"{db}.src", None, jsonl, fmt="JSONEachRow", settings=settings)
    assert client.command(f"SELECT count() FROM {db}.src") == 30
    assert client.command(f"SELECT sumMerge(n) FROM {db}.totals") == sum(range(30))
    # The token was a per-request setting: a plain insert afterwards is not deduplicated against it.
    client.raw_insert(f"{db}.src", None, jsonl, fmt="JSONEachRow")
    assert client.command(f"SELECT count() FROM {db}.src") == 60


def test_errors_surface_as_database_error_with_code(
    server: ClickHouseHTTPProcess, client: Client, db: str
) -> None:
    with pytest.raises(DatabaseError) as unknown:
        client.query("SELECT no_such_column")
    assert unknown.value.code == 47
    with pytest.raises(DatabaseError) as syntax:
        client.command("SELEC 1")
    assert syntax.value.code == 62
    with pytest.raises(DatabaseError) as missing:
        client.raw_insert(f"{db}.no_such_table", None, b'{"a": 1}\n', fmt="JSONEachRow")
    assert missing.value.code == 60
    client.command(f"CREATE TABLE {db}.t (a UInt64) ENGINE = MergeTree ORDER BY a")
    with pytest.raises(DatabaseError) as bad_data:
        client.raw_insert(f"{db}.t", None, b'{"a": 1}\n{"a": "not a number"}\n', fmt="JSONEachRow")
    assert bad_data.value.code in (6, 27, 72)
    assert client.command(f"SELECT count() FROM {db}.t") == 0
    with pytest.raises(DatabaseError) as auth:
        clickhouse_connect.get_client(host=server.host, port=server.port, username="nobody", password="x")
    assert auth.value.code == 516


def test_result_types_round_trip(client: Client, db: str) -> None:
    client.command(
        f"CREATE TABLE {db}.typed (s String, lc LowCardinality(String), ts DateTime64(3, 'UTC'), n UInt64, "
        "ns Nullable(String), arr Array(String), m Map(String, UInt64)) ENGINE = MergeTree ORDER BY n"
    )
    rows = [
        ["tab\t'q'\\", "fr", datetime(2024, 5, 1, 12, 30, 15, 123000), 2**64 - 1, None, ["p", "q"], {"k": 1}],
        ["", "sv", datetime(1999, 12, 31, 23, 59, 59), 0, "v", [], {}],
    ]
    client.insert(f"{db}.typed", rows)
    result = client.query(f"SELECT * FROM {db}.typed ORDER BY n")
    assert [t.name for t in result.column_types] == [
        "String",
        "LowCardinality(String)",
        "DateTime64(3, 'UTC')",
        "UInt64",
        "Nullable(String)",
        "Array(String)",
        "Map(String, UInt64)",
    ]
    assert [list(row) for row in result.result_rows] == [rows[1], rows[0]]
    df = client.query_df(f"SELECT * FROM {db}.typed ORDER BY n")
    assert list(df["lc"]) == ["sv", "fr"]
    assert [int(n) for n in df["n"]] == [0, 2**64 - 1]
    assert df["ts"].iloc[1].to_pydatetime().replace(tzinfo=None) == rows[0][2]
    assert df["ns"].isna().tolist() == [False, True]
    assert [list(a) for a in df["arr"]] == [[], ["p", "q"]]
    assert list(df["m"]) == [{}, {"k": 1}]


def test_database_parameter_and_sessions(server: ClickHouseHTTPProcess, client: Client, db: str) -> None:
    scoped = clickhouse_connect.get_client(dsn=f"{server.url}/{db}")
    assert scoped.command("SELECT currentDatabase()") == db
    scoped.command("CREATE TABLE plain (a UInt8) ENGINE = MergeTree ORDER BY a")
    scoped.insert("plain", [[1], [2]])
    assert client.command(f"SELECT count() FROM {db}.plain") == 2
    # The database parameter applies per request, not to the session behind it.
    assert scoped.command("SELECT currentDatabase()", use_database=False) == "default"
    # Settings sent with a request last for that request only; SET lasts for the session.
    per_request = scoped.query("SELECT getSetting('max_block_size')", settings={"max_block_size": 777})
    assert per_request.result_rows == [(777,)]
    default_block_size = scoped.command("SELECT getSetting('max_block_size')")
    assert default_block_size != 777
    scoped.command("SET max_block_size = 1234")
    assert scoped.command("SELECT getSetting('max_block_size')") == 1234
    assert client.command("SELECT getSetting('max_block_size')") == default_block_size
    scoped.command("CREATE TEMPORARY TABLE scratch (a UInt8)")
    scoped.command("INSERT INTO scratch VALUES (1)")
    assert scoped.command("SELECT count() FROM scratch") == 1
    with pytest.raises(DatabaseError):
        client.command("SELECT count() FROM scratch")
    scoped.close()


def test_kill_and_restart_keeps_data(tmp_path: Path) -> None:
    process = ClickHouseHTTPProcess(tmp_path / "data", user="samtycke", password="s3cret: /@")
    with process:
        client = clickhouse_connect.get_client(dsn=process.url)
        client.command(f"CREATE TABLE kept (a UInt64) ENGINE = MergeTree ORDER BY a {DEDUP_WINDOW}")
        client.insert("kept", [[i] for i in range(1000)])
        # chDB locks its data directory: a second server on the same path must fail to start.
        with pytest.raises(RuntimeError, match="exited"):
            ClickHouseHTTPProcess(tmp_path / "data").start()
        process.kill()
        assert not process.is_running()
        assert not client.ping()
        process.start()
        assert client.command("SELECT count(), sum(a) FROM kept") == [str(1000), str(999 * 1000 // 2)]
        with pytest.raises(DatabaseError) as denied:
            clickhouse_connect.get_client(
                host=process.host, port=process.port, username="samtycke", password="wrong"
            )
        assert denied.value.code == 516
        client.close()
    assert not process.is_running()
