"""The stats API against plain SQL over the raw events it reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.analytics.conftest import (
    CHROME,
    IPHONE,
    LONG_RETENTION_MONTHS,
    AppFactory,
    hit,
    rows,
    site,
)
from tests.support.tokens import ADMIN_TOKEN, AUDITOR_TOKEN, MARKETER_TOKEN

# (visitor address, user agent, UTC time, extra parameters) in time order per visitor.
HITS: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "81.230.1.1",
        CHROME,
        "2026-11-10 10:00:00",
        {"url": "http://localhost/", "urlref": "https://www.google.se/"},
    ),
    (
        "81.230.1.1",
        CHROME,
        "2026-11-10 10:01:00",
        {"url": "http://localhost/pris", "urlref": "http://localhost/"},
    ),
    (
        "81.230.1.1",
        CHROME,
        "2026-11-10 10:03:00",
        {"url": "http://localhost/pris", "e_c": "video", "e_a": "play"},
    ),
    ("81.230.1.1", CHROME, "2026-11-10 12:00:00", {"url": "http://localhost/pris"}),
    (
        "193.10.1.1",
        IPHONE,
        "2026-11-11 09:00:00",
        {"url": "http://localhost/pris?utm_campaign=vinter&utm_source=nl&utm_medium=email"},
    ),
    ("193.10.1.1", IPHONE, "2026-11-11 09:00:30", {"url": "http://localhost/pris", "ping": 1}),
    ("81.230.2.2", IPHONE, "2026-11-12 22:50:00", {"url": "http://localhost/"}),  # 23:50 in Stockholm
    ("81.230.2.2", IPHONE, "2026-11-12 23:10:00", {"url": "http://localhost/"}),  # 00:10: a new visit
    (
        "2a02:aa1::5",
        CHROME,
        "2026-11-15 08:00:00",
        {"url": "http://localhost/kontakt", "urlref": "https://l.facebook.com/"},
    ),
]


@pytest.fixture(scope="module")
def geoip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.analytics.conftest import write_mmdb

    return write_mmdb(tmp_path_factory.mktemp("geo") / "city.mmdb")


@pytest.fixture(scope="module")
def loaded(module_client_factory: AppFactory, geoip: Path) -> TestClient:
    # Raw events outlive these fixed dates by decades: ClickHouse applies retention by its own clock.
    test_client = module_client_factory(
        analytics={"geoip_database": str(geoip)}, sites=[site(retention_months=LONG_RETENTION_MONTHS)]
    )
    for address, agent, at, extra in HITS:
        params = hit(cip=address, cdt=at, token_auth=ADMIN_TOKEN, **extra)
        assert test_client.get("/matomo.php", params=params, headers={"user-agent": agent}).status_code == 200
    assert rows(test_client, "SELECT count() FROM events") == [(len(HITS),)]
    return test_client


def ask(test_client: TestClient, token: str | None = MARKETER_TOKEN, **query: Any) -> Any:
    body = {"site_id": 1, "metrics": ["visitors"], "date_range": "all", **query}
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return test_client.post("/api/v1/stats/query", json=body, headers=headers)


def results(test_client: TestClient, **query: Any) -> list[tuple[Any, ...]]:
    response = ask(test_client, **query)
    assert response.status_code == 200, response.text
    return [(*r["dimensions"], *r["metrics"]) for r in response.json()["results"]]


ALL_METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"]

PLAIN_TOTALS = """
SELECT
    (SELECT uniqExact(visitor_id) FROM events),
    (SELECT uniqExact(visit_id) FROM events),
    (SELECT countIf(kind = 'pageview') FROM events),
    (SELECT round(100 * countIf(actions = 1) / count()) FROM
        (SELECT visit_id, countIf(kind != 'ping') AS actions FROM events GROUP BY visit_id)),
    (SELECT round(avg(d) / 1000) FROM
        (SELECT visit_id, dateDiff('millisecond', min(timestamp), max(timestamp)) AS d
         FROM events GROUP BY visit_id)),
    (SELECT countIf(kind != 'ping') FROM events)
