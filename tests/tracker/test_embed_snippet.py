"""Matomo's standard `_paq` embed snippet with samtycke's /matomo.js, in headless Chromium.

The page is /demo/tracker (samtycke/web/demo/tracker-demo.html): the snippet exactly as
Matomo hands it out, pointed at samtycke. What a site would push before the snippet runs (a
custom URL per test, requireConsent, ...) is pushed from an init script, as the site's own
code would.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Route

from tests.tracker.conftest import Collector, TrackedPage, consent_cookie, pk_cookies

pytestmark = pytest.mark.browser

HEARTBEAT_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"
)


def queue(*commands: list[object]) -> str:
    """An init script that leaves `_paq` commands for the snippet, as a site's earlier code would."""
    return f"window._paq = {json.dumps(list(commands))};"


def open_demo(
    make: Callable[..., TrackedPage],
    collector: Collector,
    *commands: list[object],
    in_context: BrowserContext | None = None,
) -> TrackedPage:
    tracked = make(queue(*commands), in_context)
    tracked.page.goto(collector.url("/demo/tracker"))
    tracked.wait_for_tracker()
    return tracked


def answer_navigation_with_204(route: Route) -> None:
    """A 204 answer keeps the browser on the page, so a followed link needs no second page."""
    route.fulfill(status=204)


