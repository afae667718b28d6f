"""Shared fixtures: settings, storage on both backends, an in-process app, a live server.

chDB allows one engine path per process, so every in-process test shares one session
path and gets a database of its own.  The HTTP backend is a separate process speaking
ClickHouse's HTTP interface (tests/clickhouse_http.py), itself backed by chDB.
A live server is a real ``samtycke serve`` subprocess with its own data directory.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.storage import Storage, parse_url
from samtycke.web.app import create_app
from tests.support.config import deep_merge, demo_raw, split_url, unique_database
from tests.support.live import LiveServer, wait_ready

# Fuzzing explores the same inputs on every run, so a red CI run can be reproduced and a
# green one means the same thing each time; new inputs come from changing the tests.
hypothesis.settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis.settings.load_profile("repeatable")


# -- storage on both backends -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def clickhouse_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.clickhouse_server import ClickHouseHTTPProcess

    server = ClickHouseHTTPProcess(tmp_path_factory.mktemp("chhttp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["chdb", "http"])
def clickhouse_url(request: pytest.FixtureRequest, chdb_path: Path) -> str:
    """A ClickHouse URL with a fresh database, once embedded and once over HTTP."""
    database = unique_database()
    if request.param == "chdb":
        return f"chdb://{chdb_path}#{database}"
    server = request.getfixturevalue("clickhouse_http")
    return f"{server.url}/{database}"


@pytest.fixture
def storage(clickhouse_url: str) -> Iterator[Storage]:
    url, database = split_url(clickhouse_url)
    store = Storage(parse_url(url, database))
    yield store
    store.close()


# -- settings and an in-process app -------------------------------------------------------------------


@pytest.fixture
def make_settings(tmp_path: Path, chdb_path: Path) -> Callable[..., Settings]:
    """Settings from the demo configuration, on the session chDB path with a fresh database."""

    def make(clickhouse_url: str | None = None, **overrides: Any) -> Settings:
        url, database = split_url(clickhouse_url or f"chdb://{chdb_path}#{unique_database()}")
        # A data directory belongs to one consent log, so to one database.
        data_dir = tmp_path / f"data-{hashlib.sha256(f'{url}#{database}'.encode()).hexdigest()[:12]}"
        raw = demo_raw(**overrides)
        raw = deep_merge(
            raw,
            {
                "storage": {"clickhouse_url": url, "database": database, "data_dir": str(data_dir)},
                "journal": {"ship_interval": 0.1},
                "server": {"secret_keys": ["test-key-1"]},
            },
        )
        return configfile.from_mapping(raw)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process, lifespan running, waiting until storage is migrated."""
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as test_client:
        wait_ready(test_client)
        yield test_client


# -- a live `samtycke serve` subprocess ---------------------------------------------------------------


@pytest.fixture
def live_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """Make live servers from demo-config overrides; all are stopped afterwards."""
    servers: list[LiveServer] = []

    def make(start: bool = True, **overrides: Any) -> LiveServer:
        base = tmp_path_factory.mktemp("live")
        data_dir = base / "data"
        raw = demo_raw(**overrides)
        raw = deep_merge(
            {
                "storage": {"data_dir": str(data_dir)},
                "server": {"secret_keys": ["live-test-key"]},
                "journal": {"ship_interval": 0.2},
            },
            raw,
        )
        server = LiveServer.of(base, raw)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


# -- one headless Chromium for every browser test -------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright; one per test session (Playwright allows one sync driver)."""
    from playwright.sync_api import sync_playwright

    from consent.scan.crawl import CHROMIUM_ARGS

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise RuntimeError("the browser tests need Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last.

    Playwright's sync driver keeps an event loop running in the main thread for as long as
    the session's browser lives, and ``asyncio.run`` refuses to start inside it; so every
    test that needs no browser runs before the browser starts.
    """
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))
