"""The numbers the dashboard shows match straightforward SQL over the raw events and the log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.dashboard.conftest import CHOICES, NOW, DashboardServer

TZ = "Europe/Stockholm"
RANGES = [["2026-10-22", "2026-11-21"], ["2026-09-21", "2026-10-21"], ["2026-11-21", "2026-11-21"]]

# One row per visit in the range: the plain definitions of bounce and duration.
VISITS = """
SELECT visit_id, any(visitor_id) AS visitor, countIf(kind != 'ping') AS actions,
    dateDiff('millisecond', min(timestamp), max(timestamp)) AS duration_ms,
    countIf(kind = 'pageview') AS pageviews, argMin(pathname, timestamp) AS entry
FROM events
WHERE site_id = 1 AND toDate(timestamp, {tz:String}) BETWEEN {first:Date} AND {last:Date} __EXTRA__
GROUP BY visit_id
"""


def expected_totals(server: DashboardServer, first: str, last: str, country: str | None = None) -> list[Any]:
    where = "AND country = {country:String}" if country else ""
    sql = f"""
        SELECT uniqExact(visitor), count(), sum(pageviews), round(100 * countIf(actions = 1) / count()),
            round(avg(duration_ms) / 1000)
        FROM ({VISITS.replace("__EXTRA__", where)})"""
    row = server.storage.query(sql, {"tz": TZ, "first": first, "last": last, "country": country or ""})[0]
    return [int(v) for v in row]


METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]


@pytest.mark.parametrize("date_range", RANGES)
def test_headline_metrics_match_sql(dashboard: DashboardServer, date_range: list[str]) -> None:
    answer = dashboard.query({"metrics": METRICS, "date_range": date_range})
    assert answer["results"][0]["metrics"] == expected_totals(dashboard, *date_range)


def test_comparison_period_matches_sql(dashboard: DashboardServer) -> None:
    # The dashboard's previous period: the same number of days just before the current range.
    current, previous = RANGES[0], RANGES[1]
    now = dashboard.query({"metrics": METRICS, "date_range": current})["results"][0]["metrics"]
    before = dashboard.query({"metrics": METRICS, "date_range": previous})["results"][0]["metrics"]
    assert now == expected_totals(dashboard, *current)
    assert before == expected_totals(dashboard, *previous)
    assert now != before


def test_a_filter_matches_sql(dashboard: DashboardServer) -> None:
    answer = dashboard.query(
        {"metrics": METRICS, "date_range": RANGES[0], "filters": [["is", "visit:country", ["NO"]]]}
    )
    assert answer["results"][0]["metrics"] == expected_totals(dashboard, *RANGES[0], country="NO")


def test_entry_pages_match_sql(dashboard: DashboardServer) -> None:
    answer = dashboard.query(
        {
            "metrics": ["visits"],
            "date_range": "all",
            "dimensions": ["visit:entry_page"],
            "pagination": {"limit": 50},
        }
    )
    got = {row["dimensions"][0]: row["metrics"][0] for row in answer["results"]}
    sql = f"SELECT entry, count() FROM ({VISITS.replace('__EXTRA__', '')}) GROUP BY entry"
    rows = dashboard.storage.query(sql, {"tz": TZ, "first": "2000-01-01", "last": "2099-12-31"})
    assert got == {str(page): int(count) for page, count in rows}


def test_realtime_matches_sql(dashboard: DashboardServer) -> None:
    answer = dashboard.get("/api/v1/stats/realtime?site_id=1", "marketer").json()
    since = NOW - timedelta(minutes=30)
    visitors, pageviews = dashboard.storage.query(
        "SELECT uniqExact(visitor_id), countIf(kind = 'pageview') FROM events WHERE site_id = 1"
        " AND timestamp >= {since:DateTime64(3, 'UTC')} AND timestamp <= {now:DateTime64(3, 'UTC')}",
        {"since": since, "now": NOW},
    )[0]
    assert visitors > 0
    assert (answer["visitors"], answer["pageviews"]) == (visitors, pageviews)
    assert answer["exact"] is True
    assert sum(1 for _ in answer["pages"]) <= 5


def test_consent_rates_count_the_recorded_choices(dashboard: DashboardServer) -> None:
    answer = dashboard.get("/api/v1/stats/consent?site_id=1&date_range=day", "marketer").json()
    methods = [c["method"] for c in CHOICES]
    assert answer["total"] == len(CHOICES)
    shares = {m["method"]: (m["choices"], m["share"]) for m in answer["methods"]}
    for method in ("accept_all", "reject_all", "custom"):
        count = methods.count(method)
        assert shares[method] == (count, round(100 * count / len(CHOICES), 1))
    # accept_all grants everything; the custom choices grant statistics and preferences only.
    rates = {c["category"]: c["opt_in_rate"] for c in answer["categories"]}
    accepted, custom = methods.count("accept_all"), methods.count("custom")
    assert rates["statistics"] == round(100 * (accepted + custom) / len(CHOICES), 1)
    assert rates["marketing"] == round(100 * accepted / len(CHOICES), 1)
    assert [row["version"] for row in answer["by_notice_version"]] == ["2026-11-01"]
    assert answer["by_day"][0]["choices"] == len(CHOICES)


def test_consent_rates_carry_no_personal_data(dashboard: DashboardServer) -> None:
    text = dashboard.get("/api/v1/stats/consent?site_id=1&date_range=all", "marketer").text
    subjects = dashboard.storage.query("SELECT subject, receipt_id FROM consent_log WHERE kind = 'receipt'")
    for subject, receipt in subjects:
        assert subject not in text
        assert receipt not in text


def test_an_empty_range_has_no_choices(dashboard: DashboardServer) -> None:
    answer = dashboard.get(
        "/api/v1/stats/consent?site_id=1&date_range=2025-01-01,2025-01-31", "marketer"
    ).json()
    assert answer["total"] == 0
    assert all(c["opt_in_rate"] == 0 for c in answer["categories"])
