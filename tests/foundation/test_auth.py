"""Tokens, sessions, roles: 401 without credentials, 403 with the wrong role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from samtycke.auth import SESSION_COOKIE
from samtycke.settings import Settings
from samtycke.signing import Signer
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN_TOKEN, TOKENS, bearer


@pytest.fixture
def auth_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        tokens=TOKENS,
        users=[
            {
                "name": "anna",
                "role": "marketer",
                "password_argon2": PasswordHasher().hash("correct horse battery"),
            }
        ],
    )


@pytest.fixture
def guarded(auth_settings: Settings) -> Iterator[TestClient]:
    """The app with a route for marketers, running, with its sessions table migrated."""
    app = create_app(auth_settings)
    services = app.state.services

    async def stats_only(request: Request) -> JSONResponse:
        principal = await services.auth.require(request, "marketer")
        return JSONResponse({"name": principal.name, "role": principal.role})

    app.router.routes.append(Route("/api/v1/guarded", stats_only, methods=["GET", "POST"]))
    with TestClient(app, base_url="http://localhost") as client:
        wait_ready(client)
        yield client


def test_no_credentials_is_401_json_for_the_api(guarded: TestClient) -> None:
    response = guarded.get("/api/v1/guarded")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("role", "status"), [("marketer", 200), ("admin", 200), ("auditor", 403)])
def test_roles(guarded: TestClient, role: str, status: int) -> None:
    response = guarded.get("/api/v1/guarded", headers=bearer(role))
    assert response.status_code == status


def test_a_wrong_token_is_401(guarded: TestClient) -> None:
    assert guarded.get("/api/v1/guarded", headers={"authorization": "Bearer nope"}).status_code == 401


def test_password_login_sets_a_signed_session_that_authorises(guarded: TestClient) -> None:
    response = guarded.post(
        "/login",
        data={"name": "anna", "password": "correct horse battery", "next": "/api/v1/guarded"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/api/v1/guarded"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert guarded.get("/api/v1/guarded").json() == {"name": "anna", "role": "marketer"}


def test_wrong_password_is_refused_and_login_is_rate_limited(guarded: TestClient) -> None:
    statuses = [
        guarded.post("/login", data={"name": "anna", "password": "wrong"}).status_code for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


def test_login_never_redirects_off_site(guarded: TestClient) -> None:
    response = guarded.post(
        "/login", data={"token": ADMIN_TOKEN, "next": "https://evil.example/"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"


def test_a_forged_session_is_no_session(guarded: TestClient) -> None:
    guarded.cookies.set(SESSION_COOKIE, "eyJuYW1lIjoieCIsInJvbGUiOiJhZG1pbiJ9.forged.sig")
    assert guarded.get("/api/v1/guarded").status_code == 401


def test_sessions_signed_with_an_older_key_still_verify() -> None:
    old = Signer(["k-old"])  # type: ignore[list-item]
    rotated = Signer(["k-old", "k-new"])  # type: ignore[list-item]
    value = old.dumps("session", {"name": "a", "role": "admin"})
    assert rotated.loads("session", value) == {"name": "a", "role": "admin"}
    newer = rotated.dumps("session", {"name": "b", "role": "admin"})
    assert old.loads("session", newer) is None, "the newest key signs"
    assert rotated.loads("consent", value) is None, "one salt per purpose"


def test_login_page_renders_in_both_languages(guarded: TestClient) -> None:
    assert "Logga in" in guarded.get("/login?lang=sv").text
    assert re.search(r"<h1>Log in</h1>", guarded.get("/login?lang=en").text)
