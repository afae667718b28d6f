"""Real Matomo tracking clients against a real `samtycke serve`, read back through the stats API.

One live server and one headless Chromium serve the whole session. Tests keep apart by page:
each one tracks under URL paths of its own and reads back only the rows for those paths, so
they may run in any order against the same server.

Host names: the demo site's ``domains`` include ``localhost`` and ``127.0.0.1``. Chromium
resolves them (and every ``*.localhost`` name) to loopback by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import tomli_w
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response

from tests.support.config import deep_merge, demo_raw
from tests.support.live import LiveServer
from tests.support.paths import REPO
from tests.support.tokens import MARKETER, token_entries

NOTICE = "2026-11-01"  # the built-in demo's notice version
DEADLINE = 30.0  # seconds for a hit to travel journal -> shipper -> ClickHouse -> stats API


# -- the server and its stats API ----------------------------------------------------------------


@dataclass
class Collector:
    """A live samtycke and a marketer's view of its numbers."""

    server: LiveServer
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.server.url, timeout=10, headers=MARKETER)

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.port}{path}"

    def query(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/api/v1/stats/query", json={"site_id": 1, "date_range": "all", **body})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def by_page(self, metrics: list[str]) -> dict[str, dict[str, float]]:
        """{path: {metric: value}} over all pages tracked so far."""
        answer = self.query(
            {"metrics": metrics, "dimensions": ["event:page"], "pagination": {"limit": 10000}}
        )
        return {
            row["dimensions"][0]: dict(zip(metrics, row["metrics"], strict=True)) for row in answer["results"]
        }

    def wait_for(
        self, expected: dict[str, dict[str, float]], exact: bool = True
    ) -> dict[str, dict[str, float]]:
        """Poll until every listed page shows the expected metrics (hits ship asynchronously).

        With ``exact`` the numbers must match; otherwise each must be at least the expected one.
        """
        metrics = sorted({m for values in expected.values() for m in values})
        deadline = time.monotonic() + DEADLINE
        while True:
            seen = self.by_page(metrics)
            found = {page: seen.get(page, {}) for page in expected}
            if all(_matches(found[p], want, exact) for p, want in expected.items()):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"stats after {DEADLINE}s: {found}, expected {expected}\n{self.server.logs()[-3000:]}"
                )
            time.sleep(0.2)


def _matches(found: dict[str, float], want: dict[str, float], exact: bool) -> bool:
    return all((found.get(m) == v) if exact else (found.get(m, 0) >= v) for m, v in want.items())


@pytest.fixture(scope="session")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    base = tmp_path_factory.mktemp("tracker-collector")
    data_dir = base / "data"
    raw = deep_merge(
        demo_raw(),
        {
            "storage": {"data_dir": str(data_dir)},
            "server": {"secret_keys": ["tracker-test-key"]},
            "journal": {"ship_interval": 0.1},
            "tokens": token_entries("marketer"),
        },
    )
    config_path = base / "samtycke.toml"
    config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    server = LiveServer(data_dir=data_dir, config_path=config_path).start()
    collector = Collector(server)
    yield collector
    collector.client.close()
    server.stop()


# -- a plain static web server, for pages that are not samtycke's ----------------------------------


class _ModuleHandler(SimpleHTTPRequestHandler):
    """Serves files like a bundler resolves imports: ``./constants`` finds ``constants.js``."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript"}
    pages: dict[str, str] = {}

    def translate_path(self, path: str) -> str:
        translated = super().translate_path(path)
        if not Path(translated).exists() and Path(translated + ".js").is_file():
            return translated + ".js"
        return translated

    def do_GET(self) -> None:
        page = self.pages.get(urlsplit(self.path).path)
        if page is None:
            super().do_GET()
            return
        body = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class StaticSite:
    """Files under the repository's node_modules, plus pages registered by the tests."""

    server: ThreadingHTTPServer
    pages: dict[str, str]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture(scope="session")
