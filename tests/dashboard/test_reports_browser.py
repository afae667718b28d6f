"""The dashboard's report panels in headless Chromium: links, downloads, site search, events with
drill-down, page titles and per-page times, languages and custom dimensions, in both languages,
with no axe-core violations.

A visit of its own is tracked into the module's dashboard server (a day before its frozen now),
beside the generated traffic, which has no links, searches or custom dimensions.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.dashboard import test_browser
from tests.dashboard.conftest import NOW, DashboardServer
from tests.dashboard.test_browser import axe_violations, log_in, ready, screenshot
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.browser
watched = test_browser.watched  # the same watched browser contexts as the other dashboard tests

AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
PAGE = "http://localhost/rapporter"
# The view filtered to this visit's page, apart from the generated traffic's own links and searches.
START = "/dashboard?period=7d&f=is%7Cevent%3Apage%7C%2Frapporter"
VISIT: list[dict[str, Any]] = [
    {"action_name": "Rapporter", "dimension1": "företag", "dimension7": "sju"},
    {"link": "https://example.org/ut"},
    {"download": "http://localhost/filer/avtal.pdf"},
    {"search": "elpris", "search_cat": "avtal", "search_count": 0},
    {"e_c": "Video", "e_a": "Spela", "e_n": "Intro"},
    {"e_c": "Video", "e_a": "Pausa", "e_n": "Intro"},
    {"e_c": "Formulär", "e_a": "Skicka"},
]


@pytest.fixture(scope="module")
def tracked(dashboard: DashboardServer) -> DashboardServer:
    start = int(NOW.timestamp()) - 86400
    for second, extra in enumerate(VISIT):
        params = {"idsite": 1, "rec": 1, "url": PAGE, "cip": "81.230.9.9", "cdt": start + 10 * second,
                  "token_auth": ADMIN_TOKEN, "lang": "sv-SE", **extra}  # fmt: skip
        response = httpx.get(dashboard.url + "/matomo.php", params=params, headers={"user-agent": AGENT})
        assert response.status_code == 200
    deadline = time.monotonic() + 30
    while True:
        answer = dashboard.query({"metrics": ["events"], "date_range": "7d", "dimensions": ["event:props"]})
        if ["7"] in [row["dimensions"] for row in answer["results"]]:
            return dashboard
        assert time.monotonic() < deadline, "the tracked visit did not reach the stats API"
        time.sleep(0.2)


def rows(page: Page, panel: str) -> dict[str, list[str]]:
    """{row value: cell texts} of a panel's table."""
    out = {}
    for row in page.locator(f"#panel-{panel} tbody tr").all():
        value = row.locator(".filter-row").get_attribute("data-value") or ""
        out[value] = [cell.inner_text() for cell in row.locator("td").all()]
    return out


def tab(page: Page, panel: str, text: str) -> None:
    page.click(f"#panel-{panel} .tabs button:text-is('{text}')")
    ready(page)


def test_report_panels_in_english(tracked: DashboardServer, watched: Any) -> None:
    page = watched().page
    log_in(page, tracked.url, START)
    assert rows(page, "links")["https://example.org/ut"] == ["1", "1"]
    tab(page, "links", "Downloads")
    assert "tk=download" in page.url
    assert rows(page, "links")["http://localhost/filer/avtal.pdf"] == ["1", "1"]
    assert page.inner_text("#panel-search thead").split() == [
        "Keyword",
        "Visitors",
        "Events",
        "Without",
        "results",
    ]
    assert rows(page, "search")["elpris"] == ["1", "1", "1"]

    # Events drill down: a category filters the view and opens its actions, an action its names.
    assert rows(page, "events")["Video"] == ["1", "2"]
    page.click("#panel-events .filter-row[data-value='Video']")
    ready(page)
    assert "f=is%7Cevent%3Acategory%7CVideo" in page.url and "te=action" in page.url
    assert page.locator("#panel-events [aria-pressed=true]").inner_text() == "Actions"
    assert set(rows(page, "events")) == {"Spela", "Pausa"}
    page.click("#panel-events .filter-row[data-value='Spela']")
    ready(page)
    assert "te=name" in page.url and page.locator(".filters .chip").count() == 3
    assert rows(page, "events") == {"Intro": ["1", "1"]}
    page.goto(tracked.url + START)
    ready(page)

    tab(page, "pages", "Page titles")
    assert rows(page, "pages")["Rapporter"] == ["1", "1"]
    tab(page, "pages", "Time and exits")
    headers = page.inner_text("#panel-pages thead")
    assert all(h in headers for h in ("Time on page", "Entry rate", "Exit rate", "Bounce rate"))
    top, cells = next(iter(rows(page, "pages").items()))
    answer = tracked.query(
        {"metrics": ["time_on_page", "entry_rate", "exit_rate", "bounce_rate"], "date_range": "7d",
         "filters": [["is", "event:page", [top]]]}
    )  # fmt: skip
    seconds, entry, exit_rate, bounce = answer["results"][0]["metrics"]
    minutes = f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
    assert cells[1:] == [minutes, f"{entry} %", f"{exit_rate} %", f"{bounce} %"]
    tab(page, "devices", "Languages")
    assert rows(page, "devices")["sv-se"][0] == "1"

    # Custom dimensions: the declared ones by name, an undeclared one by number.
    everything = rows(page, "props")
    assert page.inner_text("#panel-props .filter-row[data-value='1']") == "Kundtyp"
    assert everything["7"] == ["1", "1"]  # sent on the first hit only
    page.click("#panel-props .filter-row[data-value='7']")
    ready(page)
    assert "tc=d7" in page.url
    assert page.locator("#panel-props [aria-pressed=true]").inner_text() == "Dimension 7"
    assert rows(page, "props") == {"sju": ["1", "1"]}
    tab(page, "props", "Kundtyp")
    assert rows(page, "props")["företag"] == ["1", "7"]  # visit scope: all the visit's hits
    page.click("#panel-props .filter-row[data-value='företag']")
    ready(page)
    assert page.locator(".filters .chip").last.inner_text() == "Kundtyp = företag ✕"
    screenshot(page, "dashboard-reports.png")
    assert axe_violations(page) == []


def test_report_panels_in_swedish(tracked: DashboardServer, watched: Any) -> None:
    page = watched().page
    log_in(page, tracked.url, START + "&lang=sv&tp=time&tq=category&tc=d1")
    titles = [page.inner_text(f"#title-{p}") for p in ("links", "search", "events", "props")]
    assert titles == ["Länkar", "Sökningar på webbplatsen", "Händelser", "Anpassade dimensioner"]
    assert "Tid på sidan" in page.inner_text("#panel-pages thead")
    assert rows(page, "search")["avtal"] == ["1", "1", "1"]
    assert page.locator("#panel-props [aria-pressed=true]").inner_text() == "Kundtyp"
    assert axe_violations(page) == []
    screenshot(page, "dashboard-reports-sv.png")
