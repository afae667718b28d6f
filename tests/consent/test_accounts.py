"""A choice that follows a customer account: linking, adoption on another device, the portal's API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from http.cookiejar import Cookie
from typing import Any

import pytest
from starlette.testclient import TestClient

from consent.ledger.keys import parse_public_keys
from consent.ledger.verify import verify_export
from samtycke.settings import Settings
from tests.consent.accounts import SECRET, mint, sites_with_accounts
from tests.consent.helpers import choice, export_lines
from tests.support.tokens import TOKENS

SUB = "kund-4711"


@pytest.fixture
def accounts_client(
    clickhouse_url: str, make_settings: Callable[..., Settings], open_client: Callable[[Settings], TestClient]
) -> TestClient:
    """Accounts enabled on site 1, once on chDB and once on the ClickHouse-HTTP fixture."""
    settings = make_settings(
        clickhouse_url,
        sites=sites_with_accounts(),
        tokens=TOKENS,
        consent={"writes_per_minute": 100_000},
    )
    return open_client(settings)


class Devices:
    """One client, several browsers: each device keeps its own cookies."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.jars: dict[str, list[Cookie]] = {}
        self.current = ""

    def use(self, name: str) -> TestClient:
        if self.current:
            self.jars[self.current] = list(self.client.cookies.jar)
        self.client.cookies.clear()
        for cookie in self.jars.get(name, []):
            self.client.cookies.jar.set_cookie(cookie)
        self.current = name
        return self.client


def sync(client: TestClient, token: str) -> Any:
    return client.post("/api/v1/consent/account", json={"site_id": 1, "account_token": token, "lang": "sv"})


def portal(client: TestClient, token: str) -> Any:
    return client.get("/api/v1/accounts/consent", headers={"Authorization": f"Bearer {token}"})


def tree_size(client: TestClient) -> int:
    return sum(1 for line in export_lines(client) if '"index"' in line)


def test_a_choice_follows_the_account_to_another_device_and_back(accounts_client: TestClient) -> None:
    devices = Devices(accounts_client)
    laptop = devices.use("laptop")
    made = laptop.post("/api/v1/consent", json=choice(account_token=mint(SUB)))
    assert made.status_code == 201, made.text
    source = made.json()["receipt"]
    assert source["account"]["linked"] is True and len(source["account"]["commitment"]) == 64
    assert sync(laptop, mint(SUB)).json() == {"adopted": False}, "the laptop already follows the account"

    phone = devices.use("phone")
    adopted = sync(phone, mint(SUB))
    assert adopted.status_code == 201, adopted.text
    receipt = adopted.json()["receipt"]
    assert receipt["method"] == "account" and receipt["source_receipt_id"] == source["receipt_id"]
    assert receipt["account"] == source["account"]
    assert [p["decision"] for p in receipt["purposes"]] == [p["decision"] for p in source["purposes"]]
    assert adopted.json()["state"]["g"] == ["statistics"]
    assert "samtycke_consent" in phone.cookies and "samtycke_state" in phone.cookies
    assert sync(phone, mint(SUB)).json() == {"adopted": False}, "adopted once, then left alone"

    withdrawn = phone.post(
        "/api/v1/consent", json=choice(method="withdraw", decisions={}, account_token=mint(SUB))
    )
    assert withdrawn.status_code == 201 and withdrawn.json()["receipt"]["event"] == "ConsentWithdrawn"
    assert portal(phone, mint(SUB)).json()["choice"]["event"] == "ConsentWithdrawn"

    laptop = devices.use("laptop")
    picked = sync(laptop, mint(SUB))
    assert picked.status_code == 201
    assert {p["decision"] for p in picked.json()["receipt"]["purposes"] if not p["required"]} == {"refused"}
    assert picked.json()["receipt"]["source_receipt_id"] == withdrawn.json()["receipt"]["receipt_id"]
    assert picked.json()["state"]["g"] == []
    assert sync(devices.use("phone"), mint(SUB)).json() == {"adopted": False}, "no ping-pong between devices"

    # Neither the customer id nor its pseudonym under the site's secret is anywhere in the log.
    export = "\n".join(export_lines(accounts_client))
    assert SUB not in export
    keys = accounts_client.get("/api/v1/log/keys").text
    report = verify_export(export_lines(accounts_client), parse_public_keys(keys))
    assert report.ok, report.text()


def test_a_choice_made_after_the_token_expired_is_recorded_unlinked_and_linked_at_the_next_load(
    accounts_client: TestClient,
) -> None:
    expired = mint(SUB, lifetime=-60)
    made = accounts_client.post("/api/v1/consent", json=choice(account_token=expired))
    assert made.status_code == 201, made.text
    own = made.json()["receipt"]
    assert own["account"] == {"linked": False, "reason": "token_expired"}
    assert portal(accounts_client, mint(SUB)).json()["choice"] is None

    linked = sync(accounts_client, mint(SUB))
    assert linked.status_code == 201
    assert linked.json()["receipt"]["method"] == "account"
    assert linked.json()["receipt"]["source_receipt_id"] == own["receipt_id"]
    assert linked.json()["receipt"]["account"]["linked"] is True
    assert portal(accounts_client, mint(SUB)).json()["choice"]["receipt_id"] == own["receipt_id"]


def test_a_tokenless_choice_is_recorded_as_before(accounts_client: TestClient) -> None:
    receipt = accounts_client.post("/api/v1/consent", json=choice()).json()["receipt"]
    assert "account" not in receipt and "source_receipt_id" not in receipt


