"""The policy and cookie declaration as a site's visitor reads them, in Chromium.

A visitor on these pages can withdraw there and then (the banner and a "Cookieinställningar"
control), sees the site's name rather than samtycke's back office, and reads every cookie's
purpose, provider, justification, recipients, transfers and storage keys in their own
language, with patterns written as names and a correct account of the GDPR rights.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Site, click_action, dialog_visible, open_demo, rewrite_demo

pytestmark = pytest.mark.browser

VISITOR_PAGES = ["/sites/1/policy", "/sites/1/cookies", "/sites/1/privacy"]


def text_of(page: Page, selector: str = "body") -> str:
    return page.locator(selector).inner_text()


@pytest.mark.parametrize("path", VISITOR_PAGES)
def test_visitor_pages_load_the_banner_and_a_reopen_control(site: Site, page: Page, path: str) -> None:
    open_demo(page, site.url(f"{path}?lang=sv"))
    assert dialog_visible(page), "a first visit to the policy is asked like any other page"
    click_action(page, "reject-all")
    assert not dialog_visible(page)
    control = page.get_by_role("button", name="Cookieinställningar", exact=True).first
    assert control.is_visible()
    control.click()
    assert dialog_visible(page), "the page's own control reopens the choices, so withdrawal is here"
    assert page.evaluate("window.samtycke.get().method") == "reject_all"


@pytest.mark.parametrize("path", VISITOR_PAGES)
def test_visitor_pages_carry_the_site_header_not_samtyckes_back_office(
    site: Site, page: Page, path: str
) -> None:
    page.goto(site.url(f"{path}?lang=sv"))
    header = page.locator("header")
    assert "Demo Energi AB" in header.inner_text()
    hrefs = header.locator("a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.startswith(("/dashboard", "/audit", "/openapi"))], hrefs
    assert "Statistik" not in header.inner_text() and "Granskning" not in header.inner_text()


@pytest.mark.parametrize(
    ("lang", "own", "foreign"),
    [
        (
            "sv",
            [
                "Kommer ihåg dina cookieval",
                "Behövs för att vi ska kunna respektera",
                "Annonsnätverket AB (tredje part)",
            ],
            ["Remembers your cookie choices", "Needed to respect", "third party"],
        ),
        (
            "en",
            [
                "Remembers your cookie choices",
                "Needed to respect the choice",
                "Annonsnätverket AB (third party)",
            ],
            ["Kommer ihåg dina cookieval", "Behövs för att", "tredje part"],
        ),
    ],
)
def test_cookie_texts_are_in_the_visitors_language_on_the_page_and_in_the_banner(
    site: Site, page: Page, lang: str, own: list[str], foreign: list[str]
) -> None:
    page.goto(site.url(f"/sites/1/cookies?lang={lang}"))
    declaration = text_of(page, "main")
    if lang == "en":  # the demo page is Swedish; an English site would say so in <html lang>
        rewrite_demo(page, site, '<html lang="sv">', '<html lang="en">')
    open_demo(page, site.url("/demo"))
    page.click("[data-samtycke-action=settings]")
    for summary in page.locator(".stk summary").all():
        summary.click()
    banner = text_of(page, ".stk-d")
    for wanted in own:
        assert wanted in declaration
    for wanted in (own[0], own[2]):  # the banner's table shows purposes and providers
        assert wanted in banner
    for unwanted in foreign:
        assert unwanted not in declaration and unwanted not in banner


def test_declaration_writes_patterns_as_names_and_lists_storage_keys(site: Site, page: Page) -> None:
    page.goto(site.url("/sites/1/cookies?lang=sv"))
    names = page.locator("tbody td:first-child").all_inner_texts()
    assert any(n.startswith("_pk_id.*") for n in names)
    assert any(n.startswith("_pk_ses.*") for n in names)
    shown = text_of(page, "main")
    assert "\\." not in shown and "mönster" not in shown
    row = page.locator("tr", has=page.locator("code", has_text="demo_lang")).inner_text()
    assert "demo_prefs" in row and "Lagring i webbläsaren" in row
    stats_row = page.locator("tr", has=page.locator("code", has_text="demo_stats")).first.inner_text()
    assert "demo_stats_seen" in stats_row


def test_recipients_and_transfers_are_on_the_declaration_and_the_policy(site: Site, page: Page) -> None:
    page.goto(site.url("/sites/1/cookies?lang=sv"))
    ads = page.locator("tr", has=page.locator("code", has_text="demo_ads")).inner_text()
    assert "Mottagare: Annonsnätverket AB, Annonsbörsen Inc." in ads
    assert "USA, med stöd av EU-kommissionens standardavtalsklausuler (artikel 46)" in ads
    page.goto(site.url("/sites/1/policy?lang=en"))
    recipients = text_of(page, "#recipients + p + ul")
    assert "Annonsbörsen Inc." in recipients
    assert "transferred to USA, under the European Commission's standard contractual clauses" in recipients
    assert "demo_retarget" in recipients and "stays within the EU/EEA" in recipients


@pytest.mark.parametrize(
    ("lang", "article"), [("sv", "artikel 18 i dataskyddsförordningen"), ("en", "GDPR Article 18")]
)
def test_the_right_to_restriction_is_explained_as_article_18(
    site: Site, page: Page, lang: str, article: str
) -> None:
    page.goto(site.url(f"/sites/1/policy?lang={lang}"))
    restriction = page.locator("#right-restriction + dd").inner_text()
    assert article in restriction
    assert "Avvisa alla" not in restriction and "Reject every category" not in restriction


def test_swedish_pages_read_as_swedish(site: Site, page: Page) -> None:
    page.goto(site.url("/sites/1/cookies?lang=sv"))
    declaration = text_of(page, "main")
    parties = set(page.locator("tbody td:last-child").all_inner_texts())
    assert parties == {"Förstapartscookie", "Tredjepartscookie"}
    assert "Tills du stänger webbläsaren" in declaration and "Sessionen" not in declaration
    page.goto(site.url("/sites/1/policy?lang=sv"))
    policy = text_of(page, "main")
    assert "Förstapartscookie" in policy
    assert not re.search(r"\bFörstapart\b|\bTredjepart\b", policy + declaration)
    assert not re.search(r"\banonym", policy + declaration, re.I), "with _pk_id the data is pseudonymous"
    assert "pseudonyma" in policy and "pseudonyma" in declaration
    english = re.compile(r"\b(the|and|cookie choices|third party|session)\b")
    assert not english.search(declaration.replace("sessionStorage", "")), english.findall(declaration)
