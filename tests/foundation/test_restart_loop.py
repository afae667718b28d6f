"""One data directory, many runs of a real ``samtycke serve``: clean stops and ``kill -9`` in turn.

Every run acknowledges consent receipts and tracking hits, then stops, half the time before
the shipper had a chance to move them.  At the end every acknowledged receipt and hit is
stored exactly once, and no log index was handed out twice.  On both backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.consent.helpers import choice
from tests.support.tokens import AUDITOR, MARKETER, TOKENS

RUNS = 10  # five clean stops and five kills
PER_RUN = 3


def acknowledge(url: str, run: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Receipts answered 201 and pages whose hit was answered, in one run."""
    receipts, pages = [], []
    with httpx.Client(base_url=url, timeout=30) as client:
        for k in range(PER_RUN):
            response = client.post("/api/v1/consent", json=choice(decisions={"statistics": k % 2 == 0}))
            assert response.status_code == 201, response.text
            receipts.append(response.json()["receipt"])
            page = f"/restart/{run}/{k}"
            hit = client.get(
                "/matomo.php", params={"idsite": "1", "rec": "1", "url": f"http://localhost{page}"}
            )
            assert hit.status_code == 200, hit.text
            pages.append(page)
    return receipts, pages


def stored_entries(url: str) -> list[dict[str, Any]]:
    response = httpx.get(url + "/api/v1/audit/export", headers=AUDITOR, timeout=60)
    assert response.status_code == 200, response.text
    return [line for line in map(json.loads, response.text.splitlines()) if "index" in line]


def pageviews_by_page(url: str) -> dict[str, int]:
    body = {
        "site_id": 1,
        "metrics": ["pageviews"],
        "date_range": "all",
        "dimensions": ["event:page"],
        "pagination": {"limit": 1000},
    }
    response = httpx.post(url + "/api/v1/stats/query", json=body, headers=MARKETER, timeout=60)
    assert response.status_code == 200, response.text
    return {row["dimensions"][0]: row["metrics"][0] for row in response.json()["results"]}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["chdb", "http"])
def test_restarts_and_kills_lose_and_repeat_nothing(
    backend: str, live_server_factory: Callable[..., Any], request: pytest.FixtureRequest
) -> None:
    overrides: dict[str, Any] = {"tokens": TOKENS}
    if backend == "http":
        from tests.support.config import unique_database

        server_url = request.getfixturevalue("clickhouse_http").url
        overrides["storage"] = {"clickhouse_url": f"{server_url}/{unique_database()}"}
    server = live_server_factory(**overrides)
    receipts: list[dict[str, Any]] = []
    pages: list[str] = []
    for run in range(RUNS):
        if run:
            server.start()
        acknowledged, visited = acknowledge(server.url, run)
        receipts += acknowledged
        pages += visited
        if run % 2:
            server.kill()  # right after the answers: the records may exist only in the journal
        else:
            assert server.stopped_gracefully(), server.logs()
    server.start()

    indices = [int(r["integrity"]["log_index"]) for r in receipts]
    assert len(set(indices)) == len(indices), "a log index was handed out twice"
    logged = stored_entries(server.url)
    assert [line["index"] for line in logged] == list(range(len(logged))), "stored indices are gapless"
    by_receipt: dict[str, list[dict[str, Any]]] = {}
    for line in logged:
        by_receipt.setdefault(line["entry"].get("receipt_id", ""), []).append(line)
    for receipt in receipts:
        (line,) = by_receipt[receipt["receipt_id"]]
        assert line["index"] == receipt["integrity"]["log_index"]
        assert line["leaf_hash"] == receipt["integrity"]["leaf_hash"]

    counted = pageviews_by_page(server.url)
    assert {page: counted.get(page, 0) for page in pages} == dict.fromkeys(pages, 1)
    assert len(pages) == RUNS * PER_RUN