def test_the_portal_reads_the_account_choice_and_erases_it(accounts_client: TestClient) -> None:
    devices = Devices(accounts_client)
    laptop = devices.use("laptop")
    assert laptop.post("/api/v1/consent", json=choice(account_token=mint(SUB))).status_code == 201
    assert sync(devices.use("phone"), mint(SUB)).status_code == 201
    current = portal(accounts_client, mint(SUB)).json()
    assert current["site_id"] == 1
    assert current["choice"]["decisions"] == {"preferences": False, "statistics": True, "marketing": False}
    assert portal(accounts_client, mint("someone-else")).json()["choice"] is None

    refused = accounts_client.delete(
        "/api/v1/accounts/consent", headers={"Authorization": f"Bearer {mint(SUB)}"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    erase = {"Authorization": f"Bearer {mint(SUB, scope='erase')}"}
    erased = accounts_client.delete("/api/v1/accounts/consent", headers=erase)
    assert erased.status_code == 200 and erased.json() == {"erased": 2}
    assert portal(accounts_client, mint(SUB)).json()["choice"] is None
    assert devices.use("laptop").get("/api/v1/consent").json()["history"] == []
    assert devices.use("phone").get("/api/v1/consent").json()["history"] == []
    assert accounts_client.delete("/api/v1/accounts/consent", headers=erase).json() == {"erased": 0}

    lines = [json.loads(line) for line in export_lines(accounts_client)]
    tombstones = [line["entry"] for line in lines if line.get("entry", {}).get("type") == "tombstone"]
    assert len(tombstones) == 3, "one per browser, one for the account"
    keys = accounts_client.get("/api/v1/log/keys").text
    report = verify_export(export_lines(accounts_client), parse_public_keys(keys))
    assert report.ok, report.text()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.digest(key, head.encode(), "sha256"))


def good_claims(**changes: Any) -> dict[str, Any]:
    return {"aud": "samtycke", "sub": SUB, "site": 1, "exp": int(time.time()) + 300, **changes}


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "bad signature": lambda: mint(SUB, secret="another-secret-of-enough-length-000000"),
    "expired": lambda: mint(SUB, lifetime=-60),
    "wrong site": lambda: mint(SUB, site=2),
    "wrong audience": lambda: mint(SUB, aud="someone-else"),
    "no audience": lambda: mint(SUB, aud=None),
    "no sub": lambda: mint(None),
    "unknown scope": lambda: mint(SUB, scope="admin"),
    "exp too far ahead": lambda: mint(SUB, lifetime=3600),
    "alg none": lambda: (
        b64(b'{"alg":"none","typ":"JWT"}') + "." + b64(json.dumps(good_claims()).encode()) + "."
    ),
    "RS256 confusion": lambda: forged({"alg": "RS256", "typ": "JWT"}, good_claims(), SECRET.encode()),
    "HS512": lambda: forged({"alg": "HS512", "typ": "JWT"}, good_claims(), SECRET.encode()),
    "not a JWT": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_bad_tokens_are_refused_and_change_nothing(accounts_client: TestClient, kind: str) -> None:
    accounts_client.post("/api/v1/consent", json=choice(account_token=mint(SUB)))
    before = tree_size(accounts_client)
    token = BAD_TOKENS[kind]()
    accounts_client.cookies.clear()
    for response in (
        sync(accounts_client, token),
        portal(accounts_client, token),
        accounts_client.delete("/api/v1/accounts/consent", headers={"Authorization": f"Bearer {token}"}),
    ):
        assert response.status_code == 401, (kind, response.status_code, response.text)
        assert response.json()["error"]["code"] == "invalid_account_token"
        assert "set-cookie" not in response.headers
    if kind != "expired":  # an expired token still lets a choice be recorded, unlinked
        chose = accounts_client.post("/api/v1/consent", json=choice(account_token=token))
        assert chose.status_code == 401, (kind, chose.text)
    assert tree_size(accounts_client) == before, "nothing was recorded"


def test_a_site_without_accounts_refuses_tokens(consent_client: TestClient) -> None:
    response = consent_client.post("/api/v1/consent", json=choice(account_token=mint(SUB)))
    assert response.status_code == 403 and response.json()["error"]["code"] == "accounts_not_enabled"


def test_pseudonym_is_hkdf_keyed_hmac_of_sub() -> None:
    """The documented derivation, recomputed from RFC 5869 by hand."""
    from consent.accounts.pseudonyms import pseudonym

    prk = hmac.digest(b"\x00" * 32, SECRET.encode(), "sha256")
    okm = hmac.digest(prk, b"samtycke account pseudonym v1\x01", "sha256")
    assert pseudonym(SECRET, SUB) == hmac.digest(okm, SUB.encode(), "sha256").hex()
    assert hashlib.sha256(SUB.encode()).hexdigest() != pseudonym(SECRET, SUB)


@pytest.mark.parametrize("page", ["policy", "privacy"])
def test_the_pages_say_the_choice_follows_the_account_only_where_enabled(
    accounts_client: TestClient, consent_client: TestClient, page: str
) -> None:
    for lang, words in (
        ("sv", "Ditt val följer ditt kundkonto"),
        ("en", "Your choice follows your customer account"),
    ):
        enabled = accounts_client.get(f"/sites/1/{page}", headers={"Accept-Language": lang})
        assert enabled.status_code == 200 and words in enabled.text
        plain = consent_client.get(f"/sites/1/{page}", headers={"Accept-Language": lang})
        assert plain.status_code == 200 and words not in plain.text
