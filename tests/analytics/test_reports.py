"""The marketers' reports (links, downloads, site search, events, titles, languages, custom
dimensions and the per-page metrics) against plain SQL over the raw events, on chDB and over
ClickHouse's HTTP interface."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from analytics.stats import builder, parser, ranges
from samtycke.settings import loading as configfile
from tests.analytics.conftest import (
    CHROME,
    IPHONE,
    LONG_RETENTION_MONTHS,
    hit,
    rows,
    services_of,
    site,
    start_client,
)
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.tokens import ADMIN_TOKEN, MARKETER_TOKEN, TOKENS

DIMENSIONS = [
    {"id": 1, "name": "Plan", "scope": "visit"},
    {"id": 2, "name": "Ämne", "scope": "action"},
]
A, B, C = ("81.230.1.1", CHROME), ("193.10.1.1", IPHONE), ("81.230.2.2", IPHONE)
PAGE = "http://localhost"
# (visitor, UTC time, tracking parameters), in time order per visitor.
HITS: list[tuple[tuple[str, str], str, dict[str, Any]]] = [
    (A, "2026-11-10 10:00:00", {"url": f"{PAGE}/", "action_name": "Start", "lang": "sv-SE",
                                "dimension1": "gratis", "dimension2": "nyheter"}),
    (A, "2026-11-10 10:00:40", {"url": f"{PAGE}/pris", "action_name": "Priser", "dimension1": "premium"}),
    (A, "2026-11-10 10:01:00", {"url": f"{PAGE}/pris", "e_c": "video", "e_a": "play", "e_n": "intro"}),
    (A, "2026-11-10 10:01:30", {"url": f"{PAGE}/pris", "link": "https://example.org/x"}),
    (A, "2026-11-10 10:02:00", {"url": f"{PAGE}/pris", "download": f"{PAGE}/filer/a.pdf"}),
    (A, "2026-11-10 10:02:30", {"url": f"{PAGE}/sok", "search": "skor", "search_cat": "Butik",
                                "search_count": 0}),
    (A, "2026-11-10 10:03:00", {"url": f"{PAGE}/sok", "search": "jacka", "search_count": 4}),
    (A, "2026-11-10 10:03:10", {"url": f"{PAGE}/kontakt", "action_name": "Kontakt", "dimension5": "x"}),
    (A, "2026-11-10 10:03:40", {"url": f"{PAGE}/kontakt", "ping": 1}),
    (B, "2026-11-11 09:00:00", {"url": f"{PAGE}/pris", "action_name": "Priser", "lang": "en-GB",
                                "dimension2": "sport"}),
    (B, "2026-11-11 09:00:20", {"url": f"{PAGE}/pris", "e_c": "video", "e_a": "pause", "e_n": "intro"}),
    (B, "2026-11-11 09:00:25", {"url": f"{PAGE}/pris", "e_c": "form", "e_a": "submit"}),
    (B, "2026-11-11 09:00:50", {"url": f"{PAGE}/sok", "search": "skor"}),
    (B, "2026-11-11 09:01:00", {"url": f"{PAGE}/pris", "link": "https://example.org/x"}),
    (C, "2026-11-12 08:00:00", {"url": f"{PAGE}/", "action_name": "Start"}),
]  # fmt: skip


@pytest.fixture(scope="module", params=["chdb", "http"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chdb_path: Path
) -> Iterator[TestClient]:
    database = unique_database()
    if request.param == "chdb":
        url = f"chdb://{chdb_path}"
    else:
        url = f"{request.getfixturevalue('clickhouse_http').url}/{database}"
    raw = deep_merge(
        demo_raw(tokens=TOKENS, sites=[site(retention_months=LONG_RETENTION_MONTHS, dimensions=DIMENSIONS)]),
        {
            "storage": {
                "clickhouse_url": url,
                "database": database,
                "data_dir": str(tmp_path_factory.mktemp("d")),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["test-key-1"]},
        },
    )
    client = start_client(configfile.from_mapping(raw), "127.0.0.1")
    for (address, agent), at, extra in HITS:
        params = hit(cip=address, cdt=at, token_auth=ADMIN_TOKEN, **extra)
        assert client.get("/matomo.php", params=params, headers={"user-agent": agent}).status_code == 200
    assert rows(client, "SELECT count() FROM events") == [(len(HITS),)]
    yield client
    client.__exit__(None, None, None)


def ask(client: TestClient, **query: Any) -> Any:
    body = {"site_id": 1, "metrics": ["visitors"], "date_range": "all", **query}
    return client.post(
        "/api/v1/stats/query", json=body, headers={"authorization": f"Bearer {MARKETER_TOKEN}"}
    )


def results(client: TestClient, **query: Any) -> list[tuple[Any, ...]]:
    response = ask(client, **query)
    assert response.status_code == 200, response.text
    return sorted((*r["dimensions"], *r["metrics"]) for r in response.json()["results"])


def plain(client: TestClient, sql: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in rows(client, sql))


@pytest.mark.parametrize(
    ("dimension", "kind", "column"),
    [
        ("event:outlink", "outlink", "link"),
        ("event:download", "download", "link"),
        ("event:search_keyword", "search", "search_keyword"),
        ("event:search_category", "search", "search_category"),
        ("event:category", "event", "event_category"),
        ("event:action", "event", "event_action"),
        ("event:name", "event", "event_name"),
        ("event:title", "pageview", "title"),
    ],
)
def test_hit_dimensions_count_only_their_hits(
    loaded: TestClient, dimension: str, kind: str, column: str
) -> None:
    expected = plain(
        loaded,
        f"SELECT toString({column}), uniqExact(visitor_id), uniqExact(visit_id), count() FROM events"
        f" WHERE kind = '{kind}' GROUP BY {column}",
    )
    assert expected
    assert results(loaded, metrics=["visitors", "visits", "events"], dimensions=[dimension]) == expected


def test_the_story_of_links_downloads_and_titles(loaded: TestClient) -> None:
    assert results(loaded, metrics=["visitors"], dimensions=["event:outlink"]) == [
        ("https://example.org/x", 2)
    ]
    assert results(loaded, metrics=["visitors"], dimensions=["event:download"]) == [
        ("http://localhost/filer/a.pdf", 1)
    ]
    assert results(loaded, metrics=["pageviews"], dimensions=["event:title"]) == [
        ("Kontakt", 1),
        ("Priser", 2),
        ("Start", 2),
    ]


def test_site_search_counts_searches_without_results(loaded: TestClient) -> None:
    got = results(loaded, metrics=["events", "searches_without_results"], dimensions=["event:search_keyword"])
    expected = plain(
        loaded,
        "SELECT search_keyword, count(), countIf(search_count = 0) FROM events WHERE kind = 'search'"
        " GROUP BY search_keyword",
    )
    assert got == expected == [("jacka", 1, 0), ("skor", 2, 1)]  # B's search said nothing about results
    assert results(loaded, metrics=["searches_without_results"]) == [(1,)]


def test_events_drill_down_from_category_to_action_to_name(loaded: TestClient) -> None:
    video = [["is", "event:category", ["video"]]]
    actions = results(loaded, metrics=["visitors", "events"], dimensions=["event:action"], filters=video)
    assert actions == plain(
        loaded,
        "SELECT event_action, uniqExact(visitor_id), count() FROM events"
        " WHERE kind = 'event' AND event_category = 'video' GROUP BY event_action",
    )
    assert actions == [("pause", 1, 1), ("play", 1, 1)]
    play = [*video, ["is", "event:action", ["play"]]]
    assert results(loaded, metrics=["events"], dimensions=["event:name"], filters=play) == [("intro", 1)]
    assert results(loaded, metrics=["events"], dimensions=["event:category", "event:action"]) == [
        ("form", "submit", 1),
        ("video", "pause", 1),
        ("video", "play", 1),
    ]


def test_languages_per_visit(loaded: TestClient) -> None:
    got = results(loaded, metrics=["visitors", "visits"], dimensions=["visit:language"])
    expected = plain(
        loaded,
        "SELECT toString(language), uniqExact(visitor_id), uniqExact(visit_id) FROM events GROUP BY language",
    )
    assert got == expected
    assert {row[0] for row in got} >= {"sv-se", "en-gb"}


def test_an_action_scoped_dimension_counts_the_hits_that_carry_it(loaded: TestClient) -> None:
    got = results(loaded, metrics=["visitors", "events"], dimensions=["event:props:Ämne"])
    expected = plain(
        loaded,
        "SELECT dimensions['2'], uniqExact(visitor_id), count() FROM events"
        " WHERE mapContains(dimensions, '2') GROUP BY dimensions['2']",
    )
    assert got == expected == [("nyheter", 1, 1), ("sport", 1, 1)]
    # The declared name and the number are the same dimension.
    assert results(loaded, metrics=["visitors", "events"], dimensions=["event:props:2"]) == got


def test_a_visit_scoped_dimension_is_the_visits_last_value(loaded: TestClient) -> None:
    got = results(loaded, metrics=["visitors", "visits", "pageviews"], dimensions=["event:props:Plan"])
    expected = plain(
        loaded,
        "SELECT value, uniqExact(visitor), count(), sum(pageviews) FROM ("
        "  SELECT visit_id, any(visitor_id) AS visitor, countIf(kind = 'pageview') AS pageviews,"
        "      arrayLast(v -> v != '',"
        "          arrayMap(h -> h.2, arraySort(groupArray((timestamp, dimensions['1']))))) AS value"
        "  FROM events GROUP BY visit_id) WHERE value != '' GROUP BY value",
    )
    # A set gratis and then premium: the whole visit (3 pageviews) counts under premium.
    assert got == expected == [("premium", 1, 1, 3)]
    filtered = results(
        loaded,
        metrics=["pageviews"],
        dimensions=["event:page"],
        filters=[["is", "event:props:Plan", ["premium"]]],
    )
    assert filtered == [("/", 1), ("/kontakt", 1), ("/pris", 1), ("/sok", 0)]


def test_undeclared_dimensions_go_by_number(loaded: TestClient) -> None:
    assert results(loaded, metrics=["events"], dimensions=["event:props:5"]) == [("x", 1)]
    keys = results(loaded, metrics=["visitors", "events"], dimensions=["event:props"])
    expected = plain(
        loaded,
        "SELECT key, uniqExact(visitor_id), count() FROM events"
        " ARRAY JOIN mapKeys(dimensions) AS key GROUP BY key",
    )
    assert keys == expected
    assert [row[0] for row in keys] == ["1", "2", "5"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"dimensions": ["event:props:Storlek"]}, "dimensions[0]"),
        ({"dimensions": ["event:props:1000"]}, "dimensions[0]"),
        ({"filters": [["is", "event:props:Storlek", ["x"]]]}, "filters[0]"),
        ({"dimensions": ["event:props:"]}, "dimensions[0]"),
        ({"filters": [["is", "event:props", ["1"]]]}, "filters[0][1]"),
    ],
)
def test_unknown_custom_dimensions_are_400(loaded: TestClient, query: dict[str, Any], field: str) -> None:
    response = ask(loaded, **query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def _page_metrics(client: TestClient) -> dict[str, tuple[int, int, int, int]]:
    """Per path, from the raw rows in Python: time on page, entry, exit and bounce rate."""
    hits = rows(
        client,
        "SELECT visit_id, toUnixTimestamp64Milli(timestamp), kind, pathname, is_entry FROM events"
        " ORDER BY visit_id, timestamp",
    )
    visits: dict[int, list[tuple[int, str, str, int]]] = defaultdict(list)
    for visit, at, kind, path, entry in hits:
        visits[visit].append((at, kind, path, entry))
    times: dict[str, list[int]] = defaultdict(list)
    seen: dict[str, set[int]] = defaultdict(set)
    entered: dict[str, set[int]] = defaultdict(set)
    exited: dict[str, set[int]] = defaultdict(set)
    bounced: dict[str, set[int]] = defaultdict(set)
    for visit, visit_hits in visits.items():
        pageviews = [h for h in visit_hits if h[1] == "pageview"]
        actions = sum(1 for h in visit_hits if h[1] != "ping")
        for _, _, path, entry in visit_hits:
            seen[path].add(visit)
            if entry:
                entered[path].add(visit)
            if actions == 1:
                bounced[path].add(visit)
        for index, (at, _, path, _) in enumerate(pageviews):
            end = pageviews[index + 1][0] if index + 1 < len(pageviews) else visit_hits[-1][0]
            if end > at:
                times[path].append(end - at)
        if pageviews:
            exited[pageviews[-1][2]].add(visit)

    def rate(part: dict[str, set[int]], path: str) -> int:
        return round(100 * len(part[path]) / len(seen[path]))

    return {
        path: (
            round(sum(times[path]) / len(times[path]) / 1000) if times[path] else 0,
            rate(entered, path),
            rate(exited, path),
            rate(bounced, path),
        )
        for path in seen
    }


def test_per_page_metrics_match_the_raw_hits(loaded: TestClient) -> None:
    metrics = ["time_on_page", "entry_rate", "exit_rate", "bounce_rate"]
    got = {row[0]: row[1:] for row in results(loaded, metrics=metrics, dimensions=["event:page"])}
    assert got == _page_metrics(loaded)
    # A: / 40 s, /pris 150 s, /kontakt 30 s (to its heartbeat); B: /pris 60 s (to its outlink);
    # C's one pageview has no end and no time.
    assert got["/"] == (40, 100, 50, 50)
    assert got["/pris"] == (105, 50, 50, 0)
    assert got["/kontakt"] == (30, 0, 100, 0)


def test_comparisons_and_csv_cover_the_new_reports(loaded: TestClient) -> None:
    response = ask(
        loaded,
        metrics=["visitors", "exit_rate"],
        dimensions=["event:outlink"],
        date_range=["2026-11-11", "2026-11-11"],
        include={"comparisons": {"mode": "previous_period"}},
    )
    assert response.status_code == 200, response.text
    (row,) = response.json()["results"]
    assert row["dimensions"] == ["https://example.org/x"]
    assert row["comparison"]["metrics"] == [1, 0]  # A's outlink the day before; no pageview among it
    answer = loaded.post(
        "/api/v1/stats/query",
        json={"site_id": 1, "metrics": ["events"], "date_range": "all", "dimensions": ["event:props:Ämne"]},
        headers={"authorization": f"Bearer {MARKETER_TOKEN}", "Accept": "text/csv"},
    )
    assert answer.status_code == 200
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == ["event:props:Ämne", "events"]
    assert sorted(table[1:]) == [["nyheter", "1"], ["sport", "1"]]


VIDEO = ["is", "event:category", ["video"]]
PRICES = ["is", "event:page", ["/pris"]]
PREMIUM = ["is", "event:props:Plan", ["premium"]]
TITLED = ["is_not", "event:title", [""]]
COUNTS = ["visitors", "visits", "pageviews", "events", "views_per_visit", "searches_without_results"]
VISITS = [*COUNTS, "bounce_rate", "visit_duration"]
PAGES = ["visitors", "pageviews", "time_on_page", "entry_rate", "exit_rate", "bounce_rate"]
TWO_DAYS = ["2026-11-10", "2026-11-11"]


def report(metrics: list[str], dimensions: list[str], *filters: Any, dates: Any = "all") -> dict[str, Any]:
    return {"metrics": metrics, "dimensions": dimensions, "filters": list(filters), "date_range": dates}


@pytest.mark.parametrize(
    ("query", "shortcut"),
    [
        (report(["visitors", "pageviews"], ["event:title"]), True),
        (report(["visitors", "visits", "events"], ["event:outlink"]), True),
        (report(["visitors", "visits", "views_per_visit"], ["visit:language"]), True),
        (report(COUNTS, ["event:search_keyword"]), True),
        (report(["visitors", "events"], ["event:props:Ämne"], PRICES), True),
        (report(["visitors", "visits", "events"], ["event:props"]), True),
        (report(["events"], ["event:category", "event:action"], VIDEO), True),
        (report(["searches_without_results", "visits"], [], TITLED), True),
        (report(COUNTS, ["event:page"], dates=TWO_DAYS), True),
        (report(VISITS, ["event:props:Plan"]), True),
        (report(VISITS, ["visit:exit_page"], PRICES), True),
        (report(COUNTS, ["event:props:Plan", "visit:exit_page"], VIDEO), True),
        (report(["visitors", "visit_duration"], ["visit:referrer"], dates=TWO_DAYS), True),
        (report(PAGES, ["event:page"]), True),
        (report([*COUNTS, *PAGES[2:]], ["event:page"], VIDEO), True),
        (report(PAGES, ["event:title", "time:day"], dates=TWO_DAYS), True),
        (report(["visitors", "exit_rate", "time_on_page"], ["event:outlink"]), True),
        (report(PAGES, ["visit:language", "event:page"], ["is_not", "event:page", ["/sok"]]), True),
        (report(PAGES, ["event:props"]), True),
        # Not shortcuts: visit facts in a filter, a hit dimension beside a visit fact, visit metrics by page.
        (report(PAGES, ["event:page"], PREMIUM), False),
        (report([*VISITS, *PAGES[2:5]], ["event:page"]), False),
        (report(["visitors", "pageviews"], ["event:page"], PREMIUM), False),
        (report(["visitors"], ["event:props:Plan", "event:page"]), False),
        (report(["visitors", "bounce_rate"], ["event:page"], PRICES), False),
    ],
)  # fmt: skip
def test_single_pass_plans_answer_as_the_general_plan(
    loaded: TestClient, query: dict[str, Any], shortcut: bool
) -> None:
    parsed = parser.parse({"site_id": 1, **query}, {1})
    site_ = services_of(loaded).settings.site(1)
    assert site_ is not None
    period = ranges.resolve(parsed.date_range, ZoneInfo(site_.timezone), datetime(2026, 11, 20, tzinfo=UTC))
    fast = builder.statement(parsed, site_, period)
    general = builder.statement(parsed, site_, period, shortcuts=False)
    assert fast.source == general.source == "events"
    assert (fast.sql != general.sql) is shortcut
    answer = sorted(rows(loaded, fast.sql, **fast.parameters))
    assert answer == sorted(rows(loaded, general.sql, **general.parameters))
    assert answer, "the query should find something to compare"
