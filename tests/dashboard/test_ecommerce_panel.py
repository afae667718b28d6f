"""The dashboard's Ecommerce section in headless Chromium: orders, products, categories, goal revenue.

A product view, a cart update, an order sent twice and a goal conversion with revenue reach
the dashboard server through /matomo.php; the section must show each figure once, in
English and Swedish, without axe-core violations.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.dashboard.conftest import DashboardServer
from tests.dashboard.test_browser import axe_violations, log_in, ready, watched  # noqa: F401
from tests.support.tokens import ADMIN_TOKEN

pytestmark = pytest.mark.browser

ITEMS = json.dumps(
    [["KAB-1", "Laddkabel", ["Laddbox", "Tillbehör"], 450, 2], ["SOL-9", "Solpanel", "Solceller", 2900, 1]]
)
HITS: list[dict[str, Any]] = [
    {"url": "http://demo.localhost/laddbox", "_pks": "KAB-1", "_pkn": "Laddkabel", "_pkc": "Laddbox"},
    {"url": "http://demo.localhost/kassa", "idgoal": 0, "revenue": 3800, "ec_items": ITEMS},
    {"url": "http://demo.localhost/tack", "idgoal": 0, "ec_id": "DASH-1", "revenue": 3850, "ec_items": ITEMS},
    {"url": "http://demo.localhost/tack", "idgoal": 0, "ec_id": "DASH-1", "revenue": 3850, "ec_items": ITEMS},
    {"url": "http://demo.localhost/tack", "idgoal": 1, "revenue": 120},
]


@pytest.fixture(scope="module")
def shop(dashboard: DashboardServer) -> DashboardServer:
    for index, extra in enumerate(HITS):
        params = {"idsite": 1, "rec": 1, "cip": "81.230.9.9", "cdt": f"2026-11-15 10:0{index}:00",
                  "token_auth": ADMIN_TOKEN, **extra}  # fmt: skip
        response = httpx.get(
            dashboard.url + "/matomo.php", params=params, headers={"user-agent": "Firefox/140"}
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + 30
    query = {"site_id": 1, "metrics": ["orders"], "date_range": ["2026-11-15", "2026-11-15"]}
    while dashboard.query(query)["results"] != [{"metrics": [1], "dimensions": []}]:
        assert time.monotonic() < deadline, "the order did not reach the stats API"
        time.sleep(0.2)
    return dashboard


def cells(page: Any, selector: str) -> list[list[str]]:
    return [
        [c.strip() for c in row.locator("th, td").all_inner_texts()]
        for row in page.locator(f"{selector} tbody tr").all()
    ]


def test_ecommerce_section_in_english_and_swedish(shop: DashboardServer, watched: Any) -> None:  # noqa: F811
    one = watched()
    page = one.page
    log_in(page, shop.url, "/dashboard?period=custom&from=2026-11-15&to=2026-11-15")
    panel = "#panel-ecommerce"
    assert page.inner_text(f"{panel} h2") == "Ecommerce"
    assert page.inner_text(f"{panel} [data-metric=revenue] .metric-value") == "3,850.00"
    assert page.inner_text(f"{panel} [data-metric=orders] .metric-value") == "1"
    assert page.inner_text(f"{panel} [data-metric=average_order_value] .metric-value") == "3,850.00"
    assert cells(page, panel) == [
        ["Solpanel", "2,900.00", "1", "1", "0", "1"],
        ["Laddkabel", "900.00", "2", "1", "1", "1"],
    ]
    page.click(f"{panel} .tabs button:text('Product categories')")
    ready(page)
    assert "tx=categories" in page.url
    assert cells(page, panel) == [
        ["Solceller", "2,900.00", "1", "1", "0", "1"],
        ["Laddbox", "900.00", "2", "1", "1", "1"],
        ["Tillbehör", "900.00", "2", "1", "0", "1"],
    ]
    page.click(f"{panel} .tabs button:text('Revenue per goal')")
    ready(page)
    # The generated traffic carries goal revenue too: plain SQL over the same day says how much.
    plain = shop.storage.query(
        "SELECT sumIf(revenue, goal_id = 1 OR (kind = 'pageview' AND pathname LIKE '/tack%')),"
        " sumIf(revenue, goal_id = 2 OR (kind = 'event' AND event_category = 'download'"
        " AND event_action = 'price-list'))"
        " FROM events WHERE site_id = 1 AND toDate(timestamp, 'Europe/Stockholm') = '2026-11-15'"
    )[0]
    goals = sorted(
        [("Signed a contract", plain[0]), ("Downloaded price list", plain[1])], key=lambda g: -g[1]
    )
    assert plain[0] >= 120
    assert cells(page, panel) == [[name, f"{revenue:,.2f}"] for name, revenue in goals]
    assert axe_violations(page) == []

    page.goto(shop.url + "/dashboard?lang=sv&period=custom&from=2026-11-15&to=2026-11-15&tx=categories")
    ready(page)
    assert page.inner_text(f"{panel} h2") == "E-handel"
    assert page.inner_text(f"{panel} [data-metric=revenue] .metric-name") == "Intäkter"
    assert page.inner_text(f"{panel} [data-metric=revenue] .metric-value") == "3\u00a0850,00"
    assert axe_violations(page) == []
