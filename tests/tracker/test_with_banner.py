"""samtycke's banner and tracker together on the demo site (/demo), as a visitor meets them.

The demo page queues `_paq` commands behind ``requireConsent`` and loads /matomo.js only once
the statistics category is granted; the banner then tells the tracker ``setConsentGiven``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.tracker.conftest import Collector, TrackedPage, pk_cookies

pytestmark = pytest.mark.browser

HOST = "www.demo.localhost"


def choose(page: Page, action: str) -> None:
    """Click a banner button and wait until the server recorded the choice."""
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/consent") and r.request.method == "POST"
    ) as info:
        page.click(f"[data-samtycke-action={action}]")
    assert info.value.status == 201, info.value.text()


def test_accepting_statistics_starts_tracking_and_withdrawing_stops_it(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    tracked = tracked_page()
    page = tracked.page
    page.goto(collector.url("/demo", HOST))
    page.wait_for_function("() => window.samtycke && window.samtycke.ready")
    page.evaluate("window.samtycke.ready")
    assert tracked.calls() == 0  # no choice yet: the tracker is not even loaded

    choose(page, "accept-all")
    tracked.wait_for_tracker()
    tracked.wait_for_hits(1)
    view = tracked.hits.sent[0]
    ours = {name: value for name, value in pk_cookies(context).items() if not name.endswith(".d3m0")}
    visitor = ours[next(name for name in ours if name.startswith("_pk_id.1."))].split(".")[0]
    assert (view["_id"], view["consent"]) == (visitor, "1")
    assert tracked.hits.statuses == [204]

    # Withdrawal in the banner: every _pk_* cookie goes, and the tracker holds further hits.
    page.click(".stk-r")
    choose(page, "reject-all")
    # The banner clears cookies once the server has answered; give its handler a moment.
    page.wait_for_function("() => !document.cookie.includes('_pk_')", timeout=5000)
    assert pk_cookies(context) == {}
    page.evaluate("_paq.push(['trackEvent', 'Karta', 'Visa'])")
    assert tracked.calls() == 1
    assert pk_cookies(context) == {}
    collector.wait_for({"/demo": {"pageviews": 1, "events": 1, "visitors": 1}})
