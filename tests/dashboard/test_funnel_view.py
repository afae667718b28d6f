"""The dashboard's funnel view in headless Chromium: a funnel built in the step editor, drawn
from POST /api/v1/stats/funnel and checked against plain SQL over the raw events; the address
that reloads it; the browser's and the API's refusals; saved funnels; Swedish, a phone-width
screen and axe-core.

The saved-funnels list (GET /api/v1/sites/{site_id}/funnels) is answered in the browser by
Playwright's routing, both as a list and as 404 (a server without the route), so the picker is
tested whether or not the server has the route.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.dashboard import test_browser
from tests.dashboard.conftest import DashboardServer
from tests.dashboard.test_browser import axe_violations, log_in, ready, screenshot

pytestmark = pytest.mark.browser
watched = test_browser.watched  # the same watched browser contexts as the other dashboard tests

FIRST, LAST = "2026-10-01", "2026-11-20"
RANGE = f"period=custom&from={FIRST}&to={LAST}"
STEPS: list[dict[str, Any]] = [
    {"page": "/elavtal*"},
    {"event": {"category": "calculator"}},
    {"goal": "Signed a contract"},
]
FUNNELS = "**/api/v1/sites/1/funnels"
NONE = "\u2013"  # the en dash the view shows where a figure does not apply

# Within one visit, the longest chain of steps is the greedy one: the visit's first hit of
# step 1, then its first hit of step 2 after that, then its first hit of step 3 after that.
PLAIN_SQL = """
WITH hits AS (
    SELECT visitor_id, visit_id, timestamp,
        kind = 'pageview' AND pathname LIKE '/elavtal%' AS one,
        kind = 'event' AND event_category = 'calculator' AS two,
        goal_id = 1 OR (kind = 'pageview' AND pathname LIKE '/tack%') AS three
    FROM events
    WHERE site_id = 1 AND toDate(timestamp, 'Europe/Stockholm') BETWEEN '{first}' AND '{last}'
),
first_step AS (
    SELECT visitor_id, visit_id, min(timestamp) AS at FROM hits WHERE one GROUP BY visitor_id, visit_id
),
second_step AS (
    SELECT h.visitor_id AS visitor_id, h.visit_id AS visit_id, min(h.timestamp) AS at
    FROM hits AS h INNER JOIN first_step AS f ON h.visitor_id = f.visitor_id AND h.visit_id = f.visit_id
    WHERE h.two AND h.timestamp > f.at GROUP BY visitor_id, visit_id
),
third_step AS (
    SELECT h.visitor_id AS visitor_id, h.visit_id AS visit_id
    FROM hits AS h INNER JOIN second_step AS s ON h.visitor_id = s.visitor_id AND h.visit_id = s.visit_id
    WHERE h.three AND h.timestamp > s.at
)
SELECT (SELECT uniqExact(visitor_id) FROM first_step), (SELECT uniqExact(visitor_id) FROM second_step),
    (SELECT uniqExact(visitor_id) FROM third_step)
"""


def plain_counts(server: DashboardServer) -> list[int]:
    row = server.storage.query(PLAIN_SQL.format(first=FIRST, last=LAST))[0]
    return [int(value) for value in row]


def table(page: Page) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in page.locator("#funnel-table tbody tr").all()
    ]


def expected_rows(counts: list[int], labels: list[str]) -> list[list[str]]:
    """The table as the view must draw it in English, from the three counts."""

    def percent(part: int, whole: int) -> str:
        # The API rounds to two decimals, the view shows one (rounding half up, as Intl does).
        value = Decimal(str(round(100 * part / whole, 2))) if whole else Decimal(0)
        return f"{value.quantize(Decimal('0.1'), ROUND_HALF_UP).normalize():f} %"

    rows = []
    for index, (count, text) in enumerate(zip(counts, labels, strict=True)):
        previous = counts[index - 1] if index else count
        rows.append(
            [
                f"{index + 1}. {text}",
                f"{count:,}",
                percent(count, counts[0]),
                percent(count, previous) if index else NONE,
                f"{previous - count:,} ({percent(previous - count, previous)})" if index else NONE,
            ]
        )
    return rows


def funnel_address(steps: list[dict[str, Any]], extra: str = "") -> str:
    return f"/dashboard?{RANGE}&view=funnel&fs={quote(json.dumps(steps))}{extra}"


def expect_refusals(one: Any, path: str, status: int) -> None:
    """Drop the console's and the network's notes of refusals the test asked for, and only those."""
    note = f"status of {status}"
    one.problems[:] = [
        p for p in one.problems if not (path in p and (p.startswith(f"{status} ") or note in p))
    ]


@pytest.fixture(scope="module")
def signed_in(dashboard: DashboardServer, browser: Browser) -> Any:
    """One login for the module, kept as the browser's storage: the login form allows ten
    attempts per network in five minutes, and the package's other tests use most of them."""
    context = browser.new_context()
    try:
        log_in(context.new_page(), dashboard.url)
        return context.storage_state()
    finally:
        context.close()


