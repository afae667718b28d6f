"""``/admin/accounts`` in-process on real chDB: forms post, redirect and say what was done, or say why not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.auth import SESSION_COOKIE
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import ADMIN_TOKEN, MARKETER, TOKENS

PASSWORD = "a long enough pass phrase"


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tokens=TOKENS)), base_url="http://localhost") as test_client:
        wait_ready(test_client)
        yield test_client


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    """The client, logged in as the configuration file's admin (a session cookie)."""
    response = client.post("/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    assert response.status_code == 303 and client.cookies.get(SESSION_COOKIE)
    return client


def act(client: TestClient, lang: str = "en", **fields: str) -> Any:
    return client.post(f"/admin/accounts?lang={lang}", data=fields, follow_redirects=False)


def test_only_admins_see_the_page_and_the_links_to_it(client: TestClient) -> None:
    anonymous = client.get("/admin/accounts", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=%2Fadmin%2Faccounts")
    assert client.get("/admin/accounts", headers=MARKETER).status_code == 403
    assert "/admin/accounts" not in client.get("/").text
    client.post("/login", data={"token": ADMIN_TOKEN})
    start = client.get("/?lang=sv").text
    assert start.count('href="/admin/accounts"') == 2, "in the header and among the start page's links"
    assert "Konton och token" in start


def test_creating_redirects_to_the_page_saying_so(admin: TestClient) -> None:
    response = act(admin, action="create", name="maria", role="auditor", password=PASSWORD)
    assert response.status_code == 303
    location = response.headers["location"]
    assert "maria" not in location, "what was done travels signed"
    page = admin.get(location)
    assert page.headers["cache-control"] == "no-store"
    assert "The account maria was created." in page.text
    assert PASSWORD not in page.text
    assert "From the configuration file: change it there." in page.text
    forged = admin.get("/admin/accounts", params={"done": "delete", "account": "ceo"})
    assert "ceo" not in forged.text and 'role="status"' not in forged.text


def test_a_token_is_in_the_one_answer_that_issued_it(admin: TestClient) -> None:
    act(admin, action="create", name="maria", role="marketer", password=PASSWORD)
    issued = act(admin, action="token", name="maria")
    assert issued.status_code == 201
    assert issued.headers["cache-control"] == "no-store"
    body = issued.text
    token = body.split('id="new-token" readonly value="', 1)[1].split('"', 1)[0]
    assert admin.get("/api/v1/stats/realtime", params={"site_id": 1}).status_code == 200
    admin.cookies.clear()
    own = {"Authorization": f"Bearer {token}"}
    assert admin.get("/api/v1/stats/realtime", params={"site_id": 1}, headers=own).status_code == 200
    admin.post("/login", data={"token": ADMIN_TOKEN})
    assert token not in admin.get("/admin/accounts").text


def test_refusals_show_the_page_again_in_its_language(admin: TestClient) -> None:
    weak = act(admin, "sv", action="create", name="maria", role="auditor", password="kort")
    assert weak.status_code == 422
    text = weak.text
    assert "Ett lösenord har minst 10 och högst 1024 tecken." in text
    assert 'value="maria"' in text and '<option value="auditor" selected>' in text, "the form as it was sent"
    configured = act(admin, "sv", action="disable", name="admin")
    assert configured.status_code == 409
    assert "Kontot finns i konfigurationsfilen och ändras där." in configured.text
    english = act(admin, action="enable", name="nobody")
    assert english.status_code == 404
    assert "no account named &#39;nobody&#39;" in english.text
    unknown = act(admin, action="promote", name="nobody")
    assert unknown.status_code == 422
    huge = act(admin, action="create", name="x" * 5000, role="auditor", password=PASSWORD)
    assert huge.status_code == 422


def test_deleting_needs_the_box_ticked(admin: TestClient) -> None:
    act(admin, action="create", name="maria", role="auditor", password=PASSWORD)
    unconfirmed = act(admin, action="delete", name="maria")
    assert unconfirmed.status_code == 422
    assert admin.get("/api/v1/accounts/maria").status_code == 200, "still there"
    assert act(admin, action="delete", name="maria", confirm="yes").status_code == 303
    assert admin.get("/api/v1/accounts/maria").status_code == 404


def test_ending_sessions_says_how_many(admin: TestClient) -> None:
    act(admin, action="create", name="maria", role="auditor", password=PASSWORD)
    other = TestClient(admin.app, base_url="http://localhost")
    assert (
        other.post("/login", data={"name": "maria", "password": PASSWORD}, follow_redirects=False).status_code
        == 303
    )
    ended = act(admin, action="sessions", name="maria")
    location = ended.headers["location"]
    assert "maria was logged out everywhere; sessions ended: 1." in admin.get(location).text
    assert other.get("/api/v1/audit/accounts").status_code == 401
