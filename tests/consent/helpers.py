"""Small helpers shared by the consent tests."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient

from samtycke.auth import hash_token

AUDITOR_TOKEN = "auditor-secret-token"
ADMIN_TOKEN = "admin-secret-token"
VERSION = "2026-11-01"

TOKENS = [
    {"name": "auditor", "role": "auditor", "sha256": hash_token(AUDITOR_TOKEN)},
    {"name": "admin", "role": "admin", "sha256": hash_token(ADMIN_TOKEN)},
]
AUDITOR = {"Authorization": f"Bearer {AUDITOR_TOKEN}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


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