def open_view(one: Any, server: DashboardServer, path: str) -> Page:
    page: Page = one.page
    page.goto(server.url + path)
    ready(page)
    return page


def saved_list(funnels: list[dict[str, Any]]) -> Any:
    def answer(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"funnels": funnels}))

    return answer


def no_list(route: Route) -> None:
    route.fulfill(status=404, content_type="application/json", body='{"error": {"code": "not_found"}}')


def test_a_funnel_built_in_the_editor_matches_plain_sql_and_reloads_from_its_address(
    dashboard: DashboardServer, watched: Any, signed_in: Any
) -> None:
    one = watched(storage_state=signed_in)
    one.page.route(FUNNELS, no_list)
    page = open_view(one, dashboard, f"/dashboard?{RANGE}")
    page.click("[data-view=funnel]")
    ready(page)
    assert "view=funnel" in page.url
    assert page.locator("#funnel-saved").is_hidden()  # no list on this server: no picker, no error
    assert page.inner_text("#panel-funnel .panel-head") == "Funnels"
    assert page.inner_text("#funnel-result") == (
        "Build a funnel of 2\u20138 steps and choose \u201cShow the funnel\u201d."
    )
    assert page.locator("#dash-error").is_hidden()

    page.fill("#funnel-0-page", "/elavtal*")
    page.select_option("#funnel-1-kind", "event")
    page.fill("#funnel-1-category", "calculator")
    page.click("#funnel-add")
    page.select_option("#funnel-2-kind", "goal")
    page.select_option("#funnel-2-goal", "Signed a contract")
    page.click("#funnel-show")
    ready(page)

    counts = plain_counts(dashboard)
    assert counts[0] > counts[1] > counts[2] > 0, counts  # the traffic makes every step count
    labels = ["Page: /elavtal*", "Event: calculator", "Goal: Signed a contract"]
    drawn = table(page)
    assert [row[:5] for row in drawn] == expected_rows(counts, labels)
    assert all(
        int(row[5].replace(",", "")) + int(row[6].replace(",", "")) == c
        for row, c in zip(drawn, counts, strict=True)
    )
    assert page.inner_text("#funnel-counting p") == "Every step within one visit, for every visitor."
    # Each bar's width is its step's share of the first.
    widths = page.eval_on_selector_all("#funnel-table .bar", "bars => bars.map(b => b.style.width)")
    assert widths == [f"{100 * c / counts[0]:.1f}%".replace(".0%", "%") for c in counts]

    with page.expect_download() as info:
        page.click("#panel-funnel button.csv")
    assert info.value.suggested_filename == f"funnel-{FIRST}_{LAST}.csv"
    exported = list(csv.reader(io.StringIO(info.value.path().read_text(encoding="utf-8"))))
    assert exported[0][:3] == ["step", "label", "visitors"]
    assert [(row[1], int(row[2])) for row in exported[1:]] == [
        ("/elavtal*", counts[0]), ("calculator", counts[1]), ("Signed a contract", counts[2])
    ]  # fmt: skip

    # The address holds the funnel: a reload draws it again, with the editor filled in.
    assert json.loads(page.evaluate("new URLSearchParams(location.search).get('fs')")) == STEPS
    page.reload()
    ready(page)
    assert table(page) == drawn
    assert page.input_value("#funnel-0-page") == "/elavtal*"
    assert page.input_value("#funnel-1-category") == "calculator"
    assert page.input_value("#funnel-2-goal") == "Signed a contract"
    assert axe_violations(page) == []

    # A window: recognised visitors are followed across visits, and the note says so.
    page.select_option("#funnel-within", "window")
    page.fill("#funnel-length", "7")
    page.select_option("#funnel-unit", "d")
    page.click("#funnel-show")
    ready(page)
    assert "fw=7d" in page.url
    assert "followed across visits within the window" in page.inner_text("#funnel-counting p")
    answer = dashboard.post(
        "/api/v1/stats/funnel",
        "marketer",
        json={"site_id": 1, "date_range": [FIRST, LAST], "within": "7d", "steps": STEPS},
    ).json()
    assert [row[1] for row in table(page)] == [f"{s['visitors']:,}" for s in answer["steps"]]
    screenshot(page, "dashboard-funnel.png")
    expect_refusals(one, "/funnels", 404)


