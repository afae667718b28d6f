"""LEGAL.md 16 (Google Consent Mode v2) and the Matomo hand-off, read from the page's own dataLayer/_paq."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Site, click_action, open_demo, wait_js

pytestmark = pytest.mark.browser

SIGNALS = (
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)


def data_layer(page: Page) -> list[list[Any]]:
    # gtag pushes Arguments objects; turn them into plain lists.
    return page.evaluate("window.dataLayer.map((a) => JSON.parse(JSON.stringify(Array.from(a))))")


def consent_calls(page: Page) -> list[tuple[int, str, dict[str, Any]]]:
    return [(i, e[1], e[2]) for i, e in enumerate(data_layer(page)) if e[0] == "consent"]


def first_index(page: Page, command: str) -> int:
    return next(i for i, e in enumerate(data_layer(page)) if e[0] == command)


def test_denied_defaults_come_before_any_gtag_call_and_no_update_before_a_choice(
    site: Site, page: Page
) -> None:
    open_demo(page, site.url())
    calls = consent_calls(page)
    assert len(calls) == 1
    index, kind, params = calls[0]
    assert kind == "default" and index == 0
    assert params == {
        **dict.fromkeys(SIGNALS, "denied"),
        "security_storage": "granted",  # it serves the necessary category
        "wait_for_update": params["wait_for_update"],
    }
    assert params["wait_for_update"] > 0
    assert first_index(page, "js") > index and first_index(page, "config") > index


def test_update_follows_the_choice_and_is_repeated_on_every_page_load(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    page.click("[data-samtycke-action=settings]")
    page.locator(".stk-sw[data-cat=statistics]").check()
    click_action(page, "save")
    expected = {
        "ad_storage": "denied",
        "ad_user_data": "denied",
        "ad_personalization": "denied",
        "analytics_storage": "granted",
        "functionality_storage": "denied",
        "personalization_storage": "denied",
        "security_storage": "granted",
    }
    assert [(k, p) for _, k, p in consent_calls(page)][-1] == ("update", expected)

    for path in ("/demo?sida=kundservice", "/demo"):
        open_demo(page, site.url(path))
        calls = consent_calls(page)
        assert [k for _, k, _ in calls] == ["default", "update"]  # sent without any click
        assert calls[0][0] < first_index(page, "config")
        assert calls[1][2] == expected


def test_accept_all_then_reject_all_updates_every_signal(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    assert consent_calls(page)[-1][1:] == ("update", dict.fromkeys(SIGNALS, "granted"))
    page.click(".stk-r")
    click_action(page, "reject-all")
    assert consent_calls(page)[-1][1:] == (
        "update",
        {**dict.fromkeys(SIGNALS, "denied"), "security_storage": "granted"},
    )


def test_matomo_is_told_about_statistics_consent(site: Site, page: Page) -> None:
    """Observed through samtycke's real /matomo.js: under requireConsent it only sends hits once the
    banner has said setConsentGiven, and stops again after forgetConsentGiven."""
    hits: list[str] = []
    page.on("request", lambda r: hits.append(r.url) if "/matomo.php" in r.url else None)
    open_demo(page, site.url())
    # Before a choice the queue holds only the page's own commands; the tracker is not even loaded.
    assert page.evaluate("Array.isArray(window._paq) && window._paq.map((c) => c[0])") == [
        "requireConsent",
        "setTrackerUrl",
        "setSiteId",
        "trackPageView",
    ]
    click_action(page, "accept-all")
    wait_js(page, "!Array.isArray(window._paq)")  # the tracker has taken over the queue
    page.wait_for_timeout(300)
    assert len(hits) == 1 and "consent=1" in hits[0]  # the held page view, released by consent

    page.click(".stk-r")
    page.click("[data-samtycke-action=settings]")
    page.locator(".stk-sw[data-cat=statistics]").uncheck()
    click_action(page, "save")
    page.evaluate("window._paq.push(['trackPageView', 'after withdrawal'])")
    page.wait_for_timeout(300)
    assert len(hits) == 1  # forgetConsentGiven reached the tracker
    assert not any(c["name"].startswith("_pk_") for c in page.context.cookies())


def test_matomo_queue_gets_consent_on_every_load(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "reject-all")
    open_demo(page, site.url("/demo?sida=kundservice"))
    # Statistics refused: the tracker never loads, and the queue is told on this load too.
    assert page.evaluate("window._paq.map((c) => c[0])")[-1] == "forgetConsentGiven"
