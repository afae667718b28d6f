"""The first admin: a one-time setup link, printed only when nobody can administer samtycke."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from samtycke.accounts import Principal
from samtycke.accounts.first_run import LINK_SECONDS, FirstRun
from samtycke.auth import SESSION_COOKIE
from samtycke.services import build
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import TOKENS

PASSWORD = "correct horse battery"
HINT = "printed on the terminal where"


class Ticks:
    """The link's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Serving:
    """An app as ``samtycke serve`` runs it: with a first-run link that prints to ``printed``."""

    def __init__(self, settings: Settings) -> None:
        self.printed: list[str] = []
        self.ticks = Ticks()
        self.services = build(settings)
        self.services.first_run = FirstRun("http://127.0.0.1:8000", self.printed.append, clock=self.ticks)
        self.app = create_app(settings, services=self.services)

    @contextmanager
    def running(self) -> Iterator[TestClient]:
        with TestClient(self.app, base_url="http://localhost") as client:
            wait_ready(client)
            yield client

    def link(self, timeout: float = 30.0) -> str:
        """The path of the printed link, once the service has looked for an admin."""
        deadline = time.monotonic() + timeout
        while not self.printed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.printed, "no setup link was printed"
        return urlsplit(self.printed[-1]).path


@pytest.fixture
def serving(settings: Settings) -> Serving:
    return Serving(settings)


def create(client: TestClient, link: str, name: str = "root", again: str = PASSWORD) -> Any:
    """The form sent; the response's type is the test client's (httpx or its successor)."""
    return client.post(
        link, data={"name": name, "password": PASSWORD, "again": again}, follow_redirects=False
    )


def test_without_an_admin_a_link_is_printed_and_creates_the_first_admin(serving: Serving) -> None:
    with serving.running() as client:
        link = serving.link()
        assert link.startswith("/setup/") and len(link) > len("/setup/") + 40
        page = client.get(link)
        assert page.status_code == 200 and 'name="again"' in page.text
        assert page.headers["cache-control"] == "no-store"

        created = create(client, link)
        assert created.status_code == 303 and created.headers["location"] == "/"
        assert SESSION_COOKIE in created.headers["set-cookie"]
        start = client.get("/")
        assert "root" in start.text and 'action="/logout"' in start.text
        assert client.get("/audit", follow_redirects=False).status_code == 200

        client.cookies.clear()
        assert client.get(link).status_code == 404, "the link works once"
        assert create(client, link, name="second").status_code == 404
        accounts = serving.services.accounts
        assert client.portal is not None
        assert [a.name for a in client.portal.call(accounts.list)] == ["root"]
        events = client.portal.call(accounts.events.recent, 10)
        assert [(e.actor, e.action, e.target, e.detail) for e in events] == [
            ("setup", "create", "root", "role=admin")
        ]
        assert HINT not in client.get("/").text, "once there is an admin, nobody is sent to the terminal"


def test_the_start_page_and_login_form_say_where_the_link_is_without_showing_it(serving: Serving) -> None:
    with serving.running() as client:
        token = serving.link().rsplit("/", 1)[1]
        for path, lang, text in (
            ("/", "en", HINT),
            ("/login", "en", HINT),
            ("/?lang=sv", "sv", "skrevs ut i terminalen"),
            ("/login?lang=sv", "sv", "skrevs ut i terminalen"),
        ):
            page = client.get(path)
            assert text in page.text, (path, lang)
            assert token not in page.text and "/setup/" not in page.text


def test_a_refused_form_keeps_the_name_and_the_link(serving: Serving) -> None:
    with serving.running() as client:
        link = serving.link()
        mismatch = create(client, link, name="åsa", again="another horse battery")
        assert mismatch.status_code == 422
        assert 'value="åsa"' in mismatch.text and "do not match" in mismatch.text
        short = client.post(link, data={"name": "root", "password": "short", "again": "short"})
        assert short.status_code == 422 and "at least 10 characters" in short.text
        bad_name = create(client, link, name="<script>")
        assert bad_name.status_code == 422 and "<script>" not in bad_name.text
        swedish = client.post(
            link + "?lang=sv", data={"name": "root", "password": PASSWORD, "again": "nope nope nope"}
        )
        assert "Lösenorden stämmer inte överens." in swedish.text
        assert create(client, link).status_code == 303, "the link still works after refusals"


def test_the_link_expires_after_a_day(serving: Serving) -> None:
    with serving.running() as client:
        link = serving.link()
        serving.ticks.now += LINK_SECONDS - 1
        assert client.get(link).status_code == 200
        serving.ticks.now += 1
        assert client.get(link).status_code == 404
        assert create(client, link).status_code == 404
        assert HINT not in client.get("/").text


def test_a_restart_prints_a_new_link_and_the_old_one_stops_working(settings: Settings) -> None:
    first = Serving(settings)
    with first.running():
        old = first.link()
    second = Serving(settings)
    with second.running() as client:
        new = second.link()
        assert new != old
        assert client.get(old).status_code == 404
        assert client.get(new).status_code == 200


def test_an_admin_made_elsewhere_ends_the_link(serving: Serving) -> None:
    with serving.running() as client:
        link = serving.link()
        assert client.portal is not None
        accounts = serving.services.accounts
        client.portal.call(lambda: accounts.create("ops", "admin", PASSWORD, actor="cli"))
        assert create(client, link).status_code == 404
        assert client.get(link).status_code == 404


def test_no_link_when_the_configuration_has_an_admin(make_settings: Callable[..., Settings]) -> None:
    hashed = PasswordHasher().hash(PASSWORD)
    for configured in (
        {"users": [{"name": "anna", "role": "admin", "password_argon2": hashed}]},
        {"tokens": TOKENS},
    ):
        serving = Serving(make_settings(**configured))
        with serving.running() as client:
            assert client.portal is not None
            assert client.portal.call(serving.services.accounts.any_admin)
            assert serving.printed == []
            assert HINT not in client.get("/").text


def test_the_form_must_come_from_samtyckes_own_pages(serving: Serving) -> None:
    with serving.running() as client:
        link = serving.link()
        response = client.post(
            link,
            data={"name": "evil", "password": PASSWORD, "again": PASSWORD},
            headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
            follow_redirects=False,
        )
        assert response.status_code == 403 and "set-cookie" not in response.headers
        assert client.get(link).status_code == 200, "a forged form does not use the link up"
        from_own_page = client.post(
            link,
            data={"name": "root", "password": PASSWORD, "again": PASSWORD},
            headers={"origin": "http://localhost", "sec-fetch-site": "same-origin"},
            follow_redirects=False,
        )
        assert from_own_page.status_code == 303


def test_only_the_serving_process_offers_a_link(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as client:
        wait_ready(client)
        assert client.get("/setup/anything").status_code == 404
        assert HINT not in client.get("/").text


def test_the_first_admin_is_an_account_like_any_other(serving: Serving) -> None:
    with serving.running() as client:
        create(client, serving.link())
        client.cookies.clear()
        assert client.portal is not None
        verified = client.portal.call(serving.services.accounts.verify_password, "root", PASSWORD)
        assert verified == Principal("root", "admin")
