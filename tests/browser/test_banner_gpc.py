"""Global Privacy Control as the visitor meets it: the header alone, the button, an explicit opt-in.

``Sec-GPC: 1`` is sent by Chromium itself on every request of the context, the banner's
configuration fetch included; ``navigator.globalPrivacyControl`` is set by an init script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Site, click_and_record, dialog_visible, open_demo, state_cookie

pytestmark = pytest.mark.browser

GPC_ON = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });"


def gpc_page(new_context: Callable[..., BrowserContext], how: str) -> Page:
    if how == "header":
        return new_context(extra_http_headers={"Sec-GPC": "1"}).new_page()
    context = new_context()
    context.add_init_script(GPC_ON)
    return context.new_page()


def receipt_of(page: Page, selector: str) -> dict[str, Any]:
    """Record a choice by clicking ``selector``; the receipt, as the visitor's history serves it."""
    click_and_record(page, selector)
    history = page.evaluate("fetch('/api/v1/consent', { credentials: 'include' }).then((r) => r.json())")
    receipt: dict[str, Any] = history["history"][-1]["receipt"]
    return receipt


def test_the_header_alone_shows_the_notice_and_the_button_says_what_it_leaves_out(
    site: Site, new_context: Callable[..., BrowserContext]
) -> None:
    page = gpc_page(new_context, "header")
    with page.expect_response(lambda r: "/consent-config" in r.url) as config:
        open_demo(page, site.url())
    # The configuration depends on the header, so caches must keep the two answers apart.
    assert "sec-gpc" in config.value.header_value("vary").lower()  # type: ignore[union-attr]
    assert dialog_visible(page)
    assert "Global Privacy Control" in page.locator(".stk-g").inner_text()
    accept = page.locator("[data-samtycke-action=accept-all]").inner_text().strip()
    assert accept == "Acceptera alla utom marknadsföring"
    receipt = receipt_of(page, "[data-samtycke-action=accept-all]")
    assert receipt["method"] == "gpc" and receipt["gpc"] is True
    granted = {p["category"] for p in receipt["purposes"] if p["decision"] == "granted"}
    assert granted == {"necessary", "preferences", "statistics"}


def test_without_gpc_the_button_is_accept_all(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    assert page.locator(".stk-g").count() == 0
    assert page.locator("[data-samtycke-action=accept-all]").inner_text().strip() == "Acceptera alla"


@pytest.mark.parametrize("how", ["header", "navigator"])
def test_an_explicit_marketing_opt_in_under_gpc_is_recorded_with_the_signal(
    site: Site, new_context: Callable[..., BrowserContext], how: str
) -> None:
    page = gpc_page(new_context, how)
    open_demo(page, site.url())
    page.click("[data-samtycke-action=settings]")
    page.locator(".stk-sw[data-cat=marketing]").check()
    receipt = receipt_of(page, "[data-samtycke-action=save]")
    # The visitor's own choice wins over the signal, and the receipt shows the signal was there.
    assert receipt["method"] == "custom"
    assert {p["category"]: p["decision"] for p in receipt["purposes"]}["marketing"] == "granted"
    assert receipt["gpc"] is False and receipt["gpc_signal"] is True
    state = state_cookie(page.context)
    assert state is not None and state["g"] == ["marketing"]


def test_a_receipt_without_the_signal_says_so(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    receipt = receipt_of(page, "[data-samtycke-action=accept-all]")
    assert receipt["gpc"] is False and receipt["gpc_signal"] is False
