"""A site's statistics mode, as its visitors meet it: what the collector counts and what the policy says.

``cookieless`` counts a visitor without consent under a daily-salted hash, on the basis of
legitimate interest, which the policy names; ``consent`` counts nobody without consent to
statistics, and its policy names consent as the only basis.  Either way the texts call the
``_pk_id`` visitor id pseudonymous, never anonymous.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import Site, click_action, open_demo, rewrite_demo
from tests.support.config import demo_raw
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

SEND_HIT = """async () => (await fetch('/matomo.php?idsite=1&rec=1&send_image=0&url='
    + encodeURIComponent(location.href), { credentials: 'include' })).status"""


@pytest.fixture(scope="module")
def consent_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base: Path = tmp_path_factory.mktemp("statistics-consent-only")
    raw = demo_raw(server={"secret_keys": ["statistics-key"]})
    raw["sites"][0]["statistics_mode"] = "consent"
    live = LiveServer.of(base, raw).start()
    yield Site(live)
    live.stop()


def dropped(site: Site, reason: str) -> float:
    metrics = httpx.get(site.server.url + "/metrics").text
    found = re.search(rf'^samtycke_dropped_events_total\{{reason="{reason}"\}} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


def dropped_without_consent(site: Site) -> float:
    return dropped(site, "no_consent")


def test_consent_mode_counts_only_visitors_who_consented(consent_only: Site, page: Page) -> None:
    open_demo(page, consent_only.url("/sites/1/policy?lang=sv"))
    before = dropped_without_consent(consent_only)
    assert page.evaluate(SEND_HIT) == 204
    assert dropped_without_consent(consent_only) == before + 1, "a hit without consent is not counted"
    click_action(page, "accept-all")
    assert page.evaluate(SEND_HIT) == 204
    assert dropped_without_consent(consent_only) == before + 1, "with consent the hit is counted"


def test_consent_mode_policy_names_consent_as_the_only_basis(consent_only: Site, page: Page) -> None:
    page.goto(consent_only.url("/sites/1/policy?lang=sv"))
    basis = page.locator("#basis-consent-only").inner_text()
    assert "Ditt samtycke" in basis and "6.1 a" in basis
    statistics = page.locator("#statistics + p").inner_text()
    assert "bara in om du har samtyckt" in statistics and "pseudonyma personuppgifter" in statistics
    assert page.locator("#basis-cookieless").count() == 0
    assert "6.1 f" not in page.locator("main").inner_text()


@pytest.mark.parametrize(
    ("lang", "basis", "pseudonymous"),
    [
        ("sv", "berättigade intresse av att veta hur webbplatsen används", "pseudonyma personuppgifter"),
        ("en", "legitimate interest in knowing how the website is used", "pseudonymous personal data"),
    ],
)
def test_cookieless_mode_policy_names_its_basis_and_calls_the_id_pseudonymous(
    site: Site, page: Page, lang: str, basis: str, pseudonymous: str
) -> None:
    page.goto(site.url(f"/sites/1/policy?lang={lang}"))
    row = page.locator("#basis-cookieless").inner_text()
    assert basis in row and ("6.1 f" in row or "6(1)(f)" in row)
    statistics = page.locator("#statistics + p").inner_text()
    assert pseudonymous in statistics and "_pk_id" in statistics
    assert not re.search(r"\banonym", page.locator("main").inner_text(), re.I)
    if lang == "en":  # the demo page is Swedish; an English site would say so in <html lang>
        rewrite_demo(page, site, '<html lang="sv">', '<html lang="en">')
    open_demo(page, site.url("/demo"))
    page.click("[data-samtycke-action=settings]")
    category = page.locator(".stk-c", has=page.locator("[data-cat=statistics]")).inner_text()
    assert ("pseudonyma" if lang == "sv" else "pseudonymous") in category
    assert not re.search(r"\banonym", category, re.I)
    assert page.evaluate(SEND_HIT) == 204


# -- what the policy says the browser's signals do, and what the collector does with them ------------


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("sv", "skickar Do Not Track samlar vi inte in någon statistik"),
        ("en", "sends Do Not Track, we collect no statistics"),
    ],
)
def test_do_not_track_stops_the_counting_the_policy_says_it_stops(
    site: Site, new_context: Callable[..., BrowserContext], lang: str, says: str
) -> None:
    page = new_context(extra_http_headers={"DNT": "1"}).new_page()
    page.goto(site.url(f"/sites/1/policy?lang={lang}"))
    assert says in page.locator("#statistics + p").inner_text()
    assert "Do Not Track" in page.locator("#right-objection + dd").inner_text()
    before = dropped(site, "dnt")
    assert page.evaluate(SEND_HIT) == 204
    assert dropped(site, "dnt") == before + 1


def test_gpc_is_not_offered_as_an_objection_to_counting_without_cookies(site: Site, page: Page) -> None:
    """Under GPC a cookieless site still counts the visit (without an id from the browser), so
    the policy must not name GPC as a way to object to that counting."""
    for lang in ("sv", "en"):
        page.goto(site.url(f"/sites/1/policy?lang={lang}"))
        assert "Global Privacy Control" not in page.locator("#right-objection + dd").inner_text()
        statistics = page.locator("#statistics + p").inner_text()
        assert ("inget id från din webbläsare" if lang == "sv" else "no id from your browser") in statistics


def test_under_gpc_a_consent_only_site_collects_nothing_as_its_policy_says(
    consent_only: Site, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(extra_http_headers={"Sec-GPC": "1"}).new_page()
    open_demo(page, consent_only.url("/sites/1/policy?lang=sv"))
    says = (
        "skickar Global Privacy Control används inga cookies för marknadsföring om du inte själv "
        "väljer dem, och vi samlar inte in någon statistik om ditt besök"
    )
    assert says in page.locator("#statistics + p").inner_text()
    click_action(page, "accept-all")  # all but marketing, statistics granted
    before = dropped_without_consent(consent_only)
    assert page.evaluate(SEND_HIT) == 204
    assert dropped_without_consent(consent_only) == before + 1
