"""The consent API as the banner and visitors use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from samtycke.settings import Secret, Settings
from samtycke.signing import Signer
from tests.consent.helpers import VERSION, choice


def test_consent_config_matches_the_banner_contract(consent_client: TestClient) -> None:
    response = consent_client.get("/api/v1/sites/1/consent-config?lang=sv")
    assert response.status_code == 200
    # Revalidated on every load, so a new notice version is seen on the next page view.
    assert response.headers["cache-control"] == "no-cache"
    assert "Sec-GPC" in response.headers["vary"]
    config = response.json()
    assert config["site_id"] == 1 and config["site_name"] == "Demo Energi" and config["lang"] == "sv"
    notice = config["notice"]
    assert notice["id"] == "banner" and notice["version"] == VERSION
    assert notice["policy_url"] == "/sites/1/policy?lang=sv"
    assert notice["deployed_at"] == "2026-11-01T00:00:00Z"
    assert len(notice["sha256"]) == 64
    texts = config["texts"]
    assert (texts["accept_all"], texts["reject_all"], texts["save"]) == (
        "Acceptera alla",
        "Avvisa alla",
        "Spara val",
    )
    assert texts["cookie_table"]["session"] == "Sessionscookie"
    assert [c["id"] for c in config["categories"]] == ["necessary", "preferences", "statistics", "marketing"]
    necessary = config["categories"][0]
    assert necessary["required"] is True and necessary["name"] == "Nödvändiga"
    consent_cookie = next(c for c in necessary["cookies"] if c["name"] == "samtycke_consent")
    assert consent_cookie["lifetime"] == "13 månader" and consent_cookie["session"] is False
    assert consent_cookie["justification"]
    statistics = config["categories"][2]
    assert statistics["storage_keys"] == ["demo_stats_seen"]
    assert any(c["regex"] and c["name"] == "_pk_id\\..*" for c in statistics["cookies"])
    marketing = config["categories"][3]
    assert any(c["session"] for c in marketing["cookies"])
    assert config["gpc"] == {"honoured": True, "active": False, "denies": ["marketing"]}
    assert config["consent_mode"]["analytics_storage"] == "statistics"
    assert config["lifetimes"] == {"consent_days": 395, "refusal_days": 180}
    assert config["endpoints"] == {
        "consent": "/api/v1/consent",
        "handoff": "/api/v1/consent/handoff",
        "redeem": "/api/v1/consent/handoff/redeem",
    }
    assert config["handoff"] == []  # the demo site is in no group

    english = consent_client.get("/api/v1/sites/1/consent-config?lang=en").json()
    assert english["texts"]["accept_all"] == "Accept all" and english["texts"]["reopen"] == "Cookie settings"
    assert english["notice"]["sha256"] != notice["sha256"]

    etag = response.headers["etag"]
    again = consent_client.get("/api/v1/sites/1/consent-config?lang=sv", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert consent_client.get("/api/v1/sites/99/consent-config").status_code == 404


def test_site_config_overrides_texts_and_adds_custom_categories(
    make_settings: Callable[..., Settings], open_client: Callable[[Settings], TestClient]
) -> None:
    settings = make_settings(
        sites=[
            {
                "id": 1,
                "name": "Demo Energi",
                "domains": ["localhost"],
                "notice": {"version": "7", "title_sv": "Kakor hos oss"},
                "categories": [
                    {"id": "statistics", "name_sv": "Besöksstatistik"},
                    {"id": "support_chat", "name_sv": "Kundchatt", "name_en": "Support chat"},
                ],
                "cookies": [{"name": "chat", "category": "support_chat", "lifetime": "session"}],
            }
        ]
    )
    client = open_client(settings)
    config = client.get("/api/v1/sites/1/consent-config?lang=sv").json()
    assert config["texts"]["title"] == "Kakor hos oss"
    assert [c["id"] for c in config["categories"]][-1] == "support_chat"
    assert config["categories"][2]["name"] == "Besöksstatistik"
    response = client.post(
        "/api/v1/consent", json=choice(notice_version="7", decisions={"support_chat": True})
    )
    assert response.status_code == 201, response.text
    assert response.json()["receipt"]["event"] == "ConsentGiven"


def test_a_choice_gets_a_receipt_a_jws_and_two_cookies(consent_client: TestClient) -> None:
    response = consent_client.post(
        "/api/v1/consent",
        json=choice(),
        headers={
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) UniqueAgent/42",
            "X-Forwarded-For": "203.0.113.77",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    receipt = body["receipt"]
    assert receipt["event"] == "ConsentGiven" and receipt["method"] == "custom"
    assert receipt["notice"]["version"] == VERSION and receipt["notice"]["language"] == "sv"
    assert {p["category"]: p["decision"] for p in receipt["purposes"]} == {
        "necessary": "granted",
        "preferences": "refused",
        "statistics": "granted",
        "marketing": "refused",
    }
    assert receipt["integrity"]["log_index"] >= 2  # the two notice publications come first
    assert body["jws"].count(".") == 2
    text = json.dumps(body)
    assert "203.0.113" not in text and "UniqueAgent" not in text and "testclient" not in text

    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    consent_cookie, state_cookie = cookies["samtycke_consent"], cookies["samtycke_state"]
    assert "HttpOnly" in consent_cookie and "SameSite=lax" in consent_cookie and "Path=/" in consent_cookie
    assert "Max-Age=34128000" in consent_cookie  # 395 days
    assert "HttpOnly" not in state_cookie
    state = json.loads(unquote(state_cookie.split("=", 1)[1].split(";", 1)[0]))
    assert state["v"] == VERSION and state["g"] == ["statistics"] and state["m"] == "custom"
    signer = consent_client.app.state.services.signer  # type: ignore[attr-defined]
    payload = signer.loads("consent", consent_client.cookies["samtycke_consent"])
    assert payload["granted"] == ["statistics"] and payload["id"] == receipt["subject"]["consent_id"]
    assert payload["exp"] == state["exp"]

    # The second choice continues the same subject and chains to the first receipt.
    second = consent_client.post("/api/v1/consent", json=choice(method="reject_all", decisions={}))
    assert second.status_code == 201
    refused = second.json()["receipt"]
    assert refused["event"] == "ConsentRefused"
    assert refused["previous_receipt_id"] == receipt["receipt_id"]
    assert refused["subject"]["consent_id"] == receipt["subject"]["consent_id"]
    assert "Max-Age=15552000" in second.headers.get_list("set-cookie")[0]  # refusal: 180 days


def test_the_log_holds_no_ip_user_agent_or_consent_id(consent_client: TestClient) -> None:
    from tests.consent.helpers import export_lines

    response = consent_client.post(
        "/api/v1/consent",
        json=choice(),
        headers={
            "User-Agent": "Mozilla/5.0 UniqueAgent/42",
            "X-Forwarded-For": "203.0.113.77",
            "Referer": "http://localhost/secret-page?x=1",
        },
    )
    consent_id = response.json()["receipt"]["subject"]["consent_id"]
    dump = "\n".join(export_lines(consent_client))
    for needle in (consent_id, "203.0.113", "UniqueAgent", "secret-page", "testclient"):
        assert needle not in dump
    storage = consent_client.app.state.services.storage  # type: ignore[attr-defined]
    rows = storage.query("SELECT * FROM consent_log")
    assert consent_id not in repr(rows) and "203.0.113" not in repr(rows)


def test_gpc_denies_marketing_unless_chosen_explicitly(consent_client: TestClient) -> None:
    accepted = consent_client.post(
        "/api/v1/consent", json=choice(method="accept_all", decisions={}), headers={"Sec-GPC": "1"}
    )
    receipt = accepted.json()["receipt"]
    decisions = {p["category"]: p["decision"] for p in receipt["purposes"]}
    assert decisions["marketing"] == "refused" and decisions["statistics"] == "granted"
    assert receipt["method"] == "gpc" and receipt["gpc"] is True

    explicit = consent_client.post(
        "/api/v1/consent", json=choice(decisions={"marketing": True}), headers={"Sec-GPC": "1"}
    ).json()["receipt"]
    assert {p["category"]: p["decision"] for p in explicit["purposes"]}["marketing"] == "granted"

    without = consent_client.post("/api/v1/consent", json=choice(method="accept_all", decisions={})).json()
    assert {p["category"]: p["decision"] for p in without["receipt"]["purposes"]}["marketing"] == "granted"


def test_gpc_from_the_page_s_script_counts_like_the_header_and_leaves_a_trace(
    consent_client: TestClient,
) -> None:
    refused = consent_client.post("/api/v1/consent", json=choice(method="accept_all", decisions={}, gpc=True))
    receipt = refused.json()["receipt"]
    assert {p["category"]: p["decision"] for p in receipt["purposes"]}["marketing"] == "refused"
    assert (receipt["method"], receipt["gpc"], receipt["gpc_signal"]) == ("gpc", True, True)

    explicit = consent_client.post(
        "/api/v1/consent", json=choice(decisions={"marketing": True}), headers={"Sec-GPC": "1"}
    ).json()["receipt"]
    assert (explicit["method"], explicit["gpc"], explicit["gpc_signal"]) == ("custom", False, True)

    bad = consent_client.post("/api/v1/consent", json=choice(gpc="yes"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "gpc"


def test_consent_config_reports_sec_gpc_and_keeps_the_two_answers_apart(consent_client: TestClient) -> None:
    plain = consent_client.get("/api/v1/sites/1/consent-config?lang=sv")
    signalled = consent_client.get("/api/v1/sites/1/consent-config?lang=sv", headers={"Sec-GPC": "1"})
    assert plain.json()["gpc"]["active"] is False and signalled.json()["gpc"]["active"] is True
    assert plain.headers["etag"] != signalled.headers["etag"]


BAD_CHOICES = [
    (choice(decisions={"unknown": True}), "decisions.unknown"),
    (choice(decisions={"necessary": False}), "decisions.necessary"),
    (choice(notice_version="1999-01-01"), "notice_version"),
    (choice(site_id=42), "site_id"),
    (choice(method="maybe"), "method"),
    (choice(decisions={"statistics": "yes"}), "decisions.statistics"),
    (choice(lang="de"), "lang"),
    (choice(method="accept_all", decisions={"marketing": False}), "decisions"),
    ([1, 2], None),
]


def test_bad_choices_are_422_with_the_field(consent_client: TestClient) -> None:
    for body, field in BAD_CHOICES:
        response = consent_client.post("/api/v1/consent", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["message"]
        assert error.get("field") == field, body


def test_bad_bodies_are_400_and_413(consent_client: TestClient) -> None:
    assert (
        consent_client.post(
            "/api/v1/consent", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    big = json.dumps(choice(padding="x" * 17000))
    response = consent_client.post(
        "/api/v1/consent", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_cors_is_open_only_to_the_sites_domains(consent_client: TestClient) -> None:
    allowed = consent_client.options(
        "/api/v1/consent",
        headers={"Origin": "https://www.samtycke.test:8443", "Access-Control-Request-Method": "POST"},
    )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://www.samtycke.test:8443"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    denied = consent_client.options(
        "/api/v1/consent", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert denied.status_code == 403 and "access-control-allow-origin" not in denied.headers

    ok = consent_client.post(
        "/api/v1/consent", json=choice(), headers={"Origin": "http://demo.localhost:3000"}
    )
    assert ok.status_code == 201 and ok.headers["access-control-allow-origin"] == "http://demo.localhost:3000"
    foreign = consent_client.post(
        "/api/v1/consent", json=choice(), headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers
    config = consent_client.get("/api/v1/sites/1/consent-config", headers={"Origin": "https://evil.example"})
    assert config.status_code == 200 and "access-control-allow-origin" not in config.headers
    # Errors reach an allowed origin's scripts too, so the banner can read the message.
    bad = consent_client.post(
        "/api/v1/consent", json=choice(method="x"), headers={"Origin": "http://localhost:8080"}
    )
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == "http://localhost:8080"


def test_forged_or_foreign_key_cookies_are_no_consent(consent_client: TestClient) -> None:
    consent_client.cookies.set("samtycke_consent", "forged.value.here")
    assert consent_client.get("/api/v1/consent").json() == {
        "consent_id": None,
        "state": None,
        "history": [],
        "checkpoint": None,
    }
    from samtycke.settings import Secret
    from samtycke.signing import Signer

    stranger = Signer([Secret("some-other-key")]).dumps(
        "consent", {"id": "x", "site": 1, "granted": [], "decisions": {}, "v": VERSION, "exp": 4102444800}
    )
    consent_client.cookies.set("samtycke_consent", stranger)
    assert consent_client.get("/api/v1/consent").json()["consent_id"] is None
    response = consent_client.post("/api/v1/consent", json=choice())
    assert response.status_code == 201 and response.json()["receipt"]["previous_receipt_id"] is None


def test_expired_cookie_is_no_consent(consent_client: TestClient) -> None:
    signer = consent_client.app.state.services.signer  # type: ignore[attr-defined]
    old = signer.dumps(
        "consent",
        {"id": "abc", "site": 1, "granted": ["statistics"], "decisions": {}, "v": VERSION, "exp": 1000},
    )
    consent_client.cookies.set("samtycke_consent", old)
    assert consent_client.get("/api/v1/consent").json()["state"] is None


def test_cookies_signed_with_an_old_key_still_verify(
    make_settings: Callable[..., Settings], open_client: Callable[[Settings], TestClient]
) -> None:
    base = make_settings()
    first = replace(base, server=replace(base.server, secret_keys=["old"]))
    client = open_client(first)
    recorded = client.post("/api/v1/consent", json=choice()).json()["receipt"]
    cookie = client.cookies["samtycke_consent"]
    client.__exit__(None, None, None)

    rotated = replace(first, server=replace(first.server, secret_keys=["old", "new"]))
    again = open_client(rotated)
    with_cookie = {"Cookie": f"samtycke_consent={cookie}"}
    state = again.get("/api/v1/consent", headers=with_cookie).json()
    assert state["consent_id"] == recorded["subject"]["consent_id"]
    assert [h["receipt"]["receipt_id"] for h in state["history"]] == [recorded["receipt_id"]]
    response = again.post(
        "/api/v1/consent", json=choice(method="reject_all", decisions={}), headers=with_cookie
    )
    assert response.json()["receipt"]["previous_receipt_id"] == recorded["receipt_id"]
    new_cookie = response.headers.get_list("set-cookie")[0].split(";")[0].split("=", 1)[1]
    assert Signer([Secret("new")]).loads("consent", new_cookie) is not None  # the newest key signs
    assert Signer([Secret("old")]).loads("consent", new_cookie) is None


def test_history_export_withdraw_and_erase(consent_client: TestClient) -> None:
    first = consent_client.post("/api/v1/consent", json=choice()).json()["receipt"]
    consent_id = first["subject"]["consent_id"]
    history = consent_client.get("/api/v1/consent").json()
    assert history["consent_id"] == consent_id and history["state"]["granted"] == ["statistics"]
    assert len(history["history"]) == 1 and history["checkpoint"].startswith("samtycke/")
    proof = history["history"][0]["inclusion_proof"]
    from tests.consent import rfc6962

    assert rfc6962.check_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["leaf_index"],
        proof["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(proof["root_hash"]),
    )

    kantara = consent_client.get("/api/v1/consent/export?format=kantara")
    assert kantara.status_code == 200 and "attachment" in kantara.headers["content-disposition"]
    assert kantara.json()["consent_receipts"][0]["receipt_id"] == first["receipt_id"]
    dpv = consent_client.get("/api/v1/consent/export?format=dpv").json()
    assert "@context" in dpv and dpv["@graph"][0]["@type"] == "dpv:ConsentRecord"
    assert consent_client.get("/api/v1/consent/export?format=xml").status_code == 422

    withdrawn = consent_client.post("/api/v1/consent/withdraw")
    assert withdrawn.status_code == 201
    receipt = withdrawn.json()["receipt"]
    assert receipt["event"] == "ConsentWithdrawn" and receipt["previous_receipt_id"] == first["receipt_id"]
    state_cookie = next(c for c in withdrawn.headers.get_list("set-cookie") if c.startswith("samtycke_state"))
    assert json.loads(unquote(state_cookie.split("=", 1)[1].split(";")[0]))["g"] == []

    erased = consent_client.delete("/api/v1/consent")
    assert erased.status_code == 200 and erased.json()["erased"] is True
    expired = erased.headers.get_list("set-cookie")
    assert all("Max-Age=0" in c for c in expired) and len(expired) == 2
    assert consent_client.get("/api/v1/consent").json()["consent_id"] is None
    assert consent_client.post("/api/v1/consent/withdraw").status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "site_id": st.one_of(st.just(1), json_values),
            "decisions": st.one_of(
                st.dictionaries(
                    st.sampled_from(["necessary", "preferences", "statistics", "marketing", "x"]), json_values
                ),
                json_values,
            ),
            "method": st.one_of(
                st.sampled_from(["accept_all", "reject_all", "custom", "gpc", "withdraw"]), json_values
            ),
            "notice_version": st.one_of(st.just(VERSION), json_values),
            "lang": st.one_of(st.sampled_from(["sv", "en"]), json_values),
        },
    ),
)


def test_fuzzed_bodies_never_cause_a_server_error(consent_client: TestClient) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, gpc=st.booleans())
    def check(body: object, gpc: bool) -> None:
        headers = {"Sec-GPC": "1"} if gpc else {}
        response = consent_client.post("/api/v1/consent", content=json.dumps(body), headers=headers)
        assert response.status_code in (201, 400, 413, 422), (body, response.text)
        if response.status_code != 201:
            assert response.json()["error"]["message"]

    check()
    raw = consent_client.post("/api/v1/consent", content=b"\xff\xfe garbage")
    assert raw.status_code == 400
