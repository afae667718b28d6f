"""Handoff between the sites of a group: one-time codes, their API, and receipts that verify."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.handoff import HandoffCodes, HandoffRefused
from consent.recording.adoption import SourceChoice
from samtycke.settings import Settings
from samtycke.settings.loading import ConfigError
from samtycke.web.app import create_app
from tests.consent.helpers import choice, export_lines
from tests.consent.test_log import run_verify
from tests.support.config import demo_raw
from tests.support.live import wait_ready
from tests.support.tokens import TOKENS

SHOP = "http://shop.localhost"
OTHER = "http://other.localhost"
SOURCE = SourceChoice("b5e1c2d4-0000-4000-8000-000000000001", 1, {"statistics": True, "marketing": False})


class Clock:
    """The server's clock: real time, moved on by the test (expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def group_sites(group: str = "demo-energi") -> list[dict[str, Any]]:
    """The demo site and a shop in one group, and a third site outside it."""
    demo = {**demo_raw()["sites"][0], "group": group}
    shop = {"id": 2, "name": "Demo Butik", "domains": ["shop.localhost"], "group": group}
    other = {"id": 3, "name": "Annan", "domains": ["other.localhost"]}
    return [demo, shop, other]


# -- the codes ---------------------------------------------------------------------------------------


def test_a_code_is_opaque_and_redeems_once_on_its_target_site() -> None:
    codes = HandoffCodes(Clock())
    code = codes.issue(SOURCE, 2)
    assert len(code) == 22 and SOURCE.receipt_id not in code and code != codes.issue(SOURCE, 2)
    assert codes.redeem(code, 2) == SOURCE
    with pytest.raises(HandoffRefused, match="unknown or has been used"):
        codes.redeem(code, 2)


def test_a_code_expires_after_two_minutes() -> None:
    clock = Clock()
    codes = HandoffCodes(clock)
    early, late = codes.issue(SOURCE, 2), codes.issue(SOURCE, 2)
    clock.offset = timedelta(seconds=119)
    assert codes.redeem(early, 2) == SOURCE
    clock.offset = timedelta(seconds=120)
    with pytest.raises(HandoffRefused, match="expired"):
        codes.redeem(late, 2)


def test_a_code_for_another_site_is_refused_and_gone() -> None:
    codes = HandoffCodes(Clock())
    code = codes.issue(SOURCE, 2)
    with pytest.raises(HandoffRefused, match="another site"):
        codes.redeem(code, 3)
    with pytest.raises(HandoffRefused, match="unknown or has been used"):
        codes.redeem(code, 2)


def test_codes_held_are_bounded_and_expired_ones_forgotten() -> None:
    clock = Clock()
    codes = HandoffCodes(clock, capacity=3)
    first = codes.issue(SOURCE, 2)
    for _ in range(5):
        codes.issue(SOURCE, 2)
    assert len(codes) == 3
    with pytest.raises(HandoffRefused):
        codes.redeem(first, 2)  # the oldest went first
    clock.offset = timedelta(minutes=3)
    codes.issue(SOURCE, 2)
    assert len(codes) == 1


# -- configuration -----------------------------------------------------------------------------------


def test_a_group_of_one_site_is_a_configuration_error(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match="needs at least two sites") as caught:
        make_settings(sites=[{**demo_raw()["sites"][0], "group": "alone"}])
    assert caught.value.key == "sites[0].group"
    with pytest.raises(ConfigError, match="letters, digits"):
        make_settings(sites=group_sites("no spaces"))


# -- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def group_client(make_settings: Callable[..., Settings], clock: Clock) -> Iterator[TestClient]:
    settings = make_settings(sites=group_sites(), tokens=TOKENS)
    with TestClient(create_app(settings, now=clock), base_url="http://localhost") as client:
        wait_ready(client, timeout=120)
        yield client


def issue(client: TestClient, target: int = 2, site: int = 1) -> Any:
    return client.post(
        "/api/v1/consent/handoff",
        json={"site_id": site, "target_site_id": target},
        headers={"Origin": "http://localhost"},
    )


