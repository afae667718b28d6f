"""The funnel API against an independent reading of the raw events, in Python.

The hits tell a story with repeated steps, steps out of order, visits that cross the
site's midnight, recognised (consented tracker id) and cookieless visitors; the oracle
below follows the funnel's definition over the stored rows without ClickHouse's
``windowFunnel``: per journey (a visit; or, for a recognised visitor with a window, all
their hits), the longest chain of hits matching the steps in order, each strictly later
than the one before and the last within the window of the first.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import loading as configfile
from tests.analytics.conftest import CHROME, IPHONE, LONG_RETENTION_MONTHS, hit, rows, site, start_client
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.tokens import ADMIN_TOKEN, AUDITOR_TOKEN, MARKETER_TOKEN, TOKENS

GOALS = [{"id": 7, "name": "Köp", "page": "/tack*"}]
PRODUCT = {"page": "/produkter*"}
ADD = {"event": {"category": "shop", "action": "add"}}
BOUGHT = {"goal": "Köp"}
STEPS: list[dict[str, Any]] = [PRODUCT, ADD, BOUGHT]
FIRST, SECOND = "0123456789abcdef", "fedcba9876543210"  # consented tracker ids

# (who, UTC time, extra parameters); who is (address, user agent, tracker id or "").
A = ("81.230.1.1", CHROME, "")  # in order, within one visit
B = ("81.230.1.2", CHROME, "")  # out of order: bought, added, then looked
C = ("81.230.1.3", IPHONE, "")  # repeats every step
D = ("81.230.1.4", CHROME, FIRST)  # recognised: looks before midnight, adds after, buys days later
E = ("81.230.1.5", IPHONE, "")  # cookieless: looks before midnight, adds after
F = ("81.230.1.6", IPHONE, SECOND)  # recognised: two visits on one day
G = ("193.10.1.1", CHROME, "")  # adds first, then looks and buys: the chain starts at the look
HITS: list[tuple[tuple[str, str, str], str, dict[str, Any]]] = [
    (A, "2026-11-10 10:00:00", {"url": "http://localhost/produkter/a"}),
    (A, "2026-11-10 10:05:00", {"url": "http://localhost/produkter/a", "e_c": "shop", "e_a": "add"}),
    (A, "2026-11-10 10:10:00", {"url": "http://localhost/tack"}),
    (B, "2026-11-10 11:00:00", {"url": "http://localhost/tack"}),
    (B, "2026-11-10 11:01:00", {"url": "http://localhost/", "e_c": "shop", "e_a": "add"}),
    (B, "2026-11-10 11:02:00", {"url": "http://localhost/produkter/b"}),
    (C, "2026-11-10 12:00:00", {"url": "http://localhost/produkter/a"}),
    (C, "2026-11-10 12:01:00", {"url": "http://localhost/produkter/b"}),
    (C, "2026-11-10 12:02:00", {"url": "http://localhost/produkter/b", "e_c": "shop", "e_a": "add"}),
    (C, "2026-11-10 12:03:00", {"url": "http://localhost/produkter/b", "e_c": "shop", "e_a": "add"}),
    (C, "2026-11-10 12:04:00", {"url": "http://localhost/produkter/c"}),
    (C, "2026-11-10 12:05:00", {"url": "http://localhost/tack"}),
    (C, "2026-11-10 12:06:00", {"url": "http://localhost/tack"}),
    (D, "2026-11-12 22:50:00", {"url": "http://localhost/produkter/a"}),  # 23:50 in Stockholm
    (D, "2026-11-12 23:10:00", {"url": "http://localhost/", "e_c": "shop", "e_a": "add"}),  # 00:10
    (D, "2026-11-15 09:00:00", {"url": "http://localhost/tack"}),
    (E, "2026-11-12 22:55:00", {"url": "http://localhost/produkter/a"}),
    (E, "2026-11-12 23:05:00", {"url": "http://localhost/", "e_c": "shop", "e_a": "add"}),
    (F, "2026-11-13 09:00:00", {"url": "http://localhost/produkter/x"}),
    (F, "2026-11-13 09:05:00", {"url": "http://localhost/", "e_c": "shop", "e_a": "add"}),
    (F, "2026-11-13 09:50:00", {"url": "http://localhost/tack"}),  # 45 idle minutes: a new visit
    (G, "2026-11-14 08:00:00", {"url": "http://localhost/", "e_c": "shop", "e_a": "add"}),
    (G, "2026-11-14 08:01:00", {"url": "http://localhost/produkter/z"}),
    (G, "2026-11-14 08:02:00", {"url": "http://localhost/produkter/z", "e_c": "shop", "e_a": "add"}),
    (G, "2026-11-14 08:03:00", {"url": "http://localhost/tack/igen"}),
]


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
        demo_raw(tokens=TOKENS, sites=[site(retention_months=LONG_RETENTION_MONTHS, goals=GOALS)]),
        {
            "storage": {
                "clickhouse_url": url,
                "database": database,
                "data_dir": str(tmp_path_factory.mktemp("funnel") / "data"),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["test-key-1"]},
        },
    )
    test_client = start_client(configfile.from_mapping(raw), "127.0.0.1")
    for (address, agent, tracker), at, extra in HITS:
        params = hit(cip=address, cdt=at, token_auth=ADMIN_TOKEN, **extra)
        if tracker:
            params.update(_id=tracker, consent="1")
        assert test_client.get("/matomo.php", params=params, headers={"user-agent": agent}).status_code == 200
    assert rows(test_client, "SELECT count() FROM events") == [(len(HITS),)]
    yield test_client
    test_client.__exit__(None, None, None)


def ask(test_client: TestClient, token: str | None = MARKETER_TOKEN, **body: Any) -> Any:
    document = {"site_id": 1, "date_range": "all", "within": "visit", "steps": STEPS, **body}
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return test_client.post("/api/v1/stats/funnel", json=document, headers=headers)


def reached(test_client: TestClient, **body: Any) -> list[int]:
    response = ask(test_client, **body)
    assert response.status_code == 200, response.text
    return [step["visitors"] for step in response.json()["steps"]]


# -- the oracle ----------------------------------------------------------------------------------------


def matches(step: dict[str, Any], row: dict[str, Any]) -> bool:
    if "page" in step:
        pattern = "".join(
            ".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", step["page"])
        )
        return row["kind"] == "pageview" and re.fullmatch(pattern, row["pathname"]) is not None
    if "event" in step:
        wanted = step["event"]
        return row["kind"] == "event" and all(row[f"event_{key}"] == value for key, value in wanted.items())
    goal = next(g for g in GOALS if g["name"] == step["goal"])
    return row["goal_id"] == goal["id"] or matches({"page": goal["page"]}, row)


def longest_chain(hits: list[dict[str, Any]], steps: list[dict[str, Any]], window_ms: int) -> int:
    """From each hit of the first step, take the earliest later hit of each next step."""
    ordered = sorted(hits, key=lambda row: row["ms"])
    best = 0
    for start in (row for row in ordered if matches(steps[0], row)):
        level, last = 1, start["ms"]
        for step in steps[1:]:
            following = next(
                (row for row in ordered if row["ms"] > last and matches(step, row)),
                None,
            )
            if following is None or following["ms"] - start["ms"] > window_ms:
                break
            level, last = level + 1, following["ms"]
        best = max(best, level)
    return best


def expected(test_client: TestClient, steps: list[dict[str, Any]], window_ms: int | None) -> list[int]:
    columns = ["visitor_id", "identified", "visit_id", "ms", "kind", "pathname"]
    columns += ["event_category", "event_action", "event_name", "goal_id"]
    stored = rows(
        test_client,
        "SELECT visitor_id, identified, visit_id, toUnixTimestamp64Milli(timestamp), kind, pathname,"
        " event_category, event_action, event_name, goal_id FROM events WHERE site_id = 1",
    )
    journeys: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for values in stored:
        row = dict(zip(columns, values, strict=True))
        across_visits = window_ms is not None and row["identified"] == 1
        journeys[(row["visitor_id"], 0 if across_visits else row["visit_id"])].append(row)
    level: dict[int, int] = defaultdict(int)
    span = window_ms if window_ms is not None else 25 * 3600 * 1000
    for (visitor, _), hits in journeys.items():
        level[visitor] = max(level[visitor], longest_chain(hits, steps, span))
    return [sum(1 for v in level.values() if v >= n) for n in range(1, len(steps) + 1)]


# -- answers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("within", "window_ms", "story"),
    [
        # A, C and G convert (G's chain starts at the look, not the first add); B only looked
        # (out of order); D's and E's visits end at midnight; F buys in a second visit.
        ("visit", None, [7, 4, 3]),
        # D and F are recognised: D's add after midnight joins the look 20 minutes before, F's
        # two visits join within the hour; E is cookieless and stays within one visit.
        ("1h", 3_600_000, [7, 5, 4]),
        ("24h", 86_400_000, [7, 5, 4]),
        # D buys within a week.
        ("7d", 7 * 86_400_000, [7, 5, 5]),
    ],
)
def test_funnel_matches_the_raw_events(
    loaded: TestClient, within: str, window_ms: int | None, story: list[int]
) -> None:
    assert expected(loaded, STEPS, window_ms) == story
    assert reached(loaded, within=within) == story


def test_the_answer_has_conversions_dropoffs_and_says_how_visitors_were_followed(loaded: TestClient) -> None:
    response = ask(loaded, within="24h", date_range=["2026-11-01", "2026-11-30"])
    assert response.status_code == 200, response.text
    body = response.json()
    steps = [
        tuple(s[key] for key in ("label", "visitors", "recognised_visitors", "cookieless_visitors"))
        + tuple(s[key] for key in ("conversion_rate", "conversion_rate_step", "dropoff", "dropoff_rate"))
        for s in body["steps"]
    ]
    assert steps == [
        ("/produkter*", 7, 2, 5, 100, 100, 0, 0),
        ("shop / add", 5, 2, 3, 71.43, 71.43, 2, 28.57),
        ("Köp", 4, 1, 3, 57.14, 80, 1, 20),
    ]
    counting = body["meta"]["counting"]
    assert counting["recognised_visitors"] == "across visits within the window"
    assert counting["cookieless_visitors"] == "within one visit"
    assert set(counting["note"]) == {"sv", "en"}
    assert body["query"]["date_range"] == ["2026-11-01", "2026-11-30"]
    assert body["query"]["within"] == "24h"


def test_a_range_cuts_the_steps_outside_it(loaded: TestClient) -> None:
    # Only 2026-11-13 (Stockholm): E's add at 00:05 and D's at 00:10 have no look that day; F converts.
    steps = [{"page": "/produkter*"}, {"page": "/tack*"}]
    assert reached(loaded, date_range=["2026-11-13", "2026-11-13"], within="7d", steps=steps) == [1, 1]
    assert reached(loaded, date_range=["2026-11-13", "2026-11-13"], within="visit", steps=steps) == [1, 0]


def test_event_steps_take_any_subset_and_pages_take_wildcards(loaded: TestClient) -> None:
    steps: list[dict[str, Any]] = [{"event": {"action": "add"}}, {"page": "/tack/*"}]
    assert reached(loaded, steps=steps) == expected(loaded, steps, None) == [7, 1]
    steps = [{"page": "/"}, {"event": {"category": "shop"}}, {"page": "/produkter/?"}]
    # "?" is a plain character, "*" the only wildcard.
    assert reached(loaded, steps=steps) == expected(loaded, steps, None) == [0, 0, 0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": [PRODUCT]}, "steps"),
        ({"steps": [PRODUCT] * 9}, "steps"),
        ({"steps": "nope"}, "steps"),
        ({"steps": [PRODUCT, {"page": "/a", "goal": "Köp"}]}, "steps[1]"),
        ({"steps": [PRODUCT, {}]}, "steps[1]"),
        ({"steps": [PRODUCT, {"event": {}}]}, "steps[1].event"),
        ({"steps": [PRODUCT, {"event": {"category": "x", "value": 3}}]}, "steps[1].event"),
        ({"steps": [PRODUCT, {"event": {"category": 3}}]}, "steps[1].event.category"),
        ({"steps": [PRODUCT, {"page": ""}]}, "steps[1].page"),
        ({"steps": [PRODUCT, {"page": "/" + "a" * 600}]}, "steps[1].page"),
        ({"steps": [PRODUCT, {"goal": "Nobody's goal"}]}, "steps[1].goal"),
        ({"steps": [PRODUCT, {"page": "/a", "colour": "red"}]}, "steps[1]"),
        ({"within": "session"}, "within"),
        ({"within": "91d"}, "within"),
        ({"within": "0h"}, "within"),
        ({"within": 3600}, "within"),
        ({"date_range": "fortnight"}, "date_range"),
        ({"site_id": 99}, "site_id"),
        ({"filters": []}, "filters"),
    ],
)
def test_bad_funnels_are_400_naming_the_member(loaded: TestClient, body: dict[str, Any], field: str) -> None:
    response = ask(loaded, **body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_not_json_and_not_an_object_are_400(loaded: TestClient) -> None:
    headers = {"authorization": f"Bearer {MARKETER_TOKEN}", "content-type": "application/json"}
    for body in (b"{", b"[]", b""):
        response = loaded.post("/api/v1/stats/funnel", content=body, headers=headers)
        assert response.status_code == 400, body


def test_only_marketers_and_admins_may_ask(loaded: TestClient) -> None:
    assert ask(loaded, token=None).status_code == 401
    assert ask(loaded, token=AUDITOR_TOKEN).status_code == 403
    assert ask(loaded, token=ADMIN_TOKEN).status_code == 200
