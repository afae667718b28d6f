"""The accounts page in Chromium against a real ``samtycke serve``: an admin's whole round, and axe-core.

An admin of the configuration file logs in, creates an auditor, issues a token (shown
once) that then works against the API, revokes it, sets a new password, and the new
account logs in with it and finds the changes on the audit page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from argon2 import PasswordHasher
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import WWW
from tests.browser.test_banner_a11y import axe_violations
from tests.support.config import demo_raw
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

ADMIN, ADMIN_PASSWORD = "ada", "a long enough pass phrase"
FIRST, SECOND = "first pass phrase, long", "second pass phrase, long"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base: Path = tmp_path_factory.mktemp("accounts-page")
    raw = demo_raw(
        server={"secret_keys": ["accounts-page-key"]},
        users=[{"name": ADMIN, "role": "admin", "password_argon2": PasswordHasher().hash(ADMIN_PASSWORD)}],
    )
    live = LiveServer.of(base, raw).start()
    yield live
    live.stop()


def address(server: LiveServer, path: str) -> str:
    return f"http://{WWW}:{server.port}{path}"


def log_in(page: Page, server: LiveServer, name: str, password: str, then: str) -> None:
    page.goto(address(server, f"/login?next={quote(then, safe='')}"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_navigation():  # to ``then``, or to the form again with the reason
        page.click("form.login button[type=submit]")


def api_status(server: LiveServer, token: str) -> int:
    """What the token gets from the API, called as a script would."""
    return httpx.get(
        f"{server.url}/api/v1/audit/accounts", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_an_admin_creates_an_account_whose_token_and_new_password_work(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context(locale="en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=address(server, ""))
    page = context.new_page()
    log_in(page, server, ADMIN, ADMIN_PASSWORD, "/?lang=en")
    page.click("header nav >> text=Accounts")
    page.wait_for_url("**/admin/accounts*")
    assert page.locator("tr", has_text=ADMIN).get_by_text("From the configuration file").is_visible()

    page.fill("#create-name", "maria")
    page.select_option("#create-role", "auditor")
    page.fill("#create-password", FIRST)
    page.click("text=Create the account")
    assert page.get_by_role("status").inner_text() == "The account maria was created."
    row = page.locator("tr", has_text="maria")
    assert row.get_by_text("Auditor").is_visible() and row.get_by_text("Active").is_visible()

    row.locator("summary").click()
    page.get_by_role("button", name="Issue a token (maria)").click()
    token = page.input_value("#new-token")
    assert len(token) >= 40, token
    assert "shown only this once" in page.inner_text(".new-token")
    page.click("#copy-token")
    expect(page.locator("#copy-token")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert api_status(server, token) == 200, "the new auditor's token reads the account record"

    page.goto(address(server, "/admin/accounts?lang=en"))
    assert token not in page.content(), "the token is never shown again"
    page.locator("tr", has_text="maria").get_by_role("button", name="Revoke").click()
    assert page.get_by_role("status").inner_text() == "A token of maria was revoked."
    assert api_status(server, token) == 401

    row = page.locator("tr", has_text="maria")
    row.locator("summary").click()
    row.get_by_label("New password for maria").fill(SECOND)
    row.get_by_role("button", name="Set password (maria)").click()
    assert "password of maria was changed" in page.get_by_role("status").inner_text()

    other = new_context(locale="en-GB").new_page()
    log_in(other, server, "maria", FIRST, "/audit?lang=en")
    assert "/login" in other.url and other.get_by_role("alert").is_visible(), "the old password is refused"
    log_in(other, server, "maria", SECOND, "/audit?lang=en")
    assert "/audit" in other.url, other.url
    changes = other.locator("section", has=other.locator("#account-changes"))
    text = changes.inner_text()
    for line in ("created the account", "issued a token for", "revoked a token of", "set the password of"):
        assert line in text
    assert FIRST not in text and SECOND not in text and token not in text
    assert other.locator("header nav >> text=Accounts").count() == 0, "only admins are offered the page"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_axe_finds_nothing_on_the_accounts_page(
    server: LiveServer, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(locale="sv-SE" if lang == "sv" else "en-GB").new_page()
    log_in(page, server, ADMIN, ADMIN_PASSWORD, f"/admin/accounts?lang={lang}")
    name = f"axe-{lang}"
    page.fill("#create-name", name)
    page.fill("#create-password", FIRST)
    page.click("form.login button[type=submit]")
    found = {"list": axe_violations(page)}
    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    found["opened"] = axe_violations(page)
    row.locator("form", has=page.locator("input[value=token]")).locator("button").click()
    page.wait_for_selector("#new-token")
    found["token"] = axe_violations(page)
    page.fill("#create-name", name)
    page.fill("#create-password", FIRST)
    page.click("form.login button[type=submit]")
    problem = page.get_by_role("alert").inner_text()
    assert problem == (
        "Det finns redan ett konto med det namnet, här eller i konfigurationsfilen."
        if lang == "sv"
        else f"an account named {name!r} exists"
    )
    found["refused"] = axe_violations(page)
    assert {state: v for state, v in found.items() if v} == {}
