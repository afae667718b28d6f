"""Browser tests of the banner: headless Chromium, driven by Playwright, against a real `samtycke serve`.

Host names: Chromium resolves every ``*.localhost`` name to loopback by itself, and accepts a
cookie set from ``www.demo.localhost`` with ``Domain=demo.localhost`` (``localhost`` is not a
public suffix to it). So the parent-domain tests use two real host names, ``www.demo.localhost``
and ``demo.localhost``, with no resolver flags; both are in the demo site's ``domains``.

One browser serves the whole session; every test gets fresh contexts (a clean cookie jar).
Cookies are scoped by host and not by port, so two servers on different ports share one jar:
that is how the notice-version test carries a choice from one deployment to the next.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import tomli_w
from playwright.sync_api import Browser, BrowserContext, Page, Response, Route

from tests.support.config import deep_merge, demo_raw
from tests.support.live import LiveServer
from tests.support.paths import ARTIFACTS, REPO

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"

WWW = "www.demo.localhost"
PARENT = "demo.localhost"
NOTICE = "2026-11-01"  # the built-in demo's notice version
OPTIONAL = ("preferences", "statistics", "marketing")


# -- servers -------------------------------------------------------------------------------------------


def start_live(base: Path, notice_version: str | None = None) -> LiveServer:
    """A real `samtycke serve` on the demo config; optionally with another notice version."""
    data_dir = base / "data"
    raw = deep_merge(
        demo_raw(), {"storage": {"data_dir": str(data_dir)}, "server": {"secret_keys": ["browser-test-key"]}}
    )
    if notice_version:
        raw["sites"][0]["notice"]["version"] = notice_version
    config_path = base / "samtycke.toml"
    config_path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return LiveServer(data_dir=data_dir, config_path=config_path).start()


@dataclass
class Site:
    server: LiveServer

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/demo", host: str = WWW) -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = start_live(tmp_path_factory.mktemp("banner-site"))
    yield Site(server)
    server.stop()


@pytest.fixture(scope="session")
def site_next_notice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The same demo site after its owner published a new notice version."""
    server = start_live(tmp_path_factory.mktemp("banner-site-v2"), notice_version="2026-12-01")
    yield Site(server)
    server.stop()


# -- browser -------------------------------------------------------------------------------------------


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh contexts (empty cookie jar and storage); reduced motion keeps screenshots stable."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("reduced_motion", "reduce")
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Iterator[Page]:
    """A page whose uncaught script errors fail the test."""
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"


# -- helpers shared by the tests -------------------------------------------------------------------


def open_demo(page: Page, url: str) -> None:
    """Load a page and wait until the banner has its configuration and has applied the state."""
    page.goto(url)
    wait_js(page, "window.samtycke")
    page.evaluate("window.samtycke.ready")
    page.wait_for_selector(".stk-r, .stk:not([hidden])", state="attached")


def wait_js(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Poll a JS expression until truthy. (page.wait_for_function evaluates strings with eval,
    which the demo's CSP rightly forbids; page.evaluate goes through DevTools and is not affected.)"""
    ok = page.evaluate(f"""async () => {{
        const end = Date.now() + {timeout_ms};
        while (Date.now() < end) {{
            if ({expression}) return true;
            await new Promise((r) => setTimeout(r, 25));
        }}
        return false; }}""")
    assert ok, f"timed out waiting for {expression}"


def dialog_visible(page: Page) -> bool:
    return page.locator(".stk-d").is_visible()


def click_action(page: Page, action: str) -> dict[str, Any]:
    """Click a banner button and wait for the POST it makes; return the request body."""
    return click_and_record(page, f"[data-samtycke-action={action}]")


def click_and_record(page: Page, selector: str) -> dict[str, Any]:
    """Click something that records a choice; wait for the server's 201 and the banner's change event."""
    page.evaluate("""() => { window.__changed = new Promise((resolve) =>
        document.addEventListener('samtycke:change', (e) => resolve(e.detail), { once: true })); }""")

    def is_post(r: Response) -> bool:
        return r.url.endswith("/api/v1/consent") and r.request.method == "POST"

    with page.expect_response(is_post) as info:
        page.click(selector)
    response = info.value
    assert response.status == 201, response.text()
    page.evaluate("window.__changed")
    return dict(json.loads(response.request.post_data or "{}"))


def state_cookie(context: BrowserContext) -> dict[str, Any] | None:
    for cookie in context.cookies():
        if cookie["name"] == "samtycke_state":
            return dict(json.loads(unquote(cookie["value"].strip('"'))))
    return None


def set_state_cookie(context: BrowserContext, host: str, state: dict[str, Any]) -> None:
    """Rewrite the JS-readable state cookie, as an older or expired consent would look."""
    from urllib.parse import quote

    value = quote(json.dumps(state, separators=(",", ":")), safe="")
    context.add_cookies(
        [
            {
                "name": "samtycke_state",
                "value": value,
                "domain": host,
                "path": "/",
                "expires": time.time() + 86400,
                "sameSite": "Lax",
            }
        ]
    )


def category_cookies(context: BrowserContext) -> set[tuple[str, str]]:
    """(name, domain) of every cookie in the jar that is not samtycke's own."""
    return {(c["name"], c["domain"]) for c in context.cookies() if not c["name"].startswith("samtycke_")}


def rewrite_demo(page: Page, site: Site, old: str, new: str) -> None:
    """Serve the real /demo page, real CSP header included, with one string of its HTML changed.
    (The fetch goes to 127.0.0.1: Playwright's own resolver, unlike Chromium's, knows no *.localhost.)"""

    def handle(route: Route) -> None:
        response = route.fetch(url=f"http://127.0.0.1:{site.port}/demo")
        route.fulfill(response=response, body=response.text().replace(old, new, 1))

    page.route("**/demo", handle)


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
