"""Cookie-authenticated changes come only from samtycke's own pages; sessions end on the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from samtycke.auth import SESSION_COOKIE
from samtycke.cli import main
from samtycke.sessions import SESSION_SECONDS
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.config import demo_raw
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN, ADMIN_TOKEN, TOKENS

PASSWORD = "correct horse battery"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

# Routes that change something but never act on the login cookie: what a visitor's browser
# calls from the sites, with their own CORS rules, and what a site's customer portal calls
# with an account token it signed.
VISITOR_ROUTES = {
    ("POST", "/matomo.php"),
    ("POST", "/piwik.php"),
    ("POST", "/api/v1/consent"),
    ("DELETE", "/api/v1/consent"),
    ("POST", "/api/v1/consent/withdraw"),
    ("POST", "/api/v1/consent/handoff"),
    ("POST", "/api/v1/consent/handoff/redeem"),
    ("POST", "/api/v1/consent/account"),
    ("DELETE", "/api/v1/accounts/consent"),
}
# A stored goal and a saved funnel, made before each test with a bearer token.
GOAL = {"id": 900, "name": "CSRF", "page": "/csrf*"}
FUNNEL = {"name": "CSRF", "steps": [{"page": "/"}, {"goal": "CSRF"}], "within": "visit"}
# Every route that changes something with the login cookie, called with valid input.
COOKIE_ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/audit/purge"): {},
    ("POST", "/api/v1/stats/query"): {"json": {"site_id": 1, "metrics": ["visitors"], "date_range": "7d"}},
    ("POST", "/api/v1/stats/funnel"): {
        "json": {
            "site_id": 1,
            "date_range": "7d",
            "within": "visit",
            "steps": [{"page": "/"}, {"page": "/a"}],
        }
    },
    ("DELETE", "/api/v1/visitors/{visitor_id}"): {"params": {"site_id": 1}},
    ("POST", "/api/v1/backup"): {},
    ("POST", "/login"): {"data": {"token": ADMIN_TOKEN}},
    ("POST", "/logout"): {},
    ("POST", "/setup/{token}"): {"data": {"name": "root", "password": PASSWORD, "again": PASSWORD}},
    ("POST", "/api/v1/accounts"): {"json": {"name": "maria", "role": "marketer", "password": PASSWORD}},
    ("PATCH", "/api/v1/accounts/{name}"): {"json": {"disabled": False}},
    ("DELETE", "/api/v1/accounts/{name}"): {},
    ("PUT", "/api/v1/accounts/{name}/password"): {"json": {"password": PASSWORD}},
    ("POST", "/api/v1/accounts/{name}/tokens"): {},
    ("DELETE", "/api/v1/accounts/{name}/tokens/{token_id}"): {},
    ("DELETE", "/api/v1/accounts/{name}/sessions"): {},
    ("POST", "/admin/accounts"): {"data": {"action": "enable", "name": "maria"}},
    ("POST", "/api/v1/sites/{site_id}/goals"): {"json": GOAL},
    ("PUT", "/api/v1/sites/{site_id}/goals/{goal_id}"): {"json": GOAL},
    ("DELETE", "/api/v1/sites/{site_id}/goals/{goal_id}"): {},
    ("POST", "/api/v1/sites/{site_id}/funnels"): {"json": FUNNEL},
    ("PUT", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): {"json": FUNNEL},
    ("DELETE", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): {},
}
PATHS = {
    "/api/v1/visitors/{visitor_id}": "/api/v1/visitors/0123456789abcdef",
    "/setup/{token}": "/setup/not-the-link",
    "/api/v1/accounts/{name}": "/api/v1/accounts/nobody",
    "/api/v1/accounts/{name}/password": "/api/v1/accounts/maria/password",
    "/api/v1/accounts/{name}/tokens": "/api/v1/accounts/maria/tokens",
    "/api/v1/accounts/{name}/tokens/{token_id}": "/api/v1/accounts/maria/tokens/0123456789ab",
    "/api/v1/accounts/{name}/sessions": "/api/v1/accounts/maria/sessions",
    "/api/v1/sites/{site_id}/goals": "/api/v1/sites/1/goals",
    "/api/v1/sites/{site_id}/funnels": "/api/v1/sites/1/funnels",
    # DELETE would remove them: these are nobody's; PUT changes the stored ones to what they are.
    "/api/v1/sites/{site_id}/goals/{goal_id}": "/api/v1/sites/1/goals/900",
    "/api/v1/sites/{site_id}/funnels/{funnel_id}": "/api/v1/sites/1/funnels/1",
}
NOBODYS = {
    ("DELETE", "/api/v1/sites/{site_id}/goals/{goal_id}"): "/api/v1/sites/1/goals/999",
    ("DELETE", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): "/api/v1/sites/1/funnels/999",
}
# From samtycke's own pages a change passes the origin check and gets its own answer; these
# cannot be made twice alike, so they name what is already so: the account "maria" exists,
# "nobody" and the token do not.
OWN_ANSWER = {
    ("POST", "/api/v1/accounts"): 409,
    ("POST", "/api/v1/accounts/{name}/tokens"): 201,
    ("PATCH", "/api/v1/accounts/{name}"): 404,
    ("DELETE", "/api/v1/accounts/{name}"): 404,
    ("DELETE", "/api/v1/accounts/{name}/tokens/{token_id}"): 404,
    ("POST", "/setup/{token}"): 404,
    ("POST", "/api/v1/sites/{site_id}/goals"): 409,
    ("DELETE", "/api/v1/sites/{site_id}/goals/{goal_id}"): 404,
    ("POST", "/api/v1/sites/{site_id}/funnels"): 409,
    ("DELETE", "/api/v1/sites/{site_id}/funnels/{funnel_id}"): 404,
}

# What browsers send with a request from another origin: a sibling subdomain (same site, so a
# SameSite=Lax cookie comes along), another site, and an older browser without Sec-Fetch-Site.
FOREIGN = [
    {"sec-fetch-site": "same-site", "origin": "http://www.demo.localhost"},
    {"sec-fetch-site": "cross-site", "origin": "https://evil.example"},
    {"origin": "http://www.demo.localhost"},
    {"origin": "null"},
]
# ... and from samtycke's own pages, or from no browser at all.
OWN = [
    {"sec-fetch-site": "same-origin", "origin": "http://localhost"},
    {"origin": "http://localhost"},
    {"sec-fetch-site": "none"},
    {},
]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def auth_settings(make_settings: Callable[..., Settings]) -> Settings:
    hashed = PasswordHasher().hash(PASSWORD)
    return make_settings(tokens=TOKENS, users=[{"name": "anna", "role": "admin", "password_argon2": hashed}])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(auth_settings: Settings, clock: Clock) -> Starlette:
    return create_app(auth_settings, now=clock)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://localhost") as test_client:
        wait_ready(test_client)
        yield test_client


def log_in(client: TestClient, **fields: str) -> str:
    client.cookies.clear()
    response = client.post(
        "/login", data=fields or {"name": "anna", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(client.cookies[SESSION_COOKIE])


def authorised(client: TestClient, cookie: str) -> int:
    """The status of a cookie-authenticated read with this session cookie."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    return client.get("/api/v1/stats/realtime", params={"site_id": 1}).status_code


