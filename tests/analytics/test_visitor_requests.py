"""Export and deletion of a consented visitor's events through the API (admin only)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from starlette.testclient import TestClient

from consent.cookies import PURPOSE, ConsentCookie
from tests.analytics.conftest import CHROME, AppFactory, hit, rows, services_of, site
from tests.support.tokens import ADMIN_TOKEN, MARKETER_TOKEN

VISITOR = "0123456789abcdef"


def consent_cookie(
    test_client: TestClient, granted: list[str], expires_in: float = 3600, site_id: int = 1
) -> str:
    """The HttpOnly cookie the consent API sets after a choice."""
    cookie = ConsentCookie(
        consent_id="c1",
        site_id=site_id,
        granted=granted,
        decisions={category: True for category in granted},
        version="1",
        method="custom",
        receipt_id="r1",
        exp=int(time.time() + expires_in),
    )
    return services_of(test_client).signer.dumps(PURPOSE, cookie.payload())


def test_consent_cookie_decides_whether_the_tracker_id_is_used(make_client: AppFactory) -> None:
    test_client = make_client()
    params = hit(_id=VISITOR, url="http://localhost/c")
    cases = {
        "granted": consent_cookie(test_client, ["necessary", "statistics"]),
        "marketing only": consent_cookie(test_client, ["marketing"]),
        "expired": consent_cookie(test_client, ["statistics"], expires_in=-10),
        "forged": "eyJncmFudGVkIjpbInN0YXRpc3RpY3MiXX0.forged",
    }
    for name, cookie in cases.items():
        test_client.cookies.set("samtycke_consent", cookie)
        test_client.get("/matomo.php", params={**params, "action_name": name}, headers={"user-agent": CHROME})
    test_client.cookies.clear()
    found = dict(rows(test_client, "SELECT title, identified FROM events"))
    assert found == {"granted": 1, "marketing only": 0, "expired": 0, "forged": 0}


def test_a_consent_counts_only_for_the_site_it_was_given_for(make_client: AppFactory) -> None:
    """Sites served by one samtycke share its consent cookie; site 2's consent is not site 1's."""
    other = site(id=2, name="Andra", domains=["andra.localhost"])
    test_client = make_client(sites=[site(), other])
    test_client.cookies.set("samtycke_consent", consent_cookie(test_client, ["statistics"], site_id=2))
    agent = {"user-agent": CHROME}
    test_client.get(
        "/matomo.php", params=hit(_id=VISITOR, url="http://localhost/a", action_name="one"), headers=agent
    )
    andra = hit(idsite=2, _id=VISITOR, url="http://andra.localhost/a", action_name="two")
    test_client.get("/matomo.php", params=andra, headers=agent)
    bulk = {"requests": ["?" + urlencode(hit(_id=VISITOR, url="http://localhost/b", action_name="bulk"))]}
    test_client.post("/matomo.php", json=bulk, headers=agent)
    test_client.cookies.clear()
    found = dict(rows(test_client, "SELECT title, identified FROM events"))
    assert found == {"one": 0, "two": 1, "bulk": 0}


def test_export_and_delete(make_client: AppFactory) -> None:
    test_client = make_client()
    agent = {"user-agent": CHROME}
    for path in ("/a", "/b"):
        test_client.get(
            "/matomo.php", params=hit(_id=VISITOR, consent=1, url=f"http://localhost{path}"), headers=agent
        )
    test_client.get("/matomo.php", params=hit(_id="fedcba9876543210", consent=1), headers=agent)
    test_client.get("/matomo.php", params=hit(_id=VISITOR, url="http://localhost/anonymous"), headers=agent)
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    url = f"/api/v1/visitors/{VISITOR}"

    assert test_client.get(url, params={"site_id": 1}).status_code == 401
    assert (
        test_client.get(
            url, params={"site_id": 1}, headers={"authorization": f"Bearer {MARKETER_TOKEN}"}
        ).status_code
        == 403
    )
    assert test_client.get(url, params={"site_id": 9}, headers=admin).status_code == 400

    exported = test_client.get(url, params={"site_id": 1}, headers=admin)
    assert exported.status_code == 200
    document = exported.json()
    assert document["visitor_id"] == VISITOR
    assert [e["pathname"] for e in document["events"]] == ["/a", "/b"]  # not the cookieless hit
    assert "visitor_id" not in document["events"][0] and "masked_ip" in document["events"][0]

    deleted = test_client.delete(url, params={"site_id": 1}, headers=admin)
    assert deleted.json()["deleted"] == 2
    assert test_client.get(url, params={"site_id": 1}, headers=admin).json()["events"] == []
    assert rows(test_client, "SELECT count() FROM events") == [(2,)]
