"""Backup and restore with a ClickHouse server: the tables travel over HTTP, as Native.

A ``samtycke serve`` on a ClickHouse server (the repository's HTTP fixture) takes receipts
and hits; ``samtycke backup`` copies it through the running server, and again by itself
once the server stopped; ``samtycke restore`` fills another database on the same server,
where a second samtycke answers the same statistics and its log verifies and grows.  A
database that already holds tables is replaced only with ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.backup import HITS, RECEIPTS, check_restored, cli, config, make_traffic
from tests.support.config import unique_database
from tests.support.live import LiveServer
from tests.support.tokens import ADMIN_TOKEN


def rows(folder: Path) -> dict[str, int]:
    manifest = json.loads((folder / "manifest.json").read_text())
    return {table["name"]: table["rows"] for table in manifest["tables"] if table["file"]}


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, clickhouse_http: Any) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("backup-server")
    database = unique_database()
    server_url = f"{clickhouse_http.url}/{database}"
    first = LiveServer(base / "first", config(base, "first", clickhouse_url=server_url)).start()
    try:
        traffic = make_traffic(first, base)
        made = cli(base, "backup", str(base / "copy"), "--server", first.url, "--token", ADMIN_TOKEN)
        assert made.returncode == 0, made.stdout + made.stderr
    finally:
        first.stop()
    return {
        "base": base,
        "url": clickhouse_http.url,
        "database": database,
        "traffic": traffic,
        "made": made.stdout,
    }


def test_a_backup_through_the_running_server_holds_every_table_and_verifies(scene: dict[str, Any]) -> None:
    assert "OK:" in scene["made"] and "the running samtycke" in scene["made"], scene["made"]
    counted = rows(scene["base"] / "copy")
    assert counted["events"] == HITS and counted["consent_log"] >= RECEIPTS, counted
    verified = cli(scene["base"], "backup", "--verify", str(scene["base"] / "copy"))
    assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stdout + verified.stderr


def test_with_the_server_stopped_the_command_backs_the_database_up_by_itself(scene: dict[str, Any]) -> None:
    base = scene["base"]
    made = cli(base, "backup", str(base / "direct"), "--config", str(base / "first.toml"))
    assert made.returncode == 0, made.stdout + made.stderr
    source = f"ClickHouse server at http://127.0.0.1:{scene['url'].rsplit(':', 1)[1]}/{scene['database']}"
    assert made.stdout.startswith(f"backed up {source} into "), made.stdout
    assert rows(base / "direct") == rows(base / "copy")


def test_a_restore_into_another_database_answers_the_same_and_the_log_keeps_growing(
    scene: dict[str, Any],
) -> None:
    base = scene["base"]
    target = config(base, "second", clickhouse_url=f"{scene['url']}/{unique_database()}")
    restored = cli(base, "restore", str(base / "copy"), "--config", str(target))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    second = LiveServer(base / "second", target).start()
    try:
        check_restored(second, base, scene["traffic"])
    finally:
        second.stop()


def test_a_database_that_holds_tables_is_replaced_only_when_forced(scene: dict[str, Any]) -> None:
    base = scene["base"]
    target = config(base, "third", clickhouse_url=f"{scene['url']}/{scene['database']}")
    refused = cli(base, "restore", str(base / "direct"), "--config", str(target))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"the database {scene['database']} is not empty" in refused.stderr, refused.stderr
    assert not (base / "third").exists()
    forced = cli(base, "restore", str(base / "direct"), "--config", str(target), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert f"({sum(rows(base / 'direct').values()):,} rows)" in forced.stdout, forced.stdout
