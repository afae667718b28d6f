"""Small helpers shared by the consent tests."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.support.tokens import AUDITOR

VERSION = "2026-11-01"


def choice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_id": 1,
        "decisions": {"preferences": False, "statistics": True, "marketing": False},
        "method": "custom",
        "notice_version": VERSION,
        "lang": "sv",
    }
    body.update(overrides)
    return body


def export_lines(client: TestClient | httpx.Client, **params: Any) -> list[str]:
    response = client.get("/api/v1/audit/export", params=params, headers=AUDITOR)
    assert response.status_code == 200, response.text
    return [line for line in response.text.splitlines() if line.strip()]