def redeem(client: TestClient, code: str, site: int = 2, origin: str = SHOP) -> Any:
    return client.post(
        "/api/v1/consent/handoff/redeem",
        json={"code": code, "site_id": site, "lang": "en"},
        headers={"Origin": origin},
    )


def entries(client: TestClient) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export_lines(client) if '"index"' in line]


def test_a_choice_is_carried_to_a_site_of_the_group(group_client: TestClient, tmp_path: Path) -> None:
    config = group_client.get("/api/v1/sites/1/consent-config").json()
    assert config["handoff"] == [{"site_id": 2, "domains": ["shop.localhost"]}]
    assert issue(group_client).status_code == 422  # no choice yet: nothing to carry

    chosen = group_client.post("/api/v1/consent", json=choice(decisions={"statistics": True}))
    source = chosen.json()["receipt"]
    issued = issue(group_client)
    assert issued.status_code == 201, issued.text
    assert issued.json()["expires_in"] == 120 and issued.headers["cache-control"] == "no-store"

    redeemed = redeem(group_client, issued.json()["code"])
    assert redeemed.status_code == 201, redeemed.text
    receipt = redeemed.json()["receipt"]
    assert receipt["method"] == "handoff" and receipt["source_receipt_id"] == source["receipt_id"]
    assert receipt["site"] == {"id": 2, "name": "Demo Butik"} and receipt["event"] == "ConsentGiven"
    granted = {p["category"]: p["decision"] for p in receipt["purposes"]}
    assert granted == {
        "necessary": "granted",
        "preferences": "refused",
        "statistics": "granted",
        "marketing": "refused",
    }
    assert receipt["notice"]["version"] == "1" and receipt["notice"]["language"] == "en"
    assert "samtycke_consent" in redeemed.cookies

    stored = [e for e in entries(group_client) if e["kind"] == "receipt"]
    assert stored[-1]["entry"]["source_receipt_id"] == source["receipt_id"]
    keys = tmp_path / "keys.json"
    keys.write_text(group_client.get("/api/v1/log/keys").text)
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(export_lines(group_client)) + "\n")
    verified = run_verify(export, keys)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_replayed_expired_foreign_and_bad_codes_are_refused_and_change_nothing(
    group_client: TestClient, clock: Clock
) -> None:
    group_client.post("/api/v1/consent", json=choice(decisions={"statistics": True}))
    # All issued first: in this one cookie jar the shop's consent cookie replaces the demo's.
    used, expired, for_shop, misdirected = (issue(group_client).json()["code"] for _ in range(4))
    assert redeem(group_client, used).status_code == 201
    before = entries(group_client)

    replay = redeem(group_client, used)
    assert replay.status_code == 422 and "has been used" in replay.json()["error"]["message"]
    clock.offset = timedelta(minutes=2, seconds=1)
    late = redeem(group_client, expired)
    assert late.status_code == 422 and "expired" in late.json()["error"]["message"]
    clock.offset = timedelta(0)
    foreign = redeem(group_client, for_shop, site=3, origin=OTHER)
    assert foreign.status_code == 422 and "another site" in foreign.json()["error"]["message"]
    malformed = redeem(group_client, "not a code")
    assert malformed.status_code == 422 and malformed.json()["error"]["field"] == "code"
    wrong_origin = redeem(group_client, misdirected, origin=OTHER)
    assert wrong_origin.status_code == 403
    outside = issue(group_client, target=3)
    assert outside.status_code == 422 and outside.json()["error"]["field"] == "target_site_id"
    assert issue(group_client, target=1).status_code == 422  # a site is no group of its own
    assert entries(group_client) == before


def test_the_policy_names_the_group_and_its_sites(group_client: TestClient) -> None:
    swedish = group_client.get("/sites/1/policy?lang=sv").text
    assert "Ett val för flera webbplatser" in swedish and "<li>Demo Butik (shop.localhost)</li>" in swedish
    english = group_client.get("/sites/2/policy?lang=en").text
    assert "One choice for several websites" in english and "<li>Demo Energi (localhost," in english
    outside = group_client.get("/sites/3/policy?lang=en").text
    assert "shared-choice" not in outside
