"""What the banner says: who is responsible, which third parties are involved, every storage
technology, and Swedish that reads like a Swedish utility's (the English mirrors it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Site, open_demo, rewrite_demo

pytestmark = pytest.mark.browser

CONTROLLER = "Demo Energi AB"  # sites.controller.name of the demo; the site is "Demo Energi"


def config(site: Site, lang: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(
        f"http://127.0.0.1:{site.port}/api/v1/sites/1/consent-config?lang={lang}"
    ).json()
    return body


def open_in(page: Page, site: Site, lang: str) -> None:
    if lang == "en":
        rewrite_demo(page, site, 'data-site="1"', 'data-site="1" data-lang="en"')
    open_demo(page, site.url())


@pytest.mark.parametrize(
    ("lang", "third", "list_link"),
    [
        ("sv", "Vissa cookies sätts av tredje parter: ", "Alla cookies och tredje parter"),
        ("en", "Some cookies are set by third parties: ", "All cookies and third parties"),
    ],
)
def test_first_layer_names_the_controller_and_the_third_parties_with_a_link_to_the_list(
    site: Site, new_context: Callable[..., BrowserContext], lang: str, third: str, list_link: str
) -> None:
    page = new_context().new_page()
    open_in(page, site, lang)
    first_layer = page.locator("#stk-desc").inner_text()
    assert first_layer.startswith(CONTROLLER + " ")
    providers = []
    for category in config(site, lang)["categories"]:
        providers += [c["provider"] for c in category["cookies"] if c["party"] == "third"]
    assert providers, "the demo declares third-party cookies"
    assert third + ", ".join(dict.fromkeys(providers)) + "." in first_layer
    link = page.locator("#stk-desc a", has_text=list_link)
    assert link.get_attribute("href", timeout=1000) is not None
    link.click()
    page.wait_for_url(f"**/sites/1/cookies?lang={lang}")
    assert page.locator("main").inner_text()  # the list it promised


def second_layer(page: Page) -> str:
    page.click("[data-samtycke-action=settings]")
    for summary in page.locator(".stk summary").all():
        summary.click()
    return page.locator(".stk-l2").inner_text()


def test_storage_keys_are_in_the_second_layer(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    second_layer(page)
    for key, cookie in (("demo_prefs", "demo_lang"), ("demo_stats_seen", "demo_stats")):
        row = page.locator(".stk tr", has=page.locator(f"td:text-is('{key}')")).inner_text()
        assert "Lagring i webbläsaren" in row
        keeper = page.locator(".stk tr", has=page.locator(f"td:text-is('{cookie}')")).inner_text()
        assert row.split("\t")[1:4] == keeper.split("\t")[1:4]  # provider, purpose, lifetime as its cookie's


def test_swedish_wording(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    assert page.locator("[data-samtycke-action=settings]").inner_text().strip() == "Anpassa"
    placeholder = page.locator(".stk-p p").first.inner_text()
    assert placeholder == "Innehållet kräver samtycke till marknadsföring."
    text = second_layer(page)
    assert page.locator(".stk-ch label").all_inner_texts() == [
        "Nödvändiga",
        "Inställningar",  # the category keeps its name; the button no longer shares it
        "Statistik",
        "Marknadsföring",
    ]
    session = page.locator(".stk tr", has=page.locator("td:text-is('demo_session')")).inner_text()
    assert "Tills du stänger webbläsaren" in session and "Sessionscookie" in session
    parties = {row.split("\t")[-1] for row in page.locator(".stk tbody tr").all_inner_texts()}
    assert parties == {"Förstapartscookie", "Tredjepartscookie"}
    whole = page.locator(".stk-d").inner_text()
    assert not re.search(r"\bFörstapart\b|\bTredjepart\b|\bSessionen\b", whole)
    assert "(mönster)" not in text and "_pk_id.*" in text


def test_english_mirrors_it(site: Site, page: Page) -> None:
    open_in(page, site, "en")
    assert page.locator("[data-samtycke-action=settings]").inner_text().strip() == "Customise"
    assert page.locator(".stk-p p").first.inner_text() == "This content needs consent to marketing."
    second_layer(page)
    session = page.locator(".stk tr", has=page.locator("td:text-is('demo_session')")).inner_text()
    assert "Until you close the browser" in session
