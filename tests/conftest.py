"""Shared fixtures: settings, storage on both backends, an in-process app, a live server.

chDB allows one engine path per process, so every in-process test shares one session
path and gets a database of its own.  The HTTP backend is a separate process speaking
ClickHouse's HTTP interface (tests/clickhouse_http.py), itself backed by chDB.
A live server is a real ``samtycke serve`` subprocess with its own data directory.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import tomli_w
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.storage import Storage, parse_url
from samtycke.web.app import create_app

REPO = Path(__file__).resolve().parent.parent

# Fuzzing explores the same inputs on every run, so a red CI run can be reproduced and a
# green one means the same thing each time; new inputs come from changing the tests.
hypothesis.settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis.settings.load_profile("repeatable")
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def demo_raw(**overrides: Any) -> dict[str, Any]:
    """The built-in demo configuration as a dict, with overrides merged in."""
    return deep_merge(configfile.demo_config(), overrides)


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


def unique_database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["chdb", "http"])
def clickhouse_url(request: pytest.FixtureRequest, chdb_path: Path) -> str:
    """A ClickHouse URL with a fresh database, once embedded and once over HTTP."""
    database = unique_database()
    if request.param == "chdb":
        return f"chdb://{chdb_path}#{database}"
    server = request.getfixturevalue("clickhouse_http")
    return f"{server.url}/{database}"


def split_url(url: str) -> tuple[str, str]:
    """``chdb://path#db`` carries the test database after the fragment mark."""
    if url.startswith("chdb://") and "#" in url:
        base, database = url.split("#", 1)
        return base, database
    return url, "samtycke"


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


def wait_ready(test_client: TestClient | httpx.Client, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test_client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"not ready after {timeout}s: {test_client.get('/readyz').text}")


# -- a live `samtycke serve` subprocess ---------------------------------------------------------------


@dataclass
class LiveServer:
    data_dir: Path
    config_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"serve-{self.port}.log"

    def start(self, ready: bool = True, timeout: float = 60.0) -> LiveServer:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        env = {**os.environ, **self.env}
        env.pop("SAMTYCKE_CONFIG", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samtycke",
                "serve",
                "--config",
                str(self.config_path),
                "--port",
                str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir.parent,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        path = "/readyz" if ready else "/healthz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"samtycke exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"samtycke did not become ready:\n{self.logs()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit status (uvicorn re-raises the signal: -15)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def stopped_gracefully(self) -> bool:
        return self.stop() in (0, -signal.SIGTERM) and "samtycke stopped" in self.logs()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


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
        raw["storage"]["data_dir"] = str(data_dir)
        config_path = base / "samtycke.toml"
        config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
        server = LiveServer(data_dir=data_dir, config_path=config_path)
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
