"""The plumbing every request meets: health, readiness, errors, metrics, request ids."""

from __future__ import annotations

import time

from starlette.testclient import TestClient


def test_healthz_and_readyz_report_storage_and_journal(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"]["clickhouse"] == {"ok": True, "mode": "embedded"}
    assert body["checks"]["migrations"]["ok"] is True
    # Start-up journals the consent notices; the shipper drains them within moments.
    deadline = time.monotonic() + 30
    while client.get("/readyz").json()["checks"]["journal"]["backlog_records"]:
        assert time.monotonic() < deadline, "the journal backlog never drained"
        time.sleep(0.05)


def test_unknown_api_path_is_a_json_404_in_the_common_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_unknown_page_is_an_html_404_inside_the_layout(client: TestClient) -> None:
    response = client.get("/nothing-here", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<header class="top">' in response.text and "404" in response.text


def test_every_response_carries_a_request_id_and_echoes_a_sane_one(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 16
    assert client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    hostile = "x;" * 100
    assert client.get("/healthz", headers={"x-request-id": hostile}).headers["x-request-id"] != hostile


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'samtycke_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "samtycke_journal_backlog_records" in text
    assert "samtycke_storage_up 1.0" in text


def test_invented_methods_share_one_metrics_label(client: TestClient) -> None:
    for number in range(50):
        client.request(f"BREW{number}", "/healthz")
    text = client.get("/metrics").text
    assert "BREW" not in text
    assert 'samtycke_http_requests_total{method="(other)",route="/healthz",status="405"} 50.0' in text


def test_metrics_time_the_journals_group_commits(client: TestClient) -> None:
    hits = 3
    for n in range(hits):
        assert client.get(
            "/matomo.php", params={"idsite": 1, "rec": 1, "url": f"http://localhost/{n}"}
        ).is_success
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in client.get("/metrics").text.splitlines()
        if line.startswith("samtycke_journal_commit_")
    }
    commits = values["samtycke_journal_commit_seconds_count"]
    assert commits >= 1
    assert values["samtycke_journal_commit_records_count"] == commits
    assert values["samtycke_journal_commit_records_sum"] >= hits
    assert values["samtycke_journal_commit_seconds_sum"] > 0


def test_start_page_names_storage_mode_sites_and_links(client: TestClient) -> None:
    page = client.get("/?lang=sv").text
    assert "embedded ClickHouse (chDB)" in page
    assert "Demo Energi" in page
    for link in (
        'href="/demo"',
        'href="/dashboard"',
        'href="/audit"',
        'href="/openapi.json"',
        'href="/sites/1/cookies?lang=sv"',
        'href="/sites/1/policy?lang=sv"',
    ):
        assert link in page


def test_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    response = client.post(
        "/login",
        content=b"x" * (1024 * 1024 + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_whole_numbers_are_ascii_digits_only() -> None:
    from samtycke.numbers import is_integer, is_whole_number

    assert is_whole_number("42") and is_integer("-42")
    for text in ("²", "٣", "4²", "", "-", "+1", "1.0"):
        assert not is_whole_number(text), text
        assert not is_integer(text), text
