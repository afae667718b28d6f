"""A real server: concurrent choices get gapless indices; a kill -9 loses nothing acknowledged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.consent import rfc6962
from tests.consent.helpers import choice
from tests.support.tokens import AUDITOR, TOKENS


async def post_many(url: str, count: int) -> list[dict[str, Any]]:
    # Idle connections expire before the server's 5 s keep-alive so a POST never races a close.
    limits = httpx.Limits(max_connections=50, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(n: int) -> dict[str, Any]:
            body = choice(decisions={"statistics": n % 2 == 0})
            response = await client.post("/api/v1/consent", json=body)
            assert response.status_code == 201, response.text
            receipt: dict[str, Any] = response.json()["receipt"]
            return receipt

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def entries(url: str) -> list[dict[str, Any]]:
    response = httpx.get(url + "/api/v1/audit/export", headers=AUDITOR, timeout=120)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_concurrent_choices_are_gapless_and_survive_kill_9(live_server_factory: Callable[..., Any]) -> None:
    # A thousand choices from one address: far past the per-network limit a site would keep.
    server = live_server_factory(tokens=TOKENS, consent={"writes_per_minute": 100_000})
    receipts = asyncio.run(post_many(server.url, 1000))
    indices = sorted(int(r["integrity"]["log_index"]) for r in receipts)
    assert indices == list(range(2, 1002))  # after the two notice publications, no gaps, no repeats

    # Acknowledged just before the kill: still journalled, maybe not yet in ClickHouse.
    more = asyncio.run(post_many(server.url, 50))
    server.kill()
    server.start()
    lines = entries(server.url)
    checkpoint = lines[-1]["checkpoint"]
    logged = [line for line in lines if "index" in line]
    assert [line["index"] for line in logged] == list(range(len(logged)))
    by_receipt = {line["entry"].get("receipt_id"): line for line in logged}
    for receipt in receipts + more:
        line = by_receipt[receipt["receipt_id"]]
        assert line["index"] == receipt["integrity"]["log_index"]
        assert line["leaf_hash"] == receipt["integrity"]["leaf_hash"]
    assert len(logged) == 1052  # exactly once each
    leaves = [rfc6962.leaf(rfc6962.entry_bytes(line["entry"])) for line in logged]
    import base64

    assert base64.b64decode(checkpoint.split("\n")[2]) == rfc6962.mth(leaves)
    after = httpx.post(server.url + "/api/v1/consent", json=choice(), timeout=30).json()["receipt"]
    assert after["integrity"]["log_index"] == 1052
