"""Goals and saved funnels managed through the API, on chDB and on ClickHouse over HTTP.

Stored goals count in the goal reports from the moment they are made, changed or deleted,
checked against plain SQL over the stored events; goals of the configuration file are listed
read-only; every change lands in the change record auditors read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import loading as configfile
from tests.analytics.conftest import CHROME, IPHONE, LONG_RETENTION_MONTHS, hit, rows, site, start_client
from tests.support.config import deep_merge, demo_raw, unique_database
from tests.support.tokens import ADMIN_TOKEN, AUDITOR_TOKEN, MARKETER_TOKEN, TOKENS

CONFIGURED = [{"id": 7, "name": "Köp", "page": "/tack*"}]
NOVEMBER = ["2026-11-01", "2026-11-30"]
# (address, user agent, UTC time, extra parameters)
HITS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("81.230.1.1", CHROME, "2026-11-10 10:00:00", {"url": "http://localhost/kontakt"}),
    ("81.230.1.1", CHROME, "2026-11-10 10:01:00", {"url": "http://localhost/kontakt/skickat"}),
    ("81.230.1.2", IPHONE, "2026-11-11 09:00:00", {"url": "http://localhost/kontakt"}),
    ("81.230.1.3", CHROME, "2026-11-12 12:00:00", {"url": "http://localhost/tack"}),
    (
        "81.230.1.3",
        CHROME,
        "2026-11-12 12:01:00",
        {"url": "http://localhost/", "e_c": "video", "e_a": "play"},
    ),
    (
        "81.230.1.4",
        IPHONE,
        "2026-11-13 15:00:00",
        {"url": "http://localhost/", "e_c": "video", "e_a": "play"},
    ),
    (
        "81.230.1.4",
        IPHONE,
        "2026-11-13 15:02:00",
        {"url": "http://localhost/", "e_c": "video", "e_a": "stop"},
    ),
    ("81.230.1.5", CHROME, "2026-11-14 08:00:00", {"url": "http://localhost/pris"}),
]
MARKETER = {"authorization": f"Bearer {MARKETER_TOKEN}"}
AUDITOR = {"authorization": f"Bearer {AUDITOR_TOKEN}"}
GOALS = "/api/v1/sites/1/goals"
FUNNELS = "/api/v1/sites/1/funnels"


@pytest.fixture(scope="module", params=["chdb", "http"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chdb_path: Path
) -> Iterator[TestClient]:
    database = unique_database()
    if request.param == "chdb":
        url = f"chdb://{chdb_path}"
    else:
        url = f"{request.getfixturevalue('clickhouse_http').url}/{database}"
    raw = deep_merge(
        demo_raw(tokens=TOKENS, sites=[site(retention_months=LONG_RETENTION_MONTHS, goals=CONFIGURED)]),
        {
            "storage": {
                "clickhouse_url": url,
                "database": database,
                "data_dir": str(tmp_path_factory.mktemp("managed") / "data"),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["test-key-1"]},
        },
    )
    test_client = start_client(configfile.from_mapping(raw), "127.0.0.1")
    for address, agent, at, extra in HITS:
        params = hit(cip=address, cdt=at, token_auth=ADMIN_TOKEN, **extra)
        assert test_client.get("/matomo.php", params=params, headers={"user-agent": agent}).status_code == 200
    assert rows(test_client, "SELECT count() FROM events") == [(len(HITS),)]
    yield test_client
    test_client.__exit__(None, None, None)


@pytest.fixture
def clean(client: TestClient) -> Iterator[TestClient]:
    """Each test starts and ends with no stored goals or funnels."""
    yield client
    for funnel in client.get(FUNNELS, headers=MARKETER).json()["funnels"]:
        assert client.delete(f"{FUNNELS}/{funnel['id']}", headers=MARKETER).status_code == 200
    for goal in client.get(GOALS, headers=MARKETER).json()["goals"]:
        if goal["source"] == "stored":
            assert client.delete(f"{GOALS}/{goal['id']}", headers=MARKETER).status_code == 200


def create(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=MARKETER)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def conversions(client: TestClient) -> dict[str, tuple[int, int]]:
    """Goal name -> (visitors, events) from the stats API."""
    body = {
        "site_id": 1,
        "metrics": ["visitors", "events"],
        "dimensions": ["event:goal"],
        "date_range": NOVEMBER,
    }
    response = client.post("/api/v1/stats/query", json=body, headers=MARKETER)
    assert response.status_code == 200, response.text
    return {
        r["dimensions"][0]: (int(r["metrics"][0]), int(r["metrics"][1])) for r in response.json()["results"]
    }


def plain(client: TestClient, where: str) -> tuple[int, int]:
    """(visitors, hits) of site 1 in November matching ``where``, in plain SQL."""
    found = rows(
        client,
        "SELECT uniqExact(visitor_id), count() FROM events WHERE site_id = 1 "
        f"AND timestamp >= '2026-10-31 23:00:00' AND timestamp < '2026-11-30 23:00:00' AND ({where})",
    )
    return int(found[0][0]), int(found[0][1])


def test_a_new_goal_counts_at_once_also_over_past_data_and_follows_each_change(clean: TestClient) -> None:
    assert "Kontakt" not in conversions(clean)
    created = create(clean, GOALS, {"name": "Kontakt", "page": "/kontakt*"})
    assert created["id"] > 7  # above the configured goal's, and any goal the site had before
    goal = f"{GOALS}/{created['id']}"
    assert created["source"] == "stored" and created["created_by"] == "marketer"
    assert "before it was created" in created["backfill"]
    kontakt = plain(clean, "kind = 'pageview' AND pathname LIKE '/kontakt%'")
    assert kontakt == (2, 3)
    assert conversions(clean)["Kontakt"] == kontakt
    assert conversions(clean)["Köp"] == plain(clean, "kind = 'pageview' AND pathname LIKE '/tack%'")

    changed = clean.put(goal, json={"name": "Video", "event_category": "video", "event_action": "play"},
                        headers=MARKETER)  # fmt: skip
    assert changed.status_code == 200, changed.text
    answer = conversions(clean)
    assert "Kontakt" not in answer
    assert answer["Video"] == plain(
        clean, "kind = 'event' AND event_category = 'video' AND event_action = 'play'"
    )

    assert clean.delete(goal, headers=MARKETER).status_code == 200
    assert "Video" not in conversions(clean)
    assert clean.get(goal, headers=MARKETER).status_code == 404


def test_stored_goals_filter_and_feed_funnels_and_their_revenue(clean: TestClient) -> None:
    create(clean, GOALS, {"name": "Kontakt", "page": "/kontakt*", "revenue": 12.5})
    body = {
        "site_id": 1,
        "metrics": ["visitors"],
        "date_range": NOVEMBER,
        "filters": [["is", "event:goal", ["Kontakt"]]],
    }
    response = clean.post("/api/v1/stats/query", json=body, headers=MARKETER)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["metrics"] == [2]
    revenue = {"site_id": 1, "metrics": ["revenue"], "dimensions": ["event:goal"], "date_range": NOVEMBER}
    response = clean.post("/api/v1/stats/query", json=revenue, headers=MARKETER)
    assert response.status_code == 200, response.text
    by_goal = {r["dimensions"][0]: r["metrics"][0] for r in response.json()["results"]}
    # Three contact pageviews that send no revenue, each at the goal's default.
    assert by_goal["Kontakt"] == pytest.approx(
        plain(clean, "pathname LIKE '/kontakt%' AND kind = 'pageview'")[1] * 12.5
    )
    funnel = {
        "site_id": 1,
        "date_range": NOVEMBER,
        "within": "visit",
        "steps": [{"page": "/"}, {"goal": "Kontakt"}],
    }
    response = clean.post("/api/v1/stats/funnel", json=funnel, headers=MARKETER)
    assert response.status_code == 200, response.text
    assert response.json()["steps"][0]["definition"] == {"page": "/"}


def test_configured_goals_are_listed_read_only(clean: TestClient) -> None:
    listed = clean.get(GOALS, headers=AUDITOR)
    assert listed.status_code == 200
    assert listed.json()["goals"] == [
        {
            "id": 7, "name": "Köp", "page": "/tack*", "event_category": "", "event_action": "",
            "event_name": "", "revenue": 0.0, "source": "config", "created_by": None, "created_at": None,
            "updated_by": None, "updated_at": None,
        }
    ]  # fmt: skip
    for call in (
        clean.put(f"{GOALS}/7", json={"name": "Köp", "page": "/köp*"}, headers=MARKETER),
        clean.delete(f"{GOALS}/7", headers=MARKETER),
    ):
        assert call.status_code == 409
        assert call.json()["error"]["code"] == "read_only"
        assert "configuration file" in call.json()["error"]["message"]
    assert clean.get(f"{GOALS}/7", headers=AUDITOR).json()["source"] == "config"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "A", "page": "kontakt"}, "page"),
        ({"name": "A", "page": "/a b"}, "page"),
        ({"name": "A", "event_action": "play"}, "event_category"),
        ({"name": "A", "revenue": -1}, "revenue"),
        ({"name": "A", "revenue": "5"}, "revenue"),
        ({"name": "A", "id": 0}, "id"),
        ({"name": "A", "colour": "red"}, "colour"),
        (b'{"name": "A\\ud800"}', "body"),  # a lone surrogate: valid JSON, not UTF-8 text
        ({"name": "A", "page": "/a\u0000"}, "page"),
        ([], "body"),
    ],
)
def test_bad_goals_are_400_naming_the_member(clean: TestClient, body: Any, field: str) -> None:
    sent = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = clean.post(GOALS, headers=MARKETER, **sent)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_conflicts_and_unknowns(clean: TestClient) -> None:
    assert clean.post(GOALS, content=b"{", headers=MARKETER).status_code == 400
    assert clean.post("/api/v1/sites/99/goals", json={"name": "A"}, headers=MARKETER).status_code == 404
    assert clean.get("/api/v1/sites/x/goals", headers=MARKETER).status_code == 404
    assert clean.put(f"{GOALS}/123", json={"name": "A"}, headers=MARKETER).status_code == 404
    assert clean.delete(f"{FUNNELS}/abc", headers=MARKETER).status_code == 404
    assert (
        clean.post(GOALS, json={"name": "köp"}, headers=MARKETER).status_code == 409
    )  # the file's, any case
    assert clean.post(GOALS, json={"name": "A", "id": 7}, headers=MARKETER).status_code == 409
    create(clean, GOALS, {"name": "A", "id": 400})
    assert clean.post(GOALS, json={"name": "a"}, headers=MARKETER).status_code == 409
    assert clean.post(GOALS, json={"name": "B", "id": 400}, headers=MARKETER).status_code == 409
    assert create(clean, GOALS, {"name": "B"})["id"] == 401
    renamed = clean.put(f"{GOALS}/401", json={"name": "A"}, headers=MARKETER)
    assert renamed.status_code == 409 and renamed.json()["error"]["field"] == "name"


def test_saved_funnels_round_trip_into_the_funnel_query(clean: TestClient) -> None:
    goal = f"{GOALS}/{create(clean, GOALS, {'name': 'Kontakt', 'page': '/kontakt*'})['id']}"
    steps = [{"page": "/kontakt"}, {"event": {"category": "video"}, "label": "Video"}, {"goal": "Kontakt"}]
    created = create(clean, FUNNELS, {"name": "Kontaktvägen", "steps": steps, "within": "24h"})
    listed = clean.get(FUNNELS, headers=AUDITOR).json()["funnels"]
    assert listed == [created]
    assert set(created) == {
        "id", "name", "steps", "within", "source", "created_by", "created_at", "updated_by", "updated_at",
    }  # fmt: skip
    assert created["steps"] == steps and created["within"] == "24h"
    query = {"site_id": 1, "date_range": NOVEMBER, "steps": created["steps"], "within": created["within"]}
    response = clean.post("/api/v1/stats/funnel", json=query, headers=MARKETER)
    assert response.status_code == 200, response.text

    # A goal a saved funnel uses can be neither renamed nor deleted.
    assert clean.delete(goal, headers=MARKETER).status_code == 409
    assert clean.put(goal, json={"name": "Annat"}, headers=MARKETER).status_code == 409
    changed = clean.put(
        f"{FUNNELS}/{created['id']}",
        json={"name": "Kortare", "steps": steps[:2], "within": "visit"},
        headers=MARKETER,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["created_at"] == created["created_at"]
    assert clean.get(f"{FUNNELS}/{created['id']}", headers=AUDITOR).json()["name"] == "Kortare"
    assert clean.delete(goal, headers=MARKETER).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": [{"page": "/"}, {"page": "/a"}], "within": "visit"}, "name"),
        ({"name": "F", "steps": [{"page": "/"}], "within": "visit"}, "steps"),
        ({"name": "F", "steps": [{"page": "/"}] * 9, "within": "visit"}, "steps"),
        ({"name": "F", "steps": [{"page": "/"}, {"goal": "Ingen"}], "within": "visit"}, "steps[1].goal"),
        ({"name": "F", "steps": [{"page": "/"}, {"event": {}}], "within": "visit"}, "steps[1].event"),
        ({"name": "F", "steps": [{"page": "/"}, {"page": "/a"}], "within": "91d"}, "within"),
        (b'{"name": "F", "steps": [{"page": "/"}, {"page": "/a\\udc00"}], "within": "visit"}', "body"),
    ],
)
def test_bad_funnels_are_400_naming_the_member(clean: TestClient, body: Any, field: str) -> None:
    sent = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = clean.post(FUNNELS, headers=MARKETER, **sent)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_duplicate_funnel_names_are_409(clean: TestClient) -> None:
    body = {"name": "Tratt", "steps": [{"page": "/"}, {"page": "/pris"}], "within": "visit"}
    create(clean, FUNNELS, body)
    assert clean.post(FUNNELS, json={**body, "name": "TRATT"}, headers=MARKETER).status_code == 409


def test_auditors_read_and_anonymous_callers_get_nothing(clean: TestClient) -> None:
    assert clean.get(GOALS).status_code == 401
    assert clean.get(FUNNELS).status_code == 401
    assert clean.post(GOALS, json={"name": "A"}).status_code == 401
    assert clean.post(GOALS, json={"name": "A"}, headers=AUDITOR).status_code == 403
    assert clean.get(GOALS, headers=AUDITOR).status_code == 200
    admin = clean.post(GOALS, json={"name": "Admins"}, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert admin.status_code == 201


def test_every_change_is_in_the_record_with_before_and_after(clean: TestClient) -> None:
    goal_id = create(clean, GOALS, {"name": "Kontakt", "page": "/kontakt*"})["id"]
    changed = clean.put(
        f"{GOALS}/{goal_id}", json={"name": "Kontakt", "page": "/kontakta*"}, headers=MARKETER
    )
    assert changed.status_code == 200
    assert clean.delete(f"{GOALS}/{goal_id}", headers=MARKETER).status_code == 200
    response = clean.get("/api/v1/audit/accounts", headers=AUDITOR)
    assert response.status_code == 200, response.text
    mine = [e for e in response.json()["events"] if e["target"] == f"site 1 goal {goal_id}"][:3]
    assert [e["action"] for e in mine] == ["delete_goal", "update_goal", "create_goal"]
    assert {e["actor"] for e in mine} == {"marketer"}
    update = json.loads(mine[1]["detail"])
    assert update["before"]["page"] == "/kontakt*" and update["after"]["page"] == "/kontakta*"
    assert json.loads(mine[0]["detail"])["after"] is None
    assert json.loads(mine[2]["detail"])["before"] is None
