"""A choice the consent API does not acknowledge grants nothing beyond necessary (GDPR Art. 7(1)).

The server's failure is the input here, so Playwright's interception produces it: a 503 as the
API answers while the consent log is not ready, and a refused connection. Everything else is the
real server and the real banner. Chromium's clock is Playwright's, so the retries' back-off is
moved on by the test instead of waited out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Route

from tests.browser.conftest import (
    OPTIONAL,
    Site,
    category_cookies,
    dialog_visible,
    open_demo,
    rewrite_demo,
    state_cookie,
    wait_js,
)

pytestmark = pytest.mark.browser

# What the banner says while it tries again, and once it has given up.
SAYS = {
    "sv": ("Ditt val kunde inte sparas. Vi försöker igen", "Ditt val kunde inte sparas. Bara"),
    "en": ("Your choice could not be saved. We will try again", "Your choice could not be saved. Only"),
}
NOTHING_BEYOND_NECESSARY = {"necessary": True, **dict.fromkeys(OPTIONAL, False)}
LOG_NOT_READY = '{"error": {"code": "unavailable", "message": "the consent log is not ready"}}'


def failing(kind: str) -> Callable[[Route], None]:
    if kind == "503":
        return lambda route: route.fulfill(status=503, content_type="application/json", body=LOG_NOT_READY)
    return lambda route: route.abort("connectionrefused")


class ConsentAPI:
    """Counts the banner's POSTs to the consent API and fails the first ``failures`` of them."""

    def __init__(self, page: Page, kind: str, failures: int) -> None:
        self.attempts = 0
        self.fail = failing(kind)
        self.failures = failures
        self.page = page
        page.route("**/api/v1/consent", self.handle)

    def handle(self, route: Route) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            self.fail(route)
        else:
            route.continue_()

    def wait_for(self, attempts: int) -> None:
        for _ in range(400):
            if self.attempts >= attempts:
                return
            self.page.wait_for_timeout(25)
        raise AssertionError(f"{self.attempts} attempts, waited for {attempts}")


def open_page(page: Page, site: Site, lang: str) -> Page:
    page.clock.install()
    if lang == "en":
        rewrite_demo(page, site, 'data-site="1"', 'data-site="1" data-lang="en"')
    open_demo(page, site.url())
    return page


def consent_mode_grants(page: Page) -> list[dict[str, Any]]:
    return [
        dict(e[2])
        for e in page.evaluate("window.dataLayer.map((a) => JSON.parse(JSON.stringify(Array.from(a))))")
        if e[0] == "consent" and any(v == "granted" for k, v in e[2].items() if k != "security_storage")
    ]


def note(page: Page) -> str:
    return page.locator(".stk-e").inner_text()


@pytest.mark.parametrize(("kind", "lang"), [("503", "sv"), ("network", "en")])
def test_accept_all_without_a_receipt_grants_nothing_and_says_so(
    site: Site, page: Page, kind: str, lang: str
) -> None:
    open_page(page, site, lang)
    api = ConsentAPI(page, kind, failures=99)
    page.click("[data-samtycke-action=accept-all]")
    api.wait_for(1)
    wait_js(page, "!document.querySelector('.stk-e').hidden")

    assert note(page).startswith(SAYS[lang][0])
    assert page.locator(".stk-e").get_attribute("role") == "alert"
    got = page.evaluate("window.samtycke.get()")
    assert got["decided"] is False
    assert got["granted"] == NOTHING_BEYOND_NECESSARY
    assert page.evaluate("window.demoRan") is None  # no gated script ran
    assert page.locator("iframe[data-category]").get_attribute("src") is None
    assert page.context.cookies() == []  # nothing persistent, not even the banner's own state
    assert consent_mode_grants(page) == []
    assert page.evaluate("Array.isArray(window._paq)")  # the tracker never loaded

    # Bounded back-off: five more tries, then the banner says it gave up, and nothing more is sent.
    for attempt in range(2, 7):
        page.clock.run_for(60_000)
        api.wait_for(attempt)
    wait_js(page, f"document.querySelector('.stk-e').textContent.startsWith({SAYS[lang][1]!r})")
    page.clock.run_for(3_600_000)
    page.evaluate("window.samtycke.get()")
    assert api.attempts == 6
    assert page.context.cookies() == [] and page.evaluate("window.demoRan") is None

    # The next page asks again: nothing was stored.
    page.unroute("**/api/v1/consent")
    open_demo(page, site.url())
    assert dialog_visible(page)


def test_the_page_stays_usable_and_the_dialog_never_reopens_by_itself(site: Site, page: Page) -> None:
    open_page(page, site, "sv")
    api = ConsentAPI(page, "503", failures=99)
    page.click("[data-samtycke-action=accept-all]")
    api.wait_for(1)
    page.keyboard.press("Escape")  # the visitor moves on
    assert not dialog_visible(page)
    for attempt in range(2, 7):
        page.clock.run_for(60_000)
        api.wait_for(attempt)
    page.clock.run_for(3_600_000)
    assert not dialog_visible(page)  # no loop of dialogs
    assert page.locator(".stk-r").is_visible()  # and the way back in is there
    page.click("#nav-kundservice")  # the page is not blocked
    page.wait_for_url("**/demo?sida=kundservice")


def test_a_retry_that_gets_a_receipt_applies_the_choice(site: Site, page: Page) -> None:
    open_page(page, site, "sv")
    context = page.context
    api = ConsentAPI(page, "503", failures=2)
    page.click("[data-samtycke-action=accept-all]")
    api.wait_for(1)
    assert page.evaluate("window.demoRan") is None
    page.clock.run_for(1_000)
    api.wait_for(2)
    page.clock.run_for(2_000)
    api.wait_for(3)
    wait_js(page, "(window.demoRan || []).length === 3")
    assert page.locator(".stk-e").is_hidden()
    assert not dialog_visible(page)
    state = state_cookie(context)
    assert state is not None and sorted(state["g"]) == sorted(OPTIONAL)
    assert {"samtycke_consent", "samtycke_state"} <= {c["name"] for c in context.cookies()}
    assert page.evaluate("window.samtycke.get().decided") is True


def test_a_withdrawal_that_is_not_acknowledged_still_stops_the_categories(site: Site, page: Page) -> None:
    open_page(page, site, "sv")
    context = page.context
    page.click("[data-samtycke-action=accept-all]")
    wait_js(page, "(window.demoRan || []).length === 3")
    assert category_cookies(context) != set()
    ConsentAPI(page, "network", failures=99)
    page.click(".stk-r")
    page.click("[data-samtycke-action=reject-all]")
    wait_js(page, "!document.querySelector('.stk-e').hidden")
    assert page.evaluate("window.samtycke.get().granted") == NOTHING_BEYOND_NECESSARY
    assert category_cookies(context) == set()
    assert state_cookie(context) is None  # the old consent is not read back on the next page
    last = [e for e in page.evaluate("window.dataLayer.map((a) => Array.from(a))") if e[0] == "consent"][-1]
    assert last[1] == "update"
    assert last[2]["ad_storage"] == last[2]["analytics_storage"] == "denied"
