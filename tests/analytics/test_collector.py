"""The Matomo tracking endpoints, in-process: formats, answers, exclusions and bad input."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from analytics.ingestion.collector import MAX_BULK_INVALID, TRACKER
from tests.analytics.conftest import (
    CHROME,
    GOOGLEBOT,
    AppFactory,
    dropped,
    hit,
    rows,
)

UA = {"user-agent": CHROME}


@pytest.fixture(scope="module")
def client(module_client_factory: AppFactory) -> TestClient:
    # One client sends every invalid hit here, more than a network's budget of refusals allows.
    return module_client_factory(server={"refusals_per_minute": 0})


def count(test_client: TestClient, where: str = "1") -> int:
    return int(rows(test_client, f"SELECT count() FROM events WHERE {where}")[0][0])


def test_get_answers_with_an_uncacheable_gif(client: TestClient) -> None:
    response = client.get(
        "/matomo.php", params=hit(url="http://localhost/gif", action_name="Start"), headers=UA
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.content.startswith(b"GIF89a")
    assert "no-store" in response.headers["cache-control"]
    assert count(client, "pathname = '/gif' AND title = 'Start' AND kind = 'pageview'") == 1


def test_send_image_0_gets_204(client: TestClient) -> None:
    response = client.get("/piwik.php", params=hit(url="http://localhost/s204", send_image=0), headers=UA)
    assert response.status_code == 204
    assert response.content == b""
    assert count(client, "pathname = '/s204'") == 1


def test_post_form(client: TestClient) -> None:
    body = urlencode(hit(url="http://localhost/form", e_c="video", e_a="play", e_v="2.5"))
    response = client.post(
        "/matomo.php",
        content=body,
        headers={**UA, "content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert response.status_code == 200
    found = rows(
        client,
        "SELECT kind, event_category, event_action, event_value, pathname FROM events "
        "WHERE pathname = '/form'",
    )
    assert found == [("event", "video", "play", 2.5, "/form")]


def test_a_handoff_code_in_the_address_is_stored_nowhere(client: TestClient) -> None:
    """A page view sent before the banner took the code out of the address keeps none of it."""
    code = "Hx9cQ2vT7mPz4LkW1aBcDe"
    params = hit(
        url=f"http://localhost/landed?samtycke_handoff={code}&utm_source=news",
        urlref=f"http://shop.example/page?samtycke_handoff={code}",
    )
    assert client.get("/matomo.php", params=params, headers=UA).status_code == 200
    found = rows(client, "SELECT * FROM events WHERE pathname = '/landed'")
    assert len(found) == 1 and found[0][0] is not None
    assert code not in repr(found), found


def test_bulk_json_counts_tracked_and_invalid(client: TestClient) -> None:
    body = {
        "requests": [
            "?" + urlencode(hit(url="http://localhost/bulk-one")),
            "?idsite=999&rec=1&url=http://localhost/",  # unknown site
            {"idsite": 1, "rec": 1, "url": "http://localhost/bulk-two"},
            "?idsite=1&rec=1&e_v=notanumber&url=http://localhost/",
        ]
    }
    response = client.post("/matomo.php", json=body, headers=UA)
    assert response.status_code == 200
    assert response.json() == {"status": "success", "tracked": 2, "invalid": 2, "invalid_indices": [1, 3]}
    found = rows(client, "SELECT pathname FROM events WHERE pathname LIKE '/bulk-%' ORDER BY pathname")
    assert found == [("/bulk-one",), ("/bulk-two",)]


def test_bulk_with_send_image_0_gets_204(client: TestClient) -> None:
    body = {"requests": ["?" + urlencode(hit())], "send_image": 0}
    assert client.post("/matomo.php", json=body, headers=UA).status_code == 204
    assert client.post("/matomo.php?send_image=0", json=body, headers=UA).status_code == 204


@pytest.mark.parametrize(
    "body",
    [b'{"requests": [', b'{"requests": "?idsite=1"}', b'{"requests": ["?idsite=1&rec=1", 5, null]}', b"{}"],
)
def test_malformed_bulk_is_400_listing_what_is_wrong(client: TestClient, body: bytes) -> None:
    response = client.post("/matomo.php", content=body, headers={"accept": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "requests"
    if b"5, null" in body:
        assert error["details"] == {"invalid_indices": [1, 2]}
        assert "1, 2" in error["message"]


def test_bulk_mostly_of_invalid_hits_is_refused_whole_unprocessed(client: TestClient) -> None:
    valid = "?" + urlencode(hit(url="http://localhost/bulk-refused"))
    invalid = ["?rec=1", "?idsite=999&rec=1"] * (MAX_BULK_INVALID // 2) + ["?rec=1"]
    response = client.post(
        "/matomo.php",
        json={"requests": [valid, *invalid, valid]},
        headers={**UA, "accept": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    # Checking stopped at the first invalid entry past the limit, before the last valid one.
    assert error["details"] == {"invalid_indices": list(range(1, MAX_BULK_INVALID + 2))}
    assert rows(client, "SELECT count() FROM events WHERE pathname = '/bulk-refused'") == [(0,)]
    # Up to the limit a bulk is answered as Matomo answers it: its valid hits are tracked.
    response = client.post("/matomo.php", json={"requests": [valid, *invalid[1:]]}, headers=UA)
    assert (response.status_code, response.json()["invalid"]) == (200, MAX_BULK_INVALID)


def test_unknown_site_is_400(client: TestClient) -> None:
    response = client.get("/matomo.php", params=hit(idsite=42), headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "idsite"


def test_foreign_domain_is_dropped_and_counted(client: TestClient) -> None:
    before = dropped(client, "foreign_domain")
    response = client.get("/matomo.php", params=hit(url="https://evil.example/page"), headers=UA)
    assert response.status_code == 200  # the tracker is not told
    assert client.get("/matomo.php", params=hit(url="http://localhost/ok"), headers=UA).status_code == 200
    assert count(client, "hostname = 'evil.example'") == 0
    assert count(client, "pathname = '/ok'") == 1
    assert dropped(client, "foreign_domain") == before + 1


def test_bots_get_the_normal_answer_and_are_not_counted_unless_bots_1(client: TestClient) -> None:
    before = dropped(client, "bot")
    response = client.get(
        "/matomo.php", params=hit(url="http://localhost/bot"), headers={"user-agent": GOOGLEBOT}
    )
    assert response.status_code == 200 and response.content.startswith(b"GIF")
    assert dropped(client, "bot") == before + 1
    client.get(
        "/matomo.php", params=hit(url="http://localhost/bot", bots=1), headers={"user-agent": GOOGLEBOT}
    )
    assert rows(client, "SELECT device, browser FROM events WHERE pathname = '/bot'") == [
        ("Bot", "Googlebot")
    ]


def test_without_rec_nothing_is_recorded(client: TestClient) -> None:
    before = dropped(client, "not_recorded")
    assert client.get("/matomo.php", params={"idsite": "1", "url": "http://localhost/"}).status_code == 200
    assert dropped(client, "not_recorded") == before + 1
    bare = client.get("/matomo.php")
    assert bare.status_code == 200 and "Matomo" in bare.text


def test_tracker_script_is_served_as_javascript(client: TestClient) -> None:
    response = client.get("/matomo.js")
    assert response.status_code == 200
    assert response.content == TRACKER.read_bytes()
    # RFC 9239 makes text/javascript the one JavaScript media type.
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age" in response.headers["cache-control"]
    assert client.get("/piwik.js").content == response.content


def test_cors_preflight_and_credentials(client: TestClient) -> None:
    origin = {"origin": "http://localhost:3000"}
    preflight = client.options("/matomo.php", headers={**origin, "access-control-request-method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    response = client.get("/matomo.php", params=hit(), headers={**UA, **origin})
    assert response.headers["access-control-allow-credentials"] == "true"


FORM = {"content-type": "application/x-www-form-urlencoded"}
TRACKING_REQUESTS = {
    "gif": ("GET", {"params": hit(url="http://localhost/cors")}),
    "no image": ("GET", {"params": hit(url="http://localhost/cors", send_image=0)}),
    "form": ("POST", {"content": urlencode(hit(url="http://localhost/cors")), "headers": FORM}),
    "bulk": ("POST", {"json": {"requests": ["?" + urlencode(hit(url="http://localhost/cors"))]}}),
    "bulk no image": ("POST", {"json": {"requests": [], "send_image": 0}}),
    "note": ("GET", {}),
    "preflight": ("OPTIONS", {"headers": {"access-control-request-method": "POST"}}),
}


@pytest.mark.parametrize(("method", "options"), TRACKING_REQUESTS.values(), ids=TRACKING_REQUESTS.keys())
def test_cors_is_open_only_to_the_sites_domains(
    client: TestClient, method: str, options: dict[str, Any]
) -> None:
    """A page on one of the site's domains may read the answer, with credentials; another origin may not."""

    def send(origin: str) -> httpx.Response:
        headers = {**UA, **options.get("headers", {}), "origin": origin}
        return client.request(method, "/matomo.php", **{**options, "headers": headers})

    own, foreign = send("https://www.samtycke.test:8443"), send("https://evil.example")
    assert own.is_success and foreign.status_code == own.status_code
    assert own.headers["access-control-allow-origin"] == "https://www.samtycke.test:8443"
    assert own.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-credentials" not in foreign.headers
    assert own.headers["vary"] == foreign.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"idsite=1&rec=1&url=http://localhost/" + b"a" * 9000, "url"),
        (b"idsite=1&rec=1&url=http://localhost/%ff%fe", "url"),
        (b"idsite=1&rec=1&url=http://localhost/\xff", "query"),
        (b"idsite=99999999999999999999999&rec=1", "idsite"),
        (b"idsite=-1&rec=1", "idsite"),
        (b"idsite=1&rec=1&e_v=1e400", "e_v"),
        (b"idsite=1&rec=1&revenue=-1e300", "revenue"),
        (b"idsite=1&rec=1&search_count=-5", "search_count"),
        (b"idsite=1&rec=1&cdt=99999999999999", "cdt"),
        (b"idsite=1&rec=1&ping=2", "ping"),
        (b"idsite=1&rec=1&cid=nothex", "cid"),
        (b"idsite=1&rec=1&dimension0=x", "dimension0"),
        (b"rec=1&url=http://localhost/", "idsite"),
    ],
)
def test_bad_input_is_400_naming_the_field(client: TestClient, query: bytes, field: str) -> None:
    response = client.get("/matomo.php?" + query.decode("latin-1"), headers={"accept": "application/json"})
    if b"\xff" in query and b"%" not in query:
        # Raw bytes above 0x7f cannot be sent through httpx's URL; send them as a form body.
        response = client.post(
            "/matomo.php",
            content=query,
            headers={"accept": "application/json", "content-type": "application/x-www-form-urlencoded"},
        )
        field = "body"
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


