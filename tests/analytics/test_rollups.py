"""Rollups are fed by the materialized views and survive a journal replay without double counts."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.analytics.conftest import CHROME, AppFactory, hit, rows, services_of

ROLLUPS = ("stats_hourly", "stats_pages", "stats_sources", "stats_countries", "stats_devices")


def totals(test_client: TestClient) -> dict[str, tuple[int, ...]]:
    out = {}
    for table in ROLLUPS:
        found = rows(
            test_client,
            "SELECT uniqMerge(visitors), sum(pageviews), sum(events), sum(entries), sum(bounces) "
            f"FROM {table}",
        )
        out[table] = tuple(int(v) for v in found[0])
    return out


def test_rollups_match_events_and_ignore_a_replayed_segment(make_client: AppFactory) -> None:
    test_client = make_client()
    for number in range(5):
        headers = {"user-agent": CHROME, "x-forwarded-for": f"198.51.100.{number + 10}"}
        test_client.get("/matomo.php", params=hit(url=f"http://localhost/p{number}"), headers=headers)
        if number % 2:
            test_client.get("/matomo.php", params=hit(url="http://localhost/second"), headers=headers)
    plain = rows(
        test_client,
        "SELECT uniqExact(visitor_id), countIf(kind = 'pageview'), countIf(kind != 'ping'), "
        "sum(is_entry), sum(bounce_delta) FROM events",
    )[0]
    before = totals(test_client)
    assert before["stats_hourly"] == tuple(int(v) for v in plain) == (5, 7, 7, 5, 3)
    for table in ("stats_sources", "stats_countries", "stats_devices"):
        assert before[table] == before["stats_hourly"]
    # Per page: pageviews by page, entries and bounces by entry page.
    assert before["stats_pages"][1:] == before["stats_hourly"][1:]

    storage = services_of(test_client).storage
    segment = b"\n".join(
        json.dumps(row, default=str).encode()
        for row in storage.query_dicts(
            "SELECT * EXCEPT (timestamp), toString(timestamp) AS timestamp FROM events LIMIT 3"
        )
    )
    storage.insert_json_lines("events", segment, dedup_token="lane:0000000000000042:events:0")
    once = totals(test_client)
    assert once["stats_hourly"][1] == before["stats_hourly"][1] + 3
    storage.insert_json_lines("events", segment, dedup_token="lane:0000000000000042:events:0")
    assert totals(test_client) == once
    assert rows(test_client, "SELECT count() FROM events") == [(10,)]