"""


def test_totals_match_plain_sql_and_the_story(loaded: TestClient) -> None:
    expected = [tuple(int(v) for v in rows(loaded, PLAIN_TOTALS)[0])]
    assert results(loaded, metrics=ALL_METRICS) == expected
    # 4 visitors; A has 2 visits, C's visit splits at Stockholm midnight; 5 of 6 visits
    # have one action (B's heartbeat is not one); A's first visit lasts 180 s, B's 30 s.
    assert expected == [(4, 6, 7, 83, 35, 8)]


def test_per_page_matches_plain_sql(loaded: TestClient) -> None:
    plain = rows(
        loaded,
        "SELECT pathname, uniqExact(visitor_id), countIf(kind = 'pageview') FROM events "
        "GROUP BY pathname ORDER BY pathname",
    )
    got = results(loaded, metrics=["visitors", "pageviews"], dimensions=["event:page"])
    assert sorted(got) == [tuple(r) for r in plain]
    assert [r[1] for r in got] == sorted((r[1] for r in got), reverse=True)  # most visitors first


@pytest.mark.parametrize(
    ("dimension", "column"),
    [
        ("visit:country", "country"),
        ("visit:device", "device"),
        ("visit:channel", "channel"),
        ("visit:browser", "browser"),
        ("visit:os", "os"),
        ("visit:source", "source"),
    ],
)
def test_per_visit_dimension_matches_plain_sql(loaded: TestClient, dimension: str, column: str) -> None:
    plain = rows(
        loaded,
        f"SELECT toString({column}), uniqExact(visitor_id), uniqExact(visit_id) FROM events "
        f"GROUP BY {column} ORDER BY {column}",
    )
    got = results(loaded, metrics=["visitors", "visits"], dimensions=[dimension])
    assert sorted(got) == [tuple(r) for r in plain]


def test_known_dimension_values(loaded: TestClient) -> None:
    countries = dict((r[0], r[1]) for r in results(loaded, dimensions=["visit:country"]))
    assert countries == {"SE": 2, "NO": 1, "FI": 1}
    channels = {r[0] for r in results(loaded, dimensions=["visit:channel"])}
    assert channels == {"Organic Search", "Email", "Direct", "Organic Social"}
    devices = dict((r[0], r[1]) for r in results(loaded, dimensions=["visit:device"]))
    assert devices == {"Desktop": 2, "Mobile": 2}


def test_time_day_in_site_time_zone(loaded: TestClient) -> None:
    got = results(loaded, metrics=["visits", "pageviews"], dimensions=["time:day"])
    assert got == [
        ("2026-11-10", 2, 3),
        ("2026-11-11", 1, 1),
        ("2026-11-12", 1, 1),
        ("2026-11-13", 1, 1),  # 00:10 Stockholm time
        ("2026-11-15", 1, 1),
    ]


def test_filters_is_and_is_not(loaded: TestClient) -> None:
    swedish = results(loaded, metrics=["visitors", "pageviews"], filters=[["is", "visit:country", ["SE"]]])
    plain = rows(
        loaded, "SELECT uniqExact(visitor_id), countIf(kind = 'pageview') FROM events WHERE country = 'SE'"
    )
    assert swedish == [tuple(plain[0])]
    others = results(
        loaded,
        metrics=["visitors"],
        filters=[["is_not", "visit:country", ["SE"]], ["is", "event:page", ["/pris"]]],
    )
    assert others == [(1,)]


def test_date_ranges(loaded: TestClient) -> None:
    assert results(loaded, date_range=["2026-11-10", "2026-11-11"]) == [(2,)]
    response = ask(loaded, date_range="7d")  # ends today, 2026-11-21 or later: only D's visit on the 15th
    assert response.status_code == 200
    first, last = response.json()["query"]["date_range"]
    assert last >= "2026-11-21"
    expected = 1 if first <= "2026-11-15" else 0
    assert response.json()["results"][0]["metrics"] == [expected]


def test_pagination(loaded: TestClient) -> None:
    everything = results(loaded, dimensions=["event:page"])
    page = results(loaded, dimensions=["event:page"], pagination={"limit": 1, "offset": 1})
    assert page == everything[1:2]
    response = ask(loaded, dimensions=["event:page"])
    assert response.json()["query"]["pagination"] == {"limit": 100, "offset": 0}


def test_roles(loaded: TestClient) -> None:
    assert ask(loaded, token=None).status_code == 401
    assert ask(loaded, token="wrong").status_code == 401
    assert ask(loaded, token=AUDITOR_TOKEN).status_code == 403
    assert ask(loaded, token=MARKETER_TOKEN).status_code == 200
    assert ask(loaded, token=ADMIN_TOKEN).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metrics": ["nope"]}, "metrics[0]"),
        ({"date_range": "forever"}, "date_range"),
        ({"dimensions": ["visit:shoe_size"]}, "dimensions[0]"),
        ({"filters": [["starts_with", "visit:country", ["SE"]]]}, "filters[0][0]"),
        ({"pagination": {"limit": 10_001}}, "pagination.limit"),
        ({"site_id": 77}, "site_id"),
    ],
)
def test_invalid_queries_name_the_field(loaded: TestClient, query: dict[str, Any], field: str) -> None:
    response = ask(loaded, **query)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_a_body_that_is_not_json_is_400(loaded: TestClient) -> None:
    response = loaded.post(
        "/api/v1/stats/query", content=b"\xff{", headers={"authorization": f"Bearer {MARKETER_TOKEN}"}
    )
    assert response.status_code == 400
