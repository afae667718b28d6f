"""The dashboard in headless Chromium: log in, change the range, filter, download CSV, axe-core.

The session's one Chromium comes from ``tests/conftest.py`` (``browser``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.dashboard.conftest import PASSWORD, USER, DashboardServer
from tests.support.paths import ARTIFACTS, REPO

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


class Watched:
    """A page whose console errors, page errors and failed requests are all recorded."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console", lambda m: self.problems.append(f"{m.text} {m.location}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda exc: self.problems.append(str(exc)))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on(
            "response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )


@pytest.fixture
def watched(browser: Browser) -> Iterator[Any]:
    made: list[Watched] = []

    def make(**options: Any) -> Watched:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("reduced_motion", "reduce")
        context = browser.new_context(accept_downloads=True, **options)
        context.set_default_timeout(15_000)
        one = Watched(context)
        made.append(one)
        return one

    yield make
    for one in made:
        one.context.close()
    for one in made:
        assert one.problems == [], f"errors in the browser console: {one.problems}"


def log_in(page: Page, base: str, path: str = "/dashboard") -> None:
    page.goto(base + path)
    assert "/login" in page.url, "an anonymous visitor is sent to the login form"
    page.fill("input[name=name]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    ready(page)


def ready(page: Page) -> None:
    page.wait_for_selector("#dashboard[data-state=ready]")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    # Evaluated through DevTools, which the page's CSP (no inline scripts) does not govern.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def headline(page: Page, metric: str) -> str:
    return page.inner_text(f"[data-metric={metric}] .metric-value")


def test_log_in_change_range_filter_and_download(dashboard: DashboardServer, watched: Any) -> None:
    one = watched()
    page = one.page
    log_in(page, dashboard.url)
    assert page.url.endswith("/dashboard?site=1&period=30d")
    assert page.locator("#panel-pages tbody tr").count() > 0
    thirty_days = headline(page, "visitors")
    screenshot(page, "dashboard-30d.png")

    page.select_option("#dash-period", "7d")
    ready(page)
    assert "period=7d" in page.url
    assert headline(page, "visitors") != thirty_days

    page.select_option("#dash-compare", "previous")
    ready(page)
    assert "compare=previous" in page.url
    assert page.locator("[data-metric-change=visitors]").count() == 1

    # Clicking a row filters the whole view; the filter is in the URL.
    row = page.locator("#panel-pages .filter-row").first
    value = row.get_attribute("data-value")
    row.click()
    ready(page)
    assert f"f=is%7Cevent%3Apage%7C{value.replace('/', '%2F')}" in page.url
    assert page.locator(".filters .chip").count() == 1
    screenshot(page, "dashboard-filtered.png")

    # The shared URL restores the same view in a new page.
    shared = one.context.new_page()
    shared.goto(page.url)
    ready(shared)
    assert shared.locator(".filters .chip").count() == 1
    assert headline(shared, "visitors") == headline(page, "visitors")

    with page.expect_download() as info:
        page.click("#panel-sources button.csv")
    download = info.value
    assert download.suggested_filename.startswith("sources-channel-")
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["visit:channel", "visitors", "visits"]
    assert len(rows) > 1

    assert page.inner_text("#dash-realtime").startswith(tuple("0123456789"))
    assert axe_violations(page) == []


def test_custom_range_tabs_and_consent(dashboard: DashboardServer, watched: Any) -> None:
    one = watched()
    page = one.page
    log_in(page, dashboard.url, "/dashboard?period=7d&tl=city")
    assert page.locator("#panel-locations [aria-pressed=true]").inner_text() == "Cities"
    page.select_option("#dash-period", "custom")
    page.fill("#dash-from", "2026-10-01")
    page.fill("#dash-to", "2026-10-31")
    page.click(".custom-range button[type=submit]")
    ready(page)
    assert "period=custom&from=2026-10-01&to=2026-10-31" in page.url
    page.click("#panel-locations .tabs button:text('Countries')")
    ready(page)
    assert page.locator("#panel-locations svg.map").count() == 1
    page.click("#panel-pages .tabs button:text('Exit pages')")
    ready(page)
    assert "tp=exit" in page.url
    assert page.locator("#panel-pages tbody tr").count() > 0
    page.click("#panel-goals .filter-row >> nth=0")
    ready(page)
    assert "f=is%7Cevent%3Agoal%7CSigned+a+contract" in page.url
    page.select_option("#dash-period", "day")
    ready(page)
    assert page.locator("#panel-consent table").count() == 4
    assert axe_violations(page) == []
    screenshot(page, "dashboard-today.png")


def test_swedish_on_a_phone(dashboard: DashboardServer, watched: Any) -> None:
    one = watched(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = one.page
    log_in(page, dashboard.url, "/dashboard?lang=sv&period=30d")
    assert page.inner_text("h1").startswith("Statistik")
    assert page.inner_text("[data-metric=visitors] .metric-name") == "Besökare"
    screenshot(page, "dashboard-phone-sv.png")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > 391 && !e.closest('.scroll'))
        .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert wide == [], "nothing forces sideways scrolling on a phone"
    assert axe_violations(page) == []
    screenshot(page, "dashboard-phone-sv.png")