def test_page_view_event_goal_and_site_search_are_counted(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    tracked = open_demo(
        tracked_page,
        collector,
        ["setCustomUrl", "/t/basic"],
        ["setReferrerUrl", "https://www.google.se/search?q=elavtal"],
        ["setDocumentTitle", "Elavtal"],
    )
    tracked.page.click("#callback")  # the page pushes trackEvent and trackGoal
    tracked.page.fill("#q", "fjärrvärme")
    tracked.page.click("#search button")  # the page pushes trackSiteSearch
    tracked.wait_for_hits(4)

    hits = tracked.hits
    assert hits.statuses == [204, 204, 204, 204]
    assert hits.methods == ["GET"] * 4
    view, event, goal, search = hits.sent
    base = f"http://localhost:{collector.port}/t/basic"
    for hit in hits.sent:
        assert hit["idsite"] == "1" and hit["rec"] == "1" and hit["send_image"] == "0"
        assert hit["url"] == base and hit["pv_id"] == view["pv_id"] and len(view["pv_id"]) == 6
        assert hit["urlref"] == "https://www.google.se/search?q=elavtal"
        assert {"h", "m", "s", "res"} <= hit.keys()
        assert "_id" not in hit and "uid" not in hit  # no consent: nothing identifying
    assert view["action_name"] == "Elavtal"
    assert (event["e_c"], event["e_a"], event["e_n"], event["e_v"]) == ("Kontakt", "Ring mig", "Elavtal", "1")
    assert goal["idgoal"] == "1"
    assert (search["search"], search["search_cat"], search["search_count"]) == ("fjärrvärme", "avtal", "3")
    assert pk_cookies(context) == {}

    # "events" counts every action (Plausible's meaning); the page view once.
    collector.wait_for({"/t/basic": {"pageviews": 1, "events": 4}})


def test_outlink_and_download_clicks_are_tracked(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    context.route("http://energimarknadsinspektionen.localhost/**", answer_navigation_with_204)
    context.route("**/files/**", answer_navigation_with_204)
    tracked = open_demo(tracked_page, collector, ["setCustomUrl", "/t/links"])
    tracked.page.click("#internal")  # same site: not an outlink
    assert tracked.calls() == 1
    tracked.page.click("#download")
    tracked.page.click("#outlink")
    tracked.page.click("#outlink", button="middle")  # opens in a new tab: still an outlink

    # Matomo's link classes, as a site marks links in its own markup, override the guess.
    tracked.page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
        '<a id="ignored" class="nav matomo_ignore" ' +
        'href="http://energimarknadsinspektionen.localhost/">x</a>' +
        '<a id="marked" class="piwik_download" href="/files/avtal">y</a>')""")
    tracked.page.click("#ignored")
    assert tracked.calls() == 4
    tracked.page.click("#marked")
    tracked.wait_for_hits(5)

    assert tracked.hits.statuses == [204] * 5
    download, outlink, middle, marked = tracked.hits.sent[1:]
    assert download["download"] == f"http://localhost:{collector.port}/files/prislista-2026.pdf"
    assert outlink["link"] == middle["link"] == "http://energimarknadsinspektionen.localhost/elpriser"
    assert marked["download"] == f"http://localhost:{collector.port}/files/avtal"
    assert "action_name" not in outlink and outlink["ca"] == "1"
    collector.wait_for({"/t/links": {"pageviews": 1, "events": 5}})


def test_heartbeat_pings_extend_the_visit(
    tracked_page: Callable[..., TrackedPage], collector: Collector, browser: Browser
) -> None:
    # A browser of its own (another User-Agent): this visit is not shared with other tests.
    context = browser.new_context(user_agent=HEARTBEAT_AGENT)
    try:
        tracked = tracked_page(queue(["setCustomUrl", "/t/heartbeat"], ["enableHeartBeatTimer", 5]), context)
        tracked.page.goto(collector.url("/demo/tracker"))
        tracked.wait_for_hits(2, timeout=20)  # the page view, then a ping once 5 s passed without a hit
    finally:
        context.close()

    view, ping = tracked.hits.sent
    assert "action_name" in view and "ping" not in view
    assert ping["ping"] == "1" and ping["pv_id"] == view["pv_id"] and "action_name" not in ping
    assert tracked.hits.statuses == [204, 204]
    # A ping is no action, but it makes the visit last (at least the 5 s it waited).
    collector.wait_for({"/t/heartbeat": {"pageviews": 1, "events": 1}})
    collector.wait_for({"/t/heartbeat": {"visit_duration": 5}}, exact=False)


def test_no_cookie_and_no_id_without_statistics_consent(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext, browser: Browser
) -> None:
    # A visitor id left behind by an earlier, cookie-setting Matomo is removed, not reused.
    context.add_cookies(
        [
            {
                "name": "_pk_id.1.1fff",
                "value": "0123456789abcdef.1700000000",
                "domain": "localhost",
                "path": "/",
            },
            {"name": "_pk_ses.1.1fff", "value": "1", "domain": "localhost", "path": "/"},
        ]
    )
    tracked = open_demo(tracked_page, collector, ["setCustomUrl", "/t/cookieless"], ["setUserId", "kund-17"])
    assert pk_cookies(context) == {}
    tracked.page.evaluate("_paq.push(['trackEvent', 'Avtal', 'Visa'])")
    tracked.wait_for_hits(2)
    for hit in tracked.hits.sent:
        assert "_id" not in hit and "uid" not in hit and "consent" not in hit
    assert pk_cookies(context) == {}

    # A second browser profile on the same machine is the same anonymous visitor.
    other = browser.new_context()
    try:
        again = open_demo(tracked_page, collector, ["setCustomUrl", "/t/cookieless"], in_context=other)
        again.wait_for_hits(1)
    finally:
        other.close()
    collector.wait_for({"/t/cookieless": {"pageviews": 2, "events": 3, "visitors": 1}})


def test_statistics_consent_gives_a_matomo_visitor_cookie(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext, browser: Browser
) -> None:
    context.add_cookies([consent_cookie("localhost", ["necessary", "statistics"])])
    first = open_demo(tracked_page, collector, ["setCustomUrl", "/t/consented"], ["setUserId", "kund-17"])
    first.wait_for_hits(1)

    # Matomo's own naming: _pk_id.<site>.<first 4 hex of sha1(host + "/")>, value <id>.<created>.
    suffix = hashlib.sha1(b"localhost/").hexdigest()[:4]
    cookies = pk_cookies(context)
    assert set(cookies) == {f"_pk_id.1.{suffix}", f"_pk_ses.1.{suffix}"}
    visitor, created = cookies[f"_pk_id.1.{suffix}"].split(".")
    assert abs(int(created) - time.time()) < 3600
    view = first.hits.sent[0]
    assert view["_id"] == visitor and len(visitor) == 16 and int(visitor, 16) >= 0
    assert (view["uid"], view["consent"]) == ("kund-17", "1")

    # The same signed-in customer on the next page: the same visitor id.
    second = open_demo(tracked_page, collector, ["setCustomUrl", "/t/consented"], ["setUserId", "kund-17"])
    second.wait_for_hits(1)
    assert second.hits.sent[0]["_id"] == visitor

    # Another browser profile on the same machine: without consent both would be one anonymous
    # visitor (same address, same User-Agent); with it, each is counted by its own id.
    other = browser.new_context()
    try:
        other.add_cookies([consent_cookie("localhost", ["necessary", "statistics"])])
        third = open_demo(tracked_page, collector, ["setCustomUrl", "/t/consented"], in_context=other)
        third.wait_for_hits(1)
    finally:
        other.close()
    assert third.hits.sent[0]["_id"] != visitor
    collector.wait_for({"/t/consented": {"pageviews": 3, "visitors": 2}})


def test_consent_given_and_withdrawn_in_the_banner_switches_live(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    tracked = open_demo(tracked_page, collector, ["setCustomUrl", "/t/live"])
    page = tracked.page
    assert pk_cookies(context) == {}

    # The banner's change event (its detail shaped like the state cookie) grants statistics.
    page.evaluate("""document.dispatchEvent(new CustomEvent('samtycke:change', {detail:
        {v: '2026-11-01', exp: Date.now() / 1000 + 3600, g: ['necessary', 'statistics'],
         m: 'accept_all'}}))""")
    page.evaluate("_paq.push(['trackEvent', 'Avtal', 'Jämför'])")
    assert len(pk_cookies(context)) == 2

    # ... and withdraws it (the banner's own detail shape): the cookies go at once.
    page.evaluate("""document.dispatchEvent(new CustomEvent('samtycke:change', {detail:
        {decided: true, method: 'custom', version: '2026-11-01', expires: Date.now() / 1000 + 3600,
         granted: {necessary: true, statistics: false}}}))""")
    assert pk_cookies(context) == {}
    page.evaluate("_paq.push(['trackEvent', 'Avtal', 'Välj'])")
    tracked.wait_for_hits(3)

    view, granted, withdrawn = tracked.hits.sent
    assert "_id" not in view and len(granted["_id"]) == 16 and "_id" not in withdrawn
    assert [hit.get("consent") for hit in tracked.hits.sent] == [None, "1", None]
    assert pk_cookies(context) == {}
    collector.wait_for({"/t/live": {"pageviews": 1, "events": 3}})


def test_expired_consent_counts_as_none(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    context.add_cookies([consent_cookie("localhost", ["necessary", "statistics"], expires_in=-60)])
    tracked = open_demo(tracked_page, collector, ["setCustomUrl", "/t/expired"])
    tracked.wait_for_hits(1)
    assert "_id" not in tracked.hits.sent[0]
    assert pk_cookies(context) == {}


def test_disable_cookies_wins_over_consent(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    context.add_cookies([consent_cookie("localhost", ["necessary", "statistics"])])
    tracked = open_demo(tracked_page, collector, ["disableCookies"], ["setCustomUrl", "/t/no-cookies"])
    tracked.wait_for_hits(1)
    assert "_id" not in tracked.hits.sent[0]
    assert pk_cookies(context) == {}
    collector.wait_for({"/t/no-cookies": {"pageviews": 1}})


def test_require_consent_holds_hits_until_consent_is_given(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    tracked = open_demo(tracked_page, collector, ["requireConsent"], ["setCustomUrl", "/t/require"])
    page = tracked.page
    page.evaluate("_paq.push(['trackEvent', 'Avtal', 'Visa'])")
    assert tracked.calls() == 0  # the page view and the event wait

    page.evaluate("_paq.push(['setConsentGiven'])")
    assert tracked.calls() == 2
    tracked.wait_for_hits(2)
    assert [hit.get("consent") for hit in tracked.hits.sent] == ["1", "1"]
    assert "action_name" in tracked.hits.sent[0] and tracked.hits.sent[1]["e_a"] == "Visa"

    page.evaluate("_paq.push(['forgetConsentGiven'], ['trackEvent', 'Avtal', 'Glömd'])")
    assert tracked.calls() == 2
    collector.wait_for({"/t/require": {"pageviews": 1, "events": 2}})


def test_remembered_consent_lets_the_next_page_track_at_once(
    tracked_page: Callable[..., TrackedPage], collector: Collector, context: BrowserContext
) -> None:
    first = open_demo(tracked_page, collector, ["requireConsent"], ["setCustomUrl", "/t/remember"])
    assert first.calls() == 0
    first.page.evaluate("_paq.push(['rememberConsentGiven'])")
    assert first.calls() == 1
    assert "mtm_consent" in {c["name"] for c in context.cookies()}

    second = open_demo(tracked_page, collector, ["requireConsent"], ["setCustomUrl", "/t/remember"])
    assert second.calls() == 1
    collector.wait_for({"/t/remember": {"pageviews": 2}})


def test_a_long_request_is_posted(tracked_page: Callable[..., TrackedPage], collector: Collector) -> None:
    long_url = "/t/long?ref=" + "x" * 3000
    tracked = open_demo(tracked_page, collector, ["setCustomUrl", long_url])
    tracked.wait_for_hits(1)
    assert tracked.hits.methods == ["POST"]
    assert tracked.hits.sent[0]["url"].endswith(long_url)
    assert tracked.hits.statuses == [204]
    collector.wait_for({"/t/long": {"pageviews": 1}})


def test_functions_and_unsupported_commands_in_the_queue_do_not_stop_tracking(
    tracked_page: Callable[..., TrackedPage], collector: Collector
) -> None:
    # Sites push functions (run with the tracker as `this`) and commands samtycke leaves out.
    tracked = tracked_page("""window._paq = [
        ['setCustomUrl', '/t/queue'],
        ['addEcommerceItem', 'EL-FAST-12', 'Fast pris 12 mån', 'Elavtal', 0, 1],
        [function () { this.setCustomDimension(2, 'företag'); }],
        [function () { throw new Error('a bug in the site'); }],
    ];""")
    tracked.page.goto(collector.url("/demo/tracker"))
    tracked.wait_for_tracker()
    tracked.wait_for_hits(1)
    assert tracked.hits.sent[0]["dimension2"] == "företag"
    collector.wait_for({"/t/queue": {"pageviews": 1}})
