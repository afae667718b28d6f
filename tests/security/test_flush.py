"""Reads never defeat batching: the journal ships on its schedule, whatever clients read.

Shipments are made rare here (an hour apart), so that every insert into ClickHouse the
test sees was caused by something it did; the test then plays the timer itself by waking
the shipper, as its schedule would.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.config import DEMO_CHOICE
from tests.support.live import wait_ready


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    usual = make_settings()
    settings = dataclasses.replace(
        usual,
        journal=dataclasses.replace(usual.journal, ship_interval=3600.0),
        consent=dataclasses.replace(usual.consent, checkpoint_interval=3600.0),
    )
    with TestClient(create_app(settings), base_url="http://localhost") as test_client:
        wait_ready(test_client, timeout=120)
        yield test_client


def inserts(client: TestClient, table: str) -> int:
    """Inserts the shipper has made into ``table`` (one per shipped chunk)."""
    text = client.get("/metrics").text
    found = re.search(rf'samtycke_ship_seconds_count\{{table="{table}"\}} (\S+)', text)
    return int(float(found.group(1))) if found else 0


def ship_now(client: TestClient) -> None:
    """What the shipper's timer does: one scheduled shipment."""
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    assert client.portal is not None
    assert client.portal.call(services.shipper.ship)


def stored_hits(client: TestClient) -> int:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return int(services.storage.query("SELECT count() FROM events WHERE pathname LIKE '/read-%'")[0][0])


def test_reading_a_history_makes_no_insert_and_waits_for_no_shipment(client: TestClient) -> None:
    assert client.post("/api/v1/consent", json=DEMO_CHOICE).status_code == 201
    ship_now(client)  # the receipt is stored, as the schedule would have done
    before = inserts(client, "events")
    for n in range(50):
        hit: dict[str, str | int] = {
            "idsite": 1,
            "rec": 1,
            "url": f"http://localhost/read-{n}",
            "_id": "0123456789abcdef",
        }
        assert client.get("/matomo.php", params=hit).status_code == 200
        history = client.get("/api/v1/consent")
        assert history.status_code == 200
        assert len(history.json()["history"]) == 1
    assert inserts(client, "events") == before  # 50 reads, no insert: the hits wait in the journal
    assert stored_hits(client) == 0
    ship_now(client)
    assert inserts(client, "events") == before + 1  # one scheduled shipment takes all 50
    assert stored_hits(client) == 50


def test_a_visitor_sees_the_choice_just_made(settings: Settings) -> None:
    """With the usual schedule, the read waits for the next shipment and shows the new receipt."""
    with TestClient(create_app(settings), base_url="http://localhost") as scheduled:
        wait_ready(scheduled, timeout=120)
        first = scheduled.post("/api/v1/consent", json=DEMO_CHOICE)
        again = scheduled.post(
            "/api/v1/consent",
            json={**DEMO_CHOICE, "decisions": {**DEMO_CHOICE["decisions"], "marketing": True}},
        )
        assert first.status_code == again.status_code == 201
        history = scheduled.get("/api/v1/consent").json()["history"]
    assert [item["receipt"]["receipt_id"] for item in history] == [
        first.json()["receipt"]["receipt_id"],
        again.json()["receipt"]["receipt_id"],
    ]
