"""Matomo ecommerce: orders, carts and product views in, reports out, checked against plain SQL.

Plain SQL here deduplicates orders its own way (the earliest row per ``order_id`` in
``events``, over all time), independent of ``ecommerce_orders``, which the reports use.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.journal import record
from tests.analytics.conftest import (
    CHROME,
    IPHONE,
    LONG_RETENTION_MONTHS,
    AppFactory,
    dropped,
    hit,
    rows,
    services_of,
    shipped,
    site,
    start_client,
)
from tests.support.tokens import ADMIN_TOKEN, MARKETER_TOKEN

BOOK = ["BOK-1", "Boken", ["Böcker", "Deckare"], 199.0, 2]
MUG = ["MUG-7", "Muggen", "Kök", 89.5, 1]
LAMP = ["LMP-3", "Lampan", "", "349", "1"]  # matomo.js may send numbers as text


def items(*entries: list[Any]) -> str:
    return json.dumps(list(entries))


# (visitor address, user agent, UTC time, parameters)
HITS: list[tuple[str, str, str, dict[str, Any]]] = [
    # Visitor A views the book and the kitchen category, fills a cart and orders.
    ("81.230.1.1", CHROME, "2026-11-10 10:00:00", {"url": "http://localhost/bok", "_pks": "BOK-1",
     "_pkn": "Boken", "_pkc": '["Böcker","Deckare"]', "_pkp": "199"}),
    ("81.230.1.1", CHROME, "2026-11-10 10:01:00", {"url": "http://localhost/kok", "_pkc": "Kök"}),
    ("81.230.1.1", CHROME, "2026-11-10 10:02:00", {"url": "http://localhost/kassa", "idgoal": 0,
     "revenue": 398, "ec_items": items(BOOK)}),
    ("81.230.1.1", CHROME, "2026-11-10 10:03:00", {"url": "http://localhost/kassa", "idgoal": 0,
     "revenue": 487.5, "ec_items": items(BOOK, MUG)}),
    ("81.230.1.1", CHROME, "2026-11-10 10:05:00", {"url": "http://localhost/tack", "idgoal": 0,
     "ec_id": "A-100", "revenue": 537.5, "ec_st": 487.5, "ec_tx": 97.5, "ec_sh": 50,
     "ec_dt": 0, "ec_items": items(BOOK, MUG)}),
    # The thank-you page is reloaded: the same order again, and again a day later.
    ("81.230.1.1", CHROME, "2026-11-10 10:06:00", {"url": "http://localhost/tack", "idgoal": 0,
     "ec_id": "A-100", "revenue": 537.5, "ec_items": items(BOOK, MUG)}),
    ("81.230.1.1", CHROME, "2026-11-11 08:00:00", {"url": "http://localhost/tack", "idgoal": 0,
     "ec_id": "A-100", "revenue": 537.5, "ec_items": items(BOOK, MUG)}),
    # Visitor B views the lamp and orders it on the next day, from another campaign.
    ("193.10.1.1", IPHONE, "2026-11-11 09:00:00", {"url": "http://localhost/lampa", "_pks": "LMP-3",
     "_pkn": "Lampan", "_pkp": "349"}),
    ("193.10.1.1", IPHONE, "2026-11-12 09:00:00", {"url": "http://localhost/tack?utm_source=nl",
     "idgoal": 0, "ec_id": "B-200", "revenue": 349, "ec_items": items(LAMP)}),
    # Visitor C only views the book, then converts goal 1 with revenue.
    ("81.230.2.2", IPHONE, "2026-11-12 12:00:00", {"url": "http://localhost/bok", "_pks": "BOK-1",
     "_pkn": "Boken", "_pkc": '["Böcker","Deckare"]'}),
    ("81.230.2.2", IPHONE, "2026-11-12 12:01:00", {"url": "http://localhost/bok", "idgoal": 1,
     "revenue": 25}),
]  # fmt: skip

# One row per order at its earliest sighting, straight from events.
PLAIN_ORDERS = """
SELECT order_id, argMin(revenue, timestamp) AS revenue, argMin(visit_id, timestamp) AS visit,
       argMin(utm_source, timestamp) AS utm_source, min(timestamp) AS at,
       argMin(item_skus, timestamp) AS skus, argMin(item_names, timestamp) AS names,
       argMin(item_categories, timestamp) AS categories, argMin(item_prices, timestamp) AS prices,
       argMin(item_quantities, timestamp) AS quantities