def test_the_browser_checks_the_steps_and_shows_the_apis_refusal(
    dashboard: DashboardServer, watched: Any, signed_in: Any
) -> None:
    one = watched(storage_state=signed_in)
    one.page.route(FUNNELS, no_list)
    page = open_view(one, dashboard, f"/dashboard?{RANGE}&view=funnel")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/stats/funnel" in r.url else None)
    page.fill("#funnel-0-page", "/elavtal*")
    page.click("#funnel-show")
    assert page.inner_text("#funnel-problem") == "Step 2: enter a page pattern."
    assert page.get_attribute("#funnel-1-page", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "funnel-1-page"
    page.select_option("#funnel-within", "window")
    page.fill("#funnel-1-page", "/tack")
    page.fill("#funnel-length", "91")
    page.select_option("#funnel-unit", "d")
    page.click("#funnel-show")
    assert page.inner_text("#funnel-problem") == "The window is a whole number above zero, at most 90 days."
    assert requests == []  # nothing the browser can tell is wrong reaches the API

    # Steps move and go; a funnel keeps at least two and at most eight.
    page.click("[aria-label='Move step 2 up']")
    assert [page.input_value(f"#funnel-{i}-page") for i in (0, 1)] == ["/tack", "/elavtal*"]
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move step 1 down"
    assert page.is_disabled("[aria-label='Remove step 1']")
    for _ in range(6):
        page.click("#funnel-add")
    assert page.locator(".funnel-step").count() == 8 and page.is_disabled("#funnel-add")
    page.click("[aria-label='Remove step 8']")
    assert page.locator(".funnel-step").count() == 7 and page.is_enabled("#funnel-add")

    # A shared address whose goal the site no longer has: only the API can tell.
    steps = [{"page": "/elavtal*"}, {"goal": "Gone"}]
    page.goto(dashboard.url + funnel_address(steps))
    ready(page)
    assert page.inner_text("#funnel-problem") == (
        "The funnel could not be shown: the site has no goal named 'Gone' (steps[1].goal)"
    )
    assert page.input_value("#funnel-1-goal") == "Gone"
    assert page.locator("#funnel-table").count() == 0
    assert axe_violations(page) == []
    expect_refusals(one, "/api/v1/stats/funnel", 400)
    expect_refusals(one, "/funnels", 404)


def test_a_saved_funnel_opens_from_the_picker_and_from_its_address(
    dashboard: DashboardServer, watched: Any, signed_in: Any
) -> None:
    saved = [
        {"id": "f1", "name": "Elavtal till köp", "steps": STEPS, "within": "visit", "source": "dashboard"},
        {"id": "f2", "name": "Start till kontakt", "steps": [{"page": "/"}, {"page": "/kontakt"}],
         "within": "24h", "source": "api"},
    ]  # fmt: skip
    one = watched(storage_state=signed_in)
    one.page.route(FUNNELS, saved_list(saved))
    page = open_view(one, dashboard, f"/dashboard?{RANGE}&funnel=f1")
    assert page.locator("#funnel-saved").is_visible()
    assert page.input_value("#funnel-pick") == "f1"
    counts = plain_counts(dashboard)
    labels = ["Page: /elavtal*", "Event: calculator", "Goal: Signed a contract"]
    assert [row[:5] for row in table(page)] == expected_rows(counts, labels)

    page.select_option("#funnel-pick", "f2")
    ready(page)
    assert "funnel=f2" in page.url and "fs=" not in page.url
    assert page.input_value("#funnel-within") == "window"
    assert page.input_value("#funnel-length") == "24"
    answer = dashboard.post(
        "/api/v1/stats/funnel",
        "marketer",
        json={"site_id": 1, "date_range": [FIRST, LAST], "within": "24h", "steps": saved[1]["steps"]},
    ).json()
    assert [row[1] for row in table(page)] == [f"{s['visitors']:,}" for s in answer["steps"]]

    # Editing a saved funnel makes it a funnel of its own, kept by its steps.
    page.fill("#funnel-1-page", "/kundservice")
    page.click("#funnel-show")
    ready(page)
    assert "funnel=" not in page.url and "kundservice" in page.url
    assert axe_violations(page) == []


def test_the_funnel_view_in_swedish_on_a_phone(
    dashboard: DashboardServer, watched: Any, signed_in: Any
) -> None:
    one = watched(viewport={"width": 375, "height": 800}, is_mobile=True, storage_state=signed_in)
    one.page.route(FUNNELS, no_list)
    page = open_view(one, dashboard, funnel_address(STEPS, "&fw=24h&lang=sv&f=is%7Cvisit%3Acountry%7CSE"))
    assert page.inner_text("#title-funnel") == "Trattar"
    assert page.inner_text("#funnel-filters") == "Filtren ovan gäller inte trattar."
    assert page.inner_text("#funnel-counting h3") == "Så räknas besökarna"
    assert page.inner_text("#funnel-counting p").startswith("Besökare som känns igen")
    assert page.locator("#funnel-table thead th").first.inner_text() == "Steg"
    assert table(page)[2][0] == "3. Mål: Signed a contract"
    # Nothing but the table's own scroll box is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "dashboard-funnel-phone-sv.png")
    assert axe_violations(page) == []
    expect_refusals(one, "/funnels", 404)
