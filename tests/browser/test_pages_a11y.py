"""axe-core (WCAG 2.2 AA and best practice) over every page a visitor or user can reach, in both languages.

The start page, the demo with its banner, the policy, the cookie declaration, the privacy page, the login
form, the dashboard and the audit view (logged in), and the error pages: each is loaded in
Chromium from a real ``samtycke serve`` and must have no violations at all.  The visitor pages
are checked with the banner's first layer open over them, as a first visit shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import WWW, open_demo
from tests.browser.test_banner_a11y import axe_violations
from tests.support.config import demo_raw
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "ada", "a long enough pass phrase"

PUBLIC = [
    "/",
    "/sites/1/policy",
    "/sites/1/cookies",
    "/sites/1/privacy",
    "/login",
    "/sites/99/policy",
    "/no-such-page",
]
VISITOR_PAGES = {"/sites/1/policy", "/sites/1/cookies", "/sites/1/privacy"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base: Path = tmp_path_factory.mktemp("pages-a11y")
    raw = demo_raw(
        server={"secret_keys": ["pages-a11y-key"]},
        users=[{"name": ADMIN, "role": "admin", "password_argon2": PasswordHasher().hash(PASSWORD)}],
    )
    live = LiveServer.of(base, raw).start()
    yield live
    live.stop()


def url(server: LiveServer, path: str, lang: str) -> str:
    return f"http://{WWW}:{server.port}{path}{'&' if '?' in path else '?'}lang={lang}"


def violations_on(page: Page, address: str, settle: Callable[[Page], Any] | None = None) -> list[Any]:
    page.goto(address)
    if settle is not None:
        settle(page)
    return axe_violations(page)


def dashboard_ready(page: Page) -> None:
    page.wait_for_selector("#dashboard[data-state=ready]")


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_axe_finds_nothing_on_any_page(
    server: LiveServer, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(locale="sv-SE" if lang == "sv" else "en-GB").new_page()
    found: dict[str, Any] = {}
    for path in PUBLIC:
        if path in VISITOR_PAGES:  # with the banner's first layer open, in the page's language
            open_demo(page, url(server, path, lang))
            assert page.locator(".stk-d").is_visible()
            found[path] = axe_violations(page)
        else:
            found[path] = violations_on(page, url(server, path, lang))
    open_demo(page, f"http://{WWW}:{server.port}/demo")
    found["/demo"] = axe_violations(page)

    page.goto(url(server, "/login", lang))
    page.fill("input[name=name]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.login button[type=submit]")
    page.wait_for_load_state()
    found["/dashboard"] = violations_on(page, url(server, "/dashboard", lang), dashboard_ready)
    found["/audit"] = violations_on(page, url(server, "/audit", lang))
    assert "/login" not in page.url, "the audit view was served to the logged-in admin"
    assert {path: v for path, v in found.items() if v} == {}