def test_every_state_changing_route_is_covered(app: Starlette) -> None:
    found = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or set()) & UNSAFE
    }
    assert found == VISITOR_ROUTES | set(COOKIE_ROUTES)


@pytest.mark.parametrize(("method", "path"), sorted(COOKIE_ROUTES))
def test_cookie_authenticated_changes_from_another_origin_are_refused(
    client: TestClient, method: str, path: str
) -> None:
    created = client.post(
        "/api/v1/accounts", json={"name": "maria", "role": "marketer", "password": PASSWORD}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    for kind, body in (("goals", GOAL), ("funnels", FUNNEL)):
        stored = client.post(f"/api/v1/sites/1/{kind}", json=body, headers=ADMIN)
        assert stored.status_code == 201, stored.text
    log_in(client, token=ADMIN_TOKEN)
    url = NOBODYS.get((method, path)) or PATHS.get(path, path)
    for headers in FOREIGN:
        response = client.request(
            method, url, headers=headers, follow_redirects=False, **COOKIE_ROUTES[(method, path)]
        )
        assert response.status_code == 403, (headers, response.text)
        assert "set-cookie" not in response.headers, "no session is started or ended"
    for headers in OWN:
        response = client.request(
            method, url, headers=headers, follow_redirects=False, **COOKIE_ROUTES[(method, path)]
        )
        assert response.status_code == OWN_ANSWER.get((method, path), response.status_code), response.text
        assert response.status_code in (200, 303) or (method, path) in OWN_ANSWER, (headers, response.text)


def test_bearer_token_calls_need_no_origin_check(client: TestClient) -> None:
    for headers in FOREIGN:
        response = client.post("/api/v1/audit/purge", headers={**ADMIN, **headers})
        assert response.status_code == 200, response.text


def test_the_configured_public_origin_is_samtyckes_own(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(tokens=TOKENS, server={"public_url": "https://consent.example.se"})
    with TestClient(create_app(settings), base_url="https://internal:8000") as client:
        wait_ready(client)
        log_in(client, token=ADMIN_TOKEN)
        own = client.post("/api/v1/audit/purge", headers={"origin": "https://consent.example.se"})
        foreign = client.post("/api/v1/audit/purge", headers={"origin": "https://www.example.se"})
    assert (own.status_code, foreign.status_code) == (200, 403)


def secure_flag(
    app: Starlette, peer: str, headers: dict[str, str], base_url: str = "http://localhost"
) -> bool:
    """Whether login's cookie is Secure, for a request from ``peer`` (the app is running)."""
    response = TestClient(app, base_url=base_url, client=(peer, 50000)).post(
        "/login", data={"token": ADMIN_TOKEN}, headers=headers, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    return "secure" in cookie.lower()


def test_the_session_cookie_is_secure_over_https(
    app: Starlette, client: TestClient, make_settings: Callable[..., Settings]
) -> None:
    assert not secure_flag(app, "127.0.0.1", {})
    assert secure_flag(app, "127.0.0.1", {"x-forwarded-proto": "https"}), "a trusted proxy says https"
    assert secure_flag(app, "127.0.0.1", {"forwarded": "for=192.0.2.1;proto=https"})
    assert not secure_flag(app, "203.0.113.9", {"x-forwarded-proto": "https"}), "anyone else may not"
    assert secure_flag(app, "203.0.113.9", {}, base_url="https://localhost")
    public = create_app(make_settings(tokens=TOKENS, server={"public_url": "https://consent.example.se"}))
    with TestClient(public, base_url="http://localhost") as running:
        wait_ready(running)
        assert secure_flag(public, "203.0.113.9", {}), "the public URL is https"


def test_logging_out_ends_the_session_on_the_server(client: TestClient) -> None:
    cookie = log_in(client)
    assert authorised(client, cookie) == 200
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert authorised(client, cookie) == 401, "a copy of the cookie no longer logs in"


def test_an_admin_ends_every_session_of_an_account(client: TestClient) -> None:
    first, second = log_in(client), log_in(client)
    other = log_in(client, token=ADMIN_TOKEN)
    client.cookies.clear()
    response = client.delete("/api/v1/accounts/anna/sessions", headers=ADMIN)
    assert response.json() == {"name": "anna", "ended": 2}
    assert (authorised(client, first), authorised(client, second)) == (401, 401)
    assert authorised(client, other) == 200, "other accounts stay logged in"
    client.cookies.clear()
    assert client.delete("/api/v1/accounts/anna/sessions").status_code == 401


def test_sessions_expire_after_their_lifetime(client: TestClient, clock: Clock) -> None:
    cookie = log_in(client)
    clock.now += timedelta(seconds=SESSION_SECONDS - 60)
    assert authorised(client, cookie) == 200
    clock.now += timedelta(seconds=61)
    assert authorised(client, cookie) == 401


def test_a_signed_cookie_naming_a_user_is_no_session(app: Starlette, client: TestClient) -> None:
    # What the cookie held before sessions were kept on the server: it cannot be ended, so it is not accepted.
    forged = app.state.services.signer.dumps("session", {"name": "anna", "role": "admin"})
    assert authorised(client, forged) == 401


def test_the_command_line_ends_every_session_of_an_account(auth_settings: Settings, tmp_path: Path) -> None:
    storage = auth_settings.storage
    raw = demo_raw(
        storage={
            "clickhouse_url": storage.clickhouse_url,
            "database": storage.database,
            "data_dir": storage.data_dir,
        },
        server={"secret_keys": ["test-key-1"]},
    )
    config = tmp_path / "samtycke.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    # The service's own clock, as the command's: sessions still live by both.
    with TestClient(create_app(auth_settings), base_url="http://localhost") as client:
        wait_ready(client)
        first, second = log_in(client), log_in(client)
        assert main(["sessions", "revoke", "anna", "--config", str(config)]) == 0
        assert (authorised(client, first), authorised(client, second)) == (401, 401)
        events = client.get("/api/v1/audit/accounts", headers=ADMIN).json()["events"]
    recorded = [(e["actor"], e["action"], e["target"]) for e in events]
    assert ("cli", "end_sessions", "anna") in recorded, "recorded like the accounts page's change"