def static_site() -> Iterator[StaticSite]:
    pages: dict[str, str] = {}
    handler = type("Handler", (_ModuleHandler,), {"pages": pages})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(REPO / "node_modules")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield StaticSite(server, pages)
    server.shutdown()
    server.server_close()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh context: an empty cookie jar."""
    made = browser.new_context()
    yield made
    made.close()


# Notes every tracking request as the page starts it, then lets it through unchanged: network
# events arrive asynchronously, so only this can show that nothing was sent.
SPY = """
window.__trackerCalls = [];
(() => {
  const note = (url) => {
    if (/\\/(matomo|piwik)\\.php/.test(String(url))) window.__trackerCalls.push(String(url));
  };
  const realFetch = window.fetch;
  window.fetch = function (url) { note(url); return realFetch.apply(this, arguments); };
  const realBeacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => { note(url); return realBeacon(url, data); };
})();
"""


@dataclass
class Hits:
    """Tracking requests the page sent to samtycke (in order), with samtycke's answers.

    Parameters are read when a request starts: by the time its answer arrives Chromium may have
    let go of a beacon's body.
    """

    sent: list[dict[str, str]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)  # position in ``sent`` -> HTTP status
    positions: dict[Request, int] = field(default_factory=dict)

    @property
    def statuses(self) -> list[int]:
        """The answers so far, in the order the requests were sent (0: the request failed)."""
        return [self.answers[i] for i in range(len(self.sent)) if i in self.answers]

    def started(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.path not in ("/matomo.php", "/piwik.php"):
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if request.method == "POST":
            params.update(parse_qsl(request.post_data or "", keep_blank_values=True))
        self.positions[request] = len(self.sent)
        self.sent.append(params)
        self.methods.append(request.method)

    def answered(self, response: Response) -> None:
        if response.request in self.positions:
            self.answers[self.positions[response.request]] = response.status

    def failed(self, request: Request) -> None:
        if request in self.positions:
            self.answers[self.positions[request]] = 0


@dataclass
class TrackedPage:
    page: Page
    hits: Hits
    errors: list[str]

    def wait_for_hits(self, count: int, timeout: float = 10) -> None:
        """Wait until ``count`` tracking requests got samtycke's answer."""
        deadline = time.monotonic() + timeout
        while len(self.hits.answers) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.hits.answers)} tracking requests answered, wanted {count}: {self.hits.sent}"
                )
            self.page.wait_for_timeout(50)

    def calls(self) -> int:
        """How many tracking requests the page has started so far (synchronous, unlike network events)."""
        return int(self.page.evaluate("window.__trackerCalls.length"))

    def wait_for_tracker(self) -> None:
        """Wait until matomo.js has loaded and worked through the queued ``_paq`` commands."""
        self.page.wait_for_function("() => window._paq && !Array.isArray(window._paq)")


@pytest.fixture
def tracked_page(context: BrowserContext) -> Iterator[Callable[..., TrackedPage]]:
    """A page whose tracking requests are recorded and whose uncaught script errors fail the test."""
    made: list[TrackedPage] = []

    def make(init_script: str = "", in_context: BrowserContext | None = None) -> TrackedPage:
        page = (in_context or context).new_page()
        if init_script:
            page.add_init_script(init_script)
        tracked = TrackedPage(page, Hits(), [])
        page.on("pageerror", lambda exc: tracked.errors.append(str(exc)))
        page.add_init_script(SPY)
        page.on("request", tracked.hits.started)
        page.on("response", tracked.hits.answered)
        page.on("requestfailed", tracked.hits.failed)
        made.append(tracked)
        return tracked

    yield make
    for tracked in made:
        assert tracked.errors == [], f"uncaught errors in the page: {tracked.errors}"


def consent_cookie(host: str, granted: list[str], expires_in: float = 86400) -> dict[str, Any]:
    """The JS-readable ``samtycke_state`` cookie as the banner's server sets it after a choice."""
    import json
    from urllib.parse import quote

    state = {"v": NOTICE, "exp": int(time.time() + expires_in), "g": granted, "m": "custom"}
    return {
        "name": "samtycke_state",
        "value": quote(json.dumps(state, separators=(",", ":")), safe=""),
        "domain": host,
        "path": "/",
        "expires": time.time() + 86400,
        "sameSite": "Lax",
    }


def pk_cookies(context: BrowserContext) -> dict[str, str]:
    return {c["name"]: c["value"] for c in context.cookies() if c["name"].startswith("_pk_")}
