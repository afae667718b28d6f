"""Withdrawal expires cookies on every path the site is known to use, not only the page's own.

A script sees only the cookies of its page's path and the browser tells it none's path, so a
cookie set under ``/demo/embed`` (the demo's embedded player, a configured ``cookie_paths``
entry) is invisible from ``/demo``; the banner expires it there by name.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import WWW, Site, click_action, open_demo, wait_js

pytestmark = pytest.mark.browser

GATED = {"demo_lang", "demo_stats", "demo_ads", "demo_retarget"}


def jar(page: Page) -> set[tuple[str, str]]:
    """(name, path) of every gated cookie, on any path."""
    return {(c["name"], c["path"]) for c in page.context.cookies() if c["name"] in GATED}


def test_reject_all_expires_gated_cookies_on_the_site_s_other_paths(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    wait_js(page, "(window.demoRan || []).length === 3")
    page.frame_locator("iframe[data-category]").locator("body").wait_for()
    # The player has set its cookie on its own path; a statistics cookie lives there too.
    page.context.add_cookies(
        [
            {
                "name": "demo_stats",
                "value": "embed",
                "domain": WWW,
                "path": "/demo/embed",
                "expires": time.time() + 3600,
            }
        ]
    )
    for _ in range(200):
        if ("demo_retarget", "/demo/embed") in jar(page):
            break
        page.wait_for_timeout(25)
    before = jar(page)
    assert {("demo_retarget", "/demo/embed"), ("demo_stats", "/demo/embed")} <= before
    assert "demo_stats=embed" not in page.evaluate("document.cookie")  # invisible from /demo

    page.click(".stk-r")
    click_action(page, "reject-all")
    assert jar(page) == set()
