"""Helpers for the analytics tests: tokens, site overrides, an app factory, GeoIP files."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from starlette.testclient import TestClient

from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.web.app import create_app
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.live import wait_ready
from tests.support.tokens import TOKENS

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# A site's retention for tests that store hits at fixed dates: ClickHouse expires raw events
# by its own clock, which no test moves, so hits at fixed dates are kept for 50 years past them.
LONG_RETENTION_MONTHS = 600

# Addresses the test GeoIP database knows.
GEO = {
    "81.230.0.0/16": {
        "country": {"iso_code": "SE"},
        "subdivisions": [{"iso_code": "AB"}],
        "city": {"names": {"en": "Stockholm"}},
    },
    "193.10.0.0/16": {"country": {"iso_code": "NO"}, "city": {"names": {"en": "Oslo"}}},
    "2a02:aa1::/32": {"country": {"iso_code": "FI"}},
}


def site(**overrides: Any) -> dict[str, Any]:
    """The demo site with some settings changed."""
    return {**demo_raw()["sites"][0], **overrides}


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]] = GEO) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    for network, data in networks.items():
        writer.insert_network(IPSet([network]), data)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def geoip_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "test-city.mmdb")


AppFactory = Callable[..., TestClient]


def start_client(settings: Settings, peer: str) -> TestClient:
    """The app in-process, started and ready; ``peer`` is the socket address it sees."""
    test_client = TestClient(create_app(settings), base_url="http://localhost", client=(peer, 50000))
    test_client.__enter__()
    wait_ready(test_client)
    return test_client


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[AppFactory]:
    """Start the app in-process with demo overrides; ``peer`` is the socket address it sees.

    One app at a time: starting another stops the previous one, because the embedded
    engine's data path is opened by one app at a time.
    """
    opened: list[TestClient] = []

    def make(peer: str = "127.0.0.1", **overrides: Any) -> TestClient:
        while opened:
            opened.pop().__exit__(None, None, None)
        overrides.setdefault("tokens", TOKENS)
        test_client = start_client(make_settings(**overrides), peer)
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def module_client_factory(
    tmp_path_factory: pytest.TempPathFactory, chdb_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """One app for a whole module, for tests that only read what a fixture loaded.

    ``clickhouse_url`` is embedded chDB unless given (e.g. the HTTP fixture's URL).
    """
    opened: list[TestClient] = []

    def make(peer: str = "127.0.0.1", clickhouse_url: str = "", **overrides: Any) -> TestClient:
        overrides.setdefault("tokens", TOKENS)
        raw = deep_merge(
            demo_raw(**overrides),
            {
                "storage": {
                    "clickhouse_url": clickhouse_url or f"chdb://{chdb_path}",
                    "database": unique_database(),
                    "data_dir": str(tmp_path_factory.mktemp("analytics") / "data"),
                },
                "journal": {"ship_interval": 0.1},
                "server": {"secret_keys": ["test-key-1"]},
            },
        )
        test_client = start_client(configfile.from_mapping(raw), peer)
        opened.append(test_client)
        return test_client

    yield make
    for test_client in opened:
        test_client.__exit__(None, None, None)


def services_of(test_client: TestClient) -> Services:
    services: Services = test_client.app.state.services  # type: ignore[attr-defined]
    return services


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met before the deadline")


def shipped(test_client: TestClient) -> None:
    """Wait until everything journalled is in ClickHouse."""
    services = services_of(test_client)
    wait_for(lambda: services.journal.backlog()[0] == 0)


def rows(test_client: TestClient, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
    shipped(test_client)
    return services_of(test_client).storage.query(sql, parameters)


def dropped(test_client: TestClient, reason: str) -> float:
    for line in test_client.get("/metrics").text.splitlines():
        if line.startswith(f'samtycke_dropped_events_total{{reason="{reason}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def hit(**params: Any) -> dict[str, str]:
    base = {"idsite": "1", "rec": "1", "url": "http://localhost/"}
    base.update({k: str(v) for k, v in params.items()})
    return base
