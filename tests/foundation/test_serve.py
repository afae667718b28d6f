"""A real `samtycke serve` process: start-up without ClickHouse, logs without addresses."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import LiveServer


def test_serve_starts_without_clickhouse_and_readyz_says_why(
    live_server_factory: Callable[..., LiveServer], clickhouse_http: Any
) -> None:
    clickhouse_http.stop()
    server = live_server_factory(start=False, storage={"clickhouse_url": f"{clickhouse_http.url}/late_start"})
    server.start(ready=False)
    try:
        ready = httpx.get(server.url + "/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["ready"] is False and body["checks"]["clickhouse"]["ok"] is False
        assert any("ClickHouse" in reason for reason in body["reasons"])
        assert "pw" not in ready.text
    finally:
        clickhouse_http.start()
    deadline = time.monotonic() + 60
    while httpx.get(server.url + "/readyz").status_code != 200:
        assert time.monotonic() < deadline, server.logs()
        time.sleep(0.2)
    assert server.stopped_gracefully()


def test_logs_carry_no_client_address_and_a_request_id(live_server: LiveServer) -> None:
    addresses = ["203.0.113.77", "2001:db8:abcd:12::99"]
    for address in addresses:
        httpx.get(live_server.url + "/healthz", headers={"x-forwarded-for": address})
        httpx.get(live_server.url + f"/nothing?ip={address}", headers={"x-forwarded-for": address})
    assert live_server.stopped_gracefully()
    logs = live_server.logs()
    assert '"route": "/healthz"' in logs and '"request_id"' in logs
    for address in addresses:
        assert address not in logs
    # The peer address too: only the lines announcing where the server listens name it.
    peer_lines = [line for line in logs.splitlines() if "127.0.0.1" in line]
    assert all("http://127.0.0.1:" in line for line in peer_lines), peer_lines


def test_shutdown_is_graceful_and_the_journal_is_left_empty(live_server: LiveServer) -> None:
    assert live_server.stopped_gracefully()
    leftovers = [p for p in Path(live_server.data_dir, "journal").rglob("*.seg") if p.stat().st_size]
    assert leftovers == []