FROM events WHERE kind = 'order' GROUP BY order_id
"""


@pytest.fixture(scope="module", params=["chdb", "http"])
def loaded(request: pytest.FixtureRequest, module_client_factory: AppFactory) -> TestClient:
    """The hits above, stored in embedded chDB and in ClickHouse over HTTP (the test fixture)."""
    url = request.getfixturevalue("clickhouse_http").url if request.param == "http" else ""
    goals = [{"id": 1, "name": "Nyhetsbrev"}]
    test_client = module_client_factory(
        clickhouse_url=url, sites=[site(retention_months=LONG_RETENTION_MONTHS, goals=goals)]
    )
    for address, agent, at, extra in HITS:
        params = hit(cip=address, cdt=at, token_auth=ADMIN_TOKEN, **extra)
        assert test_client.get("/matomo.php", params=params, headers={"user-agent": agent}).status_code == 200
    assert rows(test_client, "SELECT count() FROM events") == [(len(HITS),)]
    return test_client


def ask(test_client: TestClient, **query: Any) -> Any:
    body = {"site_id": 1, "date_range": "all", **query}
    return test_client.post(
        "/api/v1/stats/query", json=body, headers={"authorization": f"Bearer {MARKETER_TOKEN}"}
    )


def results(test_client: TestClient, **query: Any) -> list[tuple[Any, ...]]:
    response = ask(test_client, **query)
    assert response.status_code == 200, response.text
    return [(*r["dimensions"], *r["metrics"]) for r in response.json()["results"]]


ORDER_METRICS = ["revenue", "orders", "average_order_value", "ecommerce_conversion_rate"]


def test_hits_are_stored_as_orders_carts_and_product_views(loaded: TestClient) -> None:
    stored = rows(
        loaded,
        "SELECT kind, order_id, revenue, ec_subtotal, ec_tax, ec_shipping, item_skus, item_categories,"
        " item_prices, item_quantities FROM events WHERE notEmpty(item_skus) ORDER BY timestamp LIMIT 5",
    )
    books, both = [["Böcker", "Deckare"]], [["Böcker", "Deckare"], ["Kök"]]
    assert stored == [
        ("pageview", "", 0.0, 0.0, 0.0, 0.0, ["BOK-1"], books, [199.0], [0]),
        ("pageview", "", 0.0, 0.0, 0.0, 0.0, [""], [["Kök"]], [0.0], [0]),
        ("cart", "", 398.0, 0.0, 0.0, 0.0, ["BOK-1"], books, [199.0], [2]),
        ("cart", "", 487.5, 0.0, 0.0, 0.0, ["BOK-1", "MUG-7"], both, [199.0, 89.5], [2, 1]),
        ("order", "A-100", 537.5, 487.5, 97.5, 50.0, ["BOK-1", "MUG-7"], both, [199.0, 89.5], [2, 1]),
    ]


def test_order_totals_match_plain_sql(loaded: TestClient) -> None:
    plain = rows(
        loaded,
        f"SELECT round(sum(revenue), 2), count(), round(sum(revenue) / count(), 2),"
        f" round(100 * uniqExact(visit) / (SELECT uniqExact(visit_id) FROM events), 2)"
        f" FROM ({PLAIN_ORDERS})",
    )
    assert results(loaded, metrics=ORDER_METRICS) == [plain[0]]
    assert plain[0][:2] == (886.5, 2)  # the re-sent order counts once


def test_orders_by_day_and_source_match_plain_sql(loaded: TestClient) -> None:
    plain = rows(
        loaded,
        f"SELECT toString(toDate(at, 'Europe/Stockholm')) AS day, round(sum(revenue), 2), count()"
        f" FROM ({PLAIN_ORDERS}) GROUP BY day ORDER BY day",
    )
    assert results(loaded, metrics=["revenue", "orders"], dimensions=["time:day"]) == plain
    by_source = results(loaded, metrics=["orders"], dimensions=["visit:utm_source"])
    assert sorted(by_source) == [("", 1), ("nl", 1)]


def test_a_period_after_the_first_sighting_does_not_count_a_re_sent_order(loaded: TestClient) -> None:
    # A-100 was re-sent on 11 November; it was first seen (and counted) on the 10th.
    assert results(loaded, metrics=["orders"], date_range=["2026-11-11", "2026-11-30"]) == [(1,)]
    assert results(loaded, metrics=["orders"], date_range=["2026-11-10", "2026-11-10"]) == [(1,)]


def test_products_match_plain_sql(loaded: TestClient) -> None:
    plain = rows(
        loaded,
        f"""
        SELECT sku, round(sumIf(price * quantity, part = 'order'), 2),
               sumIf(quantity, part = 'order'), uniqExactIf(order_id, part = 'order'),
               countIf(part = 'view'), uniqExactIf(visit, part = 'cart')
        FROM (
            SELECT 'order' AS part, order_id, visit, sku, price, quantity FROM ({PLAIN_ORDERS})
                ARRAY JOIN skus AS sku, prices AS price, quantities AS quantity
            UNION ALL
            SELECT if(kind = 'cart', 'cart', 'view'), '', visit_id, sku, 0, 0 FROM events
                ARRAY JOIN item_skus AS sku WHERE kind IN ('cart', 'pageview')
        ) WHERE sku != '' GROUP BY sku ORDER BY sku
        """,
    )
    answer = results(
        loaded,
        metrics=["revenue", "quantity", "orders", "product_views", "cart_adds"],
        dimensions=["event:product_sku"],
        order_by=[["event:product_sku", "asc"]],
    )
    assert answer == plain
    assert answer[0] == ("BOK-1", 398.0, 2, 1, 2, 1)


def test_categories_count_an_item_in_each_of_its_categories(loaded: TestClient) -> None:
    answer = results(
        loaded,
        metrics=["revenue", "product_views"],
        dimensions=["event:product_category"],
        order_by=[["event:product_category", "asc"]],
    )
    assert answer == [("Böcker", 398.0, 2), ("Deckare", 398.0, 2), ("Kök", 89.5, 1)]


def test_product_filter_and_conversion_rate(loaded: TestClient) -> None:
    answer = results(
        loaded,
        metrics=["ecommerce_conversion_rate", "average_order_value"],
        dimensions=["event:product_name"],
        filters=[["is", "event:product_category", ["Deckare"]]],
    )
    # Boken: viewed in two visits, ordered in one.
    assert answer == [("Boken", 50, 398)]


def test_goal_revenue_is_reported_per_goal(loaded: TestClient) -> None:
    assert results(loaded, metrics=["revenue"], dimensions=["event:goal"]) == [("Nyhetsbrev", 25)]


def test_comparison_and_csv(loaded: TestClient) -> None:
    response = ask(
        loaded,
        metrics=["orders", "revenue"],
        date_range=["2026-11-12", "2026-11-12"],
        include={"comparisons": {"mode": "previous_period"}},
    )
    assert response.status_code == 200, response.text
    row = response.json()["results"][0]
    assert row["metrics"] == [1, 349]
    assert row["comparison"]["metrics"] == [0, 0]
    csv = loaded.post(
        "/api/v1/stats/query",
        json={"site_id": 1, "date_range": "all", "metrics": ["revenue"], "dimensions": ["event:product_sku"]},
        headers={"authorization": f"Bearer {MARKETER_TOKEN}", "accept": "text/csv"},
    )
    assert csv.text.splitlines()[:2] == ["event:product_sku,revenue", "BOK-1,398"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ["revenue", "visitors"]}, "metrics[1]"),
        ({"metrics": ["visitors"], "dimensions": ["event:product_sku"]}, "metrics[0]"),
        ({"metrics": ["quantity"]}, "dimensions"),
        ({"metrics": ["orders"], "filters": [["is", "event:product_sku", ["X"]]]}, "dimensions"),
        ({"metrics": ["orders"], "dimensions": ["event:goal"]}, "metrics"),
        ({"metrics": ["revenue"], "dimensions": ["visit:exit_page"]}, "dimensions"),
    ],
)
def test_impossible_ecommerce_queries_are_400(loaded: TestClient, query: dict[str, Any], field: str) -> None:
    response = ask(loaded, **query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    "extra",
    [
        {"idgoal": 0, "ec_items": "[oops"},
        {"idgoal": 0, "ec_items": json.dumps([["S", "N", "C", 1, 1]] * 101)},
        {"idgoal": 0, "ec_items": json.dumps([["S", "N", "C", -1, 1]])},
        {"idgoal": 0, "ec_items": json.dumps([["S", "N", "C", 1, 1.5]])},
        {"idgoal": 0, "ec_items": json.dumps([["S" * 256, "N", "C", 1, 1]])},
        {"idgoal": 0, "ec_items": json.dumps([["S", "N", ["a", "b", "c", "d", "e", "f"], 1, 1]])},
        {"idgoal": 0, "ec_items": json.dumps({"sku": "S"})},
        {"idgoal": 0, "ec_id": "X" * 101},
        {"idgoal": 0, "ec_id": "X-1", "ec_st": "lots"},
        {"_pks": "S", "_pkp": "nan"},
        {"_pkc": '["unclosed"'},
    ],
)
def test_malformed_ecommerce_is_dropped_with_its_reason(
    make_client: AppFactory, extra: dict[str, Any]
) -> None:
    test_client = make_client()
    before = dropped(test_client, "invalid_ecommerce")
    response = test_client.get("/matomo.php", params=hit(**extra), headers={"user-agent": CHROME})
    assert response.status_code == 200  # the tracker still gets its normal answer
    assert dropped(test_client, "invalid_ecommerce") == before + 1
    assert rows(test_client, "SELECT count() FROM events") == [(0,)]


def test_an_order_replayed_and_re_sent_after_a_restart_counts_once(make_client: AppFactory) -> None:
    recent = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    order = hit(idgoal=0, ec_id="R-1", revenue=100, ec_items=items(MUG), cip="81.230.1.1", cdt=recent,
                token_auth=ADMIN_TOKEN)  # fmt: skip
    first = make_client()
    assert first.get("/matomo.php", params=order, headers={"user-agent": CHROME}).status_code == 200
    shipped(first)
    # A replay that ClickHouse's deduplication window no longer covers: the very same record,
    # journalled and shipped again under a new token.
    services = services_of(first)
    (row,) = services.storage.query_dicts("SELECT * FROM events")
    again = {k: (v.isoformat(" ", "milliseconds") if isinstance(v, datetime) else v) for k, v in row.items()}
    assert first.portal is not None
    first.portal.call(services.append, [record("events", again)])
    shipped(first)
    assert rows(first, "SELECT count() FROM events WHERE order_id = 'R-1'") == [(2,)]
    settings = services.settings
    first.__exit__(None, None, None)  # a restart: the same database, a fresh process state
    second = start_client(settings, "127.0.0.1")
    try:
        assert second.get("/matomo.php", params=order, headers={"user-agent": CHROME}).status_code == 200
        shipped(second)
        assert rows(second, "SELECT count() FROM events WHERE order_id = 'R-1'") == [(3,)]
        assert results(second, metrics=["orders", "revenue"], date_range="7d") == [(1, 100)]
    finally:
        second.__exit__(None, None, None)
