"""Resource bounds at the edge: every request costs a bounded amount, and bad input is a 4xx.

The app runs in-process on a real embedded ClickHouse; each abuse case is sent as a
client would send it and must get a clear 4xx (never a 500), one log line and no lasting
memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import MARKETER, TOKENS

CHOICE = {
    "site_id": 1,
    "decisions": {"preferences": False, "statistics": True, "marketing": False},
    "method": "custom",
    "notice_version": "2026-11-01",
    "lang": "sv",
}
QUERY = {"site_id": 1, "metrics": ["visitors"], "date_range": "7d"}
HIT: dict[str, Any] = {"idsite": 1, "rec": 1, "url": "http://localhost/bounds"}


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, chdb_path: Any) -> Settings:
    from samtycke.settings import loading
    from tests.support.config import deep_merge, demo_raw, unique_database

    data_dir = tmp_path_factory.mktemp("bounds")
    raw = deep_merge(
        demo_raw(tokens=TOKENS),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(data_dir),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["bounds-key"]},
        },
    )
    return loading.from_mapping(raw)


@pytest.fixture(scope="module")
def client(module_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(module_settings), base_url="http://localhost") as test_client:
        wait_ready(test_client, timeout=120)
        yield test_client


# -- JSON bodies --------------------------------------------------------------------------------------

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000
HUGE_INT = "9" * 5000  # past Python's 4300-digit limit for int from text
BIG_INT = "9" * 4000  # within it, but past every integer the fields take
HUGE_FLOAT = "1e999999"


def with_value(document: dict[str, Any], key: str, raw: str) -> str:
    """``document`` as JSON text with ``key``'s value replaced by the raw JSON ``raw``."""
    import json

    marker = "__replaced__"
    text = json.dumps({**document, key: marker})
    return text.replace(f'"{marker}"', raw)


def json_cases(document: dict[str, Any]) -> list[str]:
    cases = [DEEP_ARRAY, DEEP_OBJECT, HUGE_INT, HUGE_FLOAT, '"\\ud800"']
    for key in document:
        for raw in (DEEP_ARRAY, HUGE_INT, BIG_INT, HUGE_FLOAT, "-" + BIG_INT, "1e308"):
            cases.append(with_value(document, key, raw))
    return cases


JSON_ENDPOINTS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "consent": ("/api/v1/consent", {}, json_cases(CHOICE)),
    "withdraw": ("/api/v1/consent/withdraw", {}, json_cases({"lang": "sv"})),
    "stats": ("/api/v1/stats/query", MARKETER, json_cases(QUERY)),
    "bulk": ("/matomo.php", {}, json_cases({"requests": ["?idsite=1&rec=1"]})),
}


@pytest.mark.parametrize("endpoint", sorted(JSON_ENDPOINTS))
def test_deep_or_huge_json_is_a_4xx_on_every_endpoint_that_reads_json(
    client: TestClient, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, headers, bodies = JSON_ENDPOINTS[endpoint]
    for body in bodies:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="samtycke"):
            response = client.post(
                path, content=body.encode(), headers={**headers, "content-type": "application/json"}
            )
        assert 400 <= response.status_code < 500, (endpoint, body[:80], response.status_code, response.text)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], body[:80]


@pytest.mark.parametrize(
    "uadata",
    ["[" * 3000 + "]" * 3000, '{"a":' * 1200 + "1" + "}" * 1200, HUGE_INT[:4500]],
    ids=["deep array", "deep object", "huge int"],
)
def test_client_hints_too_deep_or_huge_count_as_none(client: TestClient, uadata: str) -> None:
    response = client.get("/matomo.php", params={**HIT, "uadata": uadata})
    assert response.status_code == 200, response.text