def test_tracking_errors_and_metrics_are_the_apps(client: TestClient) -> None:
    """Tracking requests skip the router, not the error pages, request ids or metrics."""
    page = client.get("/matomo.php?idsite=abc", headers={"accept": "text/html"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "idsite" in page.text
    assert page.headers["x-request-id"]
    assert client.request("DELETE", "/matomo.php").status_code == 405
    assert client.options("/matomo.php", headers={"origin": "http://localhost"}).status_code == 204
    assert client.get("/piwik.php", params=hit(url="http://localhost/p"), headers=UA).is_success
    metrics = client.get("/metrics").text
    # Each path is named by its own route template, in the log and the metrics.
    assert 'samtycke_http_requests_total{method="GET",route="/matomo.php",status="400"}' in metrics
    assert 'samtycke_http_requests_total{method="GET",route="/piwik.php",status="200"}' in metrics


def test_a_huge_body_is_413(client: TestClient) -> None:
    response = client.post("/matomo.php", content=b"idsite=1&url=" + b"x" * 2_000_000)
    assert response.status_code == 413


PARAMETER_NAMES = st.sampled_from(
    [
        "idsite",
        "rec",
        "url",
        "urlref",
        "action_name",
        "_id",
        "cid",
        "uid",
        "cdt",
        "e_v",
        "e_c",
        "e_a",
        "idgoal",
        "revenue",
        "search_count",
        "ping",
        "bots",
        "send_image",
        "res",
        "uadata",
        "dimension1",
        "dimension1000",
        "new_visit",
        "cip",
        "token_auth",
        "lang",
        "ua",
        "x",
    ]
)
PARAMETER_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1", "0", "http://localhost/a", "https://evil.example/", "{}", "[1]", "1x1"]),
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(PARAMETER_NAMES, PARAMETER_VALUES, max_size=8), post=st.booleans())
def test_fuzzed_parameters_never_cause_a_server_error(
    client: TestClient, params: dict[str, str], post: bool
) -> None:
    encoded = urlencode(params)
    if post:
        response = client.post(
            "/matomo.php", content=encoded, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    else:
        response = client.get("/matomo.php?" + encoded)
    assert response.status_code in (200, 204, 400), response.text


def test_endpoints_are_described_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/matomo.php"])
    body = paths["/api/v1/stats/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["site_id", "metrics", "date_range"]
    assert {"get", "delete"} <= set(paths["/api/v1/visitors/{visitor_id}"])
    assert "/matomo.js" in paths


def test_the_visits_held_in_memory_stop_at_the_configured_number(make_client: AppFactory) -> None:
    test_client = make_client(analytics={"visits_in_memory": 100})

    for n in range(130):  # each from its own address: a new visitor
        forwarded = {**UA, "x-forwarded-for": f"198.51.100.{n}"}
        assert test_client.get("/matomo.php", params=hit(), headers=forwarded).status_code == 200

    metrics = test_client.get("/metrics").text
    assert "samtycke_visits_tracked_in_memory 100.0" in metrics
