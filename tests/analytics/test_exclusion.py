"""Exclusions and overrides that depend on site settings: DNT, GPC, IP ranges, spam, cip/cdt."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.analytics.conftest import (
    CHROME,
    LONG_RETENTION_MONTHS,
    AppFactory,
    dropped,
    hit,
    rows,
    site,
)
from tests.support.tokens import ADMIN_TOKEN

UA = {"user-agent": CHROME}


def count(test_client: TestClient) -> int:
    return int(rows(test_client, "SELECT count() FROM events")[0][0])


def test_dnt_is_honoured_per_site(make_client: AppFactory) -> None:
    honouring = make_client()
    honouring.get("/matomo.php", params=hit(), headers={**UA, "dnt": "1"})
    assert dropped(honouring, "dnt") == 1
    assert count(honouring) == 0
    ignoring = make_client(sites=[site(honour_dnt=False)])
    ignoring.get("/matomo.php", params=hit(), headers={**UA, "dnt": "1"})
    assert count(ignoring) == 1


def test_gpc_turns_a_consented_tracker_id_into_a_cookieless_one(make_client: AppFactory) -> None:
    consented = hit(_id="0123456789abcdef", consent=1)
    honouring = make_client()
    honouring.get("/matomo.php", params=consented, headers={**UA, "sec-gpc": "1"})
    honouring.get("/matomo.php", params=consented, headers=UA)
    assert sorted(r[0] for r in rows(honouring, "SELECT identified FROM events")) == [0, 1]
    ignoring = make_client(sites=[site(honour_gpc=False)])
    ignoring.get("/matomo.php", params=consented, headers={**UA, "sec-gpc": "1"})
    assert rows(ignoring, "SELECT identified FROM events") == [(1,)]


def test_excluded_ips_and_referrer_spam(make_client: AppFactory) -> None:
    test_client = make_client(
        peer="10.1.2.3", sites=[site(excluded_ips=["10.0.0.0/8"], referrer_spam=["spam.example"])]
    )
    test_client.get("/matomo.php", params=hit(), headers=UA)
    assert dropped(test_client, "excluded_ip") == 1
    other = make_client(peer="192.0.2.7", sites=[site(referrer_spam=["spam.example"])])
    other.get("/matomo.php", params=hit(urlref="https://www.spam.example/x"), headers=UA)
    other.get("/matomo.php", params=hit(urlref="https://fine.example/x"), headers=UA)
    assert dropped(other, "referrer_spam") == 1
    assert rows(other, "SELECT channel, source FROM events") == [("Referral", "fine.example")]


def test_recording_off_is_503(make_client: AppFactory) -> None:
    test_client = make_client(analytics={"recording": False})
    assert test_client.get("/matomo.php", params=hit()).status_code == 503


def test_cip_and_cdt_need_an_admin_token(make_client: AppFactory, geoip_db: Path) -> None:
    # The claimed time is a fixed date: the site keeps raw events long past it.
    test_client = make_client(
        analytics={"geoip_database": str(geoip_db)}, sites=[site(retention_months=LONG_RETENTION_MONTHS)]
    )
    claimed = hit(url="http://localhost/claimed", cip="81.230.1.1", cdt="2026-11-01 10:00:00")
    test_client.get("/matomo.php", params=claimed, headers=UA)
    test_client.get(
        "/matomo.php", params={**claimed, "url": "http://localhost/admin", "token_auth": ADMIN_TOKEN}
    )
    found = rows(test_client, "SELECT pathname, country, toString(timestamp) FROM events ORDER BY pathname")
    assert found[0] == ("/admin", "SE", "2026-11-01 10:00:00.000")
    assert found[1][0] == "/claimed" and found[1][1] == "" and not found[1][2].startswith("2026-11-01")
