"""Times outside ClickHouse's range are the caller's mistake: 422, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN, AUDITOR, token_entries


@pytest.mark.parametrize("before", ["0001-01-01T00:00:00Z", "1899-12-31T23:59:59Z"])
def test_purge_before_an_impossible_time_is_422(make_settings: Callable[..., Settings], before: str) -> None:
    settings = make_settings(tokens=token_entries("admin"))
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        wait_ready(client)
        response = client.post("/api/v1/audit/purge", params={"before": before}, headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "before"
        fine = client.post(
            "/api/v1/audit/purge",
            params={"before": "2020-01-01T00:00:00Z"},
            headers=ADMIN,
        )
        assert fine.status_code == 200 and fine.json()["purged"] == 0


@pytest.mark.parametrize("query", [{"to": "²"}, {"from": "٣"}, {"from": "1", "to": "x²"}])
def test_export_ranges_with_unicode_digits_are_422(
    make_settings: Callable[..., Settings], query: dict[str, str]
) -> None:
    settings = make_settings(tokens=token_entries("auditor"))
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        wait_ready(client)
        response = client.get("/api/v1/audit/export", params=query, headers=AUDITOR)
        assert response.status_code == 422
