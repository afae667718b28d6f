"""The LEGAL.md requirements that the other banner tests do not check on their own, numbered as there."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import NOTICE, OPTIONAL, Site, click_action, dialog_visible, open_demo

pytestmark = pytest.mark.browser


def second_layer(page: Page) -> str:
    page.click("[data-samtycke-action=settings]")
    for summary in page.locator(".stk summary").all():
        summary.click()
    return page.locator(".stk-l2").inner_text()


# -- 5. No legitimate interest -------------------------------------------------------------------------


def test_no_storage_category_rests_on_legitimate_interest(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    text = page.locator(".stk-d").inner_text() + second_layer(page)
    assert not re.search(r"berättigat intresse|legitimate interest|invänd|object", text, re.I)
    # Every optional category is off until the visitor turns it on: consent is its only basis.
    for category in OPTIONAL:
        assert not page.locator(f".stk-sw[data-cat={category}]").is_checked()


# -- 6. Justified necessities ----------------------------------------------------------------------------


def test_every_necessary_cookie_shows_its_justification(site: Site, page: Page) -> None:
    config = httpx.get(f"http://127.0.0.1:{site.port}/api/v1/sites/1/consent-config?lang=sv").json()
    necessary = config["categories"][0]
    assert necessary["id"] == "necessary" and necessary["cookies"]
    open_demo(page, site.url())
    second_layer(page)
    for cookie in necessary["cookies"]:
        assert cookie["justification"].strip()
        row = page.locator(".stk-c").first.locator("tr", has=page.locator(f"td:text-is('{cookie['label']}')"))
        assert cookie["justification"] in row.inner_text()


# -- 9. No cookie wall -----------------------------------------------------------------------------------


def test_the_content_is_readable_and_usable_while_the_banner_is_open(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    assert dialog_visible(page)
    # Nothing covers the content: the heading is what the browser finds at its own position.
    assert page.evaluate("""() => {
        const h = document.querySelector('h1'), r = h.getBoundingClientRect();
        return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === h; }""")
    assert "Elpriset består av" in page.locator("main").inner_text()
    page.click("#nav-kundservice")
    page.wait_for_url("**/demo?sida=kundservice")


# -- 11. One choice per purpose -----------------------------------------------------------------------------


def test_each_purpose_has_its_own_switch_and_is_granted_alone(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    second_layer(page)
    for category in OPTIONAL:
        assert page.locator(f".stk-sw[data-cat={category}]").count() == 1
    page.locator(".stk-sw[data-cat=statistics]").check()
    body = click_action(page, "save")
    assert body["decisions"] == {"preferences": False, "statistics": True, "marketing": False}
    assert page.evaluate("window.demoRan") == ["statistics"]


# -- 12. Minimal receipts -----------------------------------------------------------------------------------

RECEIPT_FIELDS = {
    "schema_version",
    "standards",
    "receipt_id",
    "previous_receipt_id",
    "subject",
    "event",
    "event_time",
    "method",
    "gpc",
    "gpc_signal",
    "site",
    "purposes",
    "validity",
    "notice",
    "controller",
    "jurisdiction",
    "withdrawal_method",
    "integrity",
}


def test_a_choice_in_the_browser_gets_a_minimal_receipt(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "reject-all")
    history = page.evaluate("fetch('/api/v1/consent', { credentials: 'include' }).then((r) => r.json())")
    receipt = history["history"][-1]["receipt"]
    assert set(receipt) == RECEIPT_FIELDS
    assert receipt["event"] == "ConsentRefused" and receipt["method"] == "reject_all"
    assert {p["category"]: p["decision"] for p in receipt["purposes"]} == {
        "necessary": "granted",
        **dict.fromkeys(OPTIONAL, "refused"),
    }
    notice = receipt["notice"]
    assert notice["version"] == NOTICE and notice["language"] == "sv" and len(notice["sha256"]) == 64
    agent = page.evaluate("navigator.userAgent")
    text = json.dumps(receipt)
    assert agent not in text and "HeadlessChrome" not in text and "127.0.0.1" not in text
