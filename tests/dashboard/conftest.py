"""A dashboard server for the whole module: the real app under uvicorn in a thread, on the
session chDB path with its own database, filled with generated traffic and real consent choices.

The server runs in this process so the tests can compare answers with plain SQL over the same
events (chDB allows one engine path per process; this is it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from starlette.applications import Starlette

from analytics.dashboard.sample import Traffic, generate
from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.storage import Storage
from samtycke.web.app import create_app
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.ports import free_port
from tests.support.tokens import TOKENS, bearer

# Frozen "now" for the server: relative ranges and realtime depend on it.
NOW = datetime(2026, 11, 21, 13, 30, tzinfo=UTC)
# ClickHouse expires raw events by its own clock, which no test moves: the site keeps them
# for 50 years, so this fixed calendar stays within retention for decades to come.
RETENTION_MONTHS = 600
TRAFFIC = Traffic(
    sites=[1],
    visits=6000,
    start=NOW - timedelta(days=90),
    end=NOW - timedelta(hours=1),
    seed=7,
    retention_months=RETENTION_MONTHS,
)
RECENT = Traffic(
    sites=[1],
    visits=25,
    start=NOW - timedelta(minutes=25),
    end=NOW,
    seed=11,
    retention_months=RETENTION_MONTHS,
)

USER, PASSWORD = "maria", "correct horse battery staple"
AUDIT_USER, AUDIT_PASSWORD = "olle", "another long pass phrase"

CHOICES: list[dict[str, Any]] = [
    *[{"method": "accept_all"}] * 5,
    *[{"method": "reject_all"}] * 3,
    *[{"method": "custom", "decisions": {"statistics": True, "preferences": True, "marketing": False}}] * 2,
]


@dataclass
class DashboardServer:
    url: str
    app: Starlette
    settings: Settings

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def storage(self) -> Storage:
        return self.services.storage

    def get(self, path: str, role: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(bearer(role) if role else {}), **kwargs.pop("headers", {})}
        return httpx.get(self.url + path, headers=headers, timeout=30, **kwargs)

    def post(self, path: str, role: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(bearer(role) if role else {}), **kwargs.pop("headers", {})}
        return httpx.post(self.url + path, headers=headers, timeout=30, **kwargs)

    def query(self, body: dict[str, Any], role: str = "marketer") -> dict[str, Any]:
        response = self.post("/api/v1/stats/query", role, json={"site_id": 1, **body})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def _settings(chdb_path: Path, data_dir: Path) -> Settings:
    hasher = PasswordHasher()
    raw = deep_merge(
        demo_raw(),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(data_dir),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["dashboard-test-key"]},
        },
    )
    raw["sites"] = [{**site, "retention_months": RETENTION_MONTHS} for site in raw["sites"]]
    raw["tokens"] = TOKENS
    raw["users"] = [
        {"name": USER, "role": "marketer", "password_argon2": hasher.hash(PASSWORD)},
        {"name": AUDIT_USER, "role": "auditor", "password_argon2": hasher.hash(AUDIT_PASSWORD)},
    ]
    return configfile.from_mapping(raw)


class _ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the test process keeps its own handlers
        pass


# Package scope: the server shuts down (closing its chDB connection) before other packages'
# in-process apps open the same engine path, which chDB does not share between live clients.
@pytest.fixture(scope="package")
def dashboard(chdb_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    settings = _settings(chdb_path, tmp_path_factory.mktemp("dashboard") / "data")
    app = create_app(settings, now=lambda: NOW)
    port = free_port()
    server = _ThreadedServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="dashboard-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        raise AssertionError("the dashboard server did not become ready")
    services: Services = app.state.services
    generate(services.storage, TRAFFIC)
    generate(services.storage, RECENT)
    for extra in CHOICES:
        body = {"site_id": 1, "notice_version": "2026-11-01", "lang": "sv", **extra}
        response = httpx.post(url + "/api/v1/consent", json=body, headers={"Origin": url}, timeout=30)
        assert response.status_code == 201, response.text
    _wait_for_receipts(services.storage, len(CHOICES))
    yield DashboardServer(url, app, settings)
    server.should_exit = True
    thread.join(30)


def _wait_for_receipts(storage: Storage, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if storage.query("SELECT count() FROM consent_log WHERE kind = 'receipt'")[0][0] >= count:
            return
        time.sleep(0.1)
    raise AssertionError("consent receipts did not reach ClickHouse")
