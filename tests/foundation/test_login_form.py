"""A refused login shows the form again; every page's header names who is logged in, with a logout button."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from samtycke.web.login import PER_ACCOUNT
from tests.support.live import wait_ready

PASSWORD = "correct horse battery"


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    hashed = PasswordHasher().hash(PASSWORD)
    settings = make_settings(users=[{"name": "anna", "role": "auditor", "password_argon2": hashed}])
    with TestClient(create_app(settings), base_url="http://localhost") as test_client:
        wait_ready(test_client)
        yield test_client


def test_a_wrong_password_shows_the_form_again_with_401_and_the_name(client: TestClient) -> None:
    response = client.post("/login", data={"name": "anna", "password": "wrong password!"})
    assert response.status_code == 401
    assert "text/html" in response.headers["content-type"]
    assert "Wrong user name, password or token." in response.text
    assert '<form method="post"' in response.text and 'value="anna"' in response.text


def test_a_wrong_token_is_401_without_a_name(client: TestClient) -> None:
    response = client.post("/login", data={"token": "not a token"})
    assert response.status_code == 401 and 'value=""' in response.text


def test_an_empty_form_is_400_with_what_to_enter(client: TestClient) -> None:
    response = client.post("/login", data={"name": "anna"})
    assert response.status_code == 400
    assert "Enter a user name and password, or a token." in response.text and 'value="anna"' in response.text


def test_the_form_again_in_swedish(client: TestClient) -> None:
    response = client.post("/login?lang=sv", data={"name": "anna", "password": "fel lösenord!"})
    assert response.status_code == 401 and "Fel användarnamn, lösenord eller token." in response.text
    assert '<html lang="sv">' in response.text


def test_a_throttled_login_is_429_with_retry_after_in_the_form(client: TestClient) -> None:
    statuses = [
        client.post("/login", data={"name": "anna", "password": "wrong password!"}).status_code
        for _ in range(PER_ACCOUNT[0])
    ]
    assert statuses == [401] * PER_ACCOUNT[0]
    response = client.post("/login", data={"name": "anna", "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "Too many login attempts" in response.text and 'value="anna"' in response.text


def test_the_name_is_escaped_and_bounded(client: TestClient) -> None:
    response = client.post("/login", data={"name": '"><script>x</script>' + "a" * 500, "password": "nope"})
    assert response.status_code == 401
    assert "<script>x" not in response.text and "a" * 201 not in response.text


def test_a_refusal_is_logged_once_without_the_name(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        client.post("/login", data={"name": "anna.svensson", "password": "wrong password!"})
    # One line for the request: the access line, saying why the login was refused.
    lines = [r for r in caplog.records if r.name.startswith("samtycke")]
    assert [(r.name, getattr(r, "login_refused", None)) for r in lines] == [("samtycke.access", "wrong")]
    assert "anna.svensson" not in repr(lines[0].__dict__) and "testclient" not in repr(lines[0].__dict__)


def test_the_header_names_who_is_logged_in_and_logs_out(client: TestClient) -> None:
    assert "Logged in as" not in client.get("/").text
    assert client.post("/login", data={"name": "anna", "password": PASSWORD}).status_code == 200
    for path in ("/", "/audit", "/?lang=sv"):
        page = client.get(path)
        assert page.status_code == 200
        header = page.text.split("</header>")[0]
        assert "<strong>anna</strong>" in header, path
        assert 'action="/logout"' in header and 'method="post"' in header
    assert "Inloggad som" in client.get("/?lang=sv").text and "Logga ut" in client.get("/?lang=sv").text
    assert "(granskare)" in client.get("/?lang=sv").text and "(auditor)" in client.get("/").text
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert "Logged in as" not in client.get("/").text
    assert client.get("/audit", follow_redirects=False).status_code == 303
