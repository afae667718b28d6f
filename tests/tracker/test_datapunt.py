"""`@datapunt/matomo-tracker-js` from npm, in headless Chromium, against a live samtycke.

The package is what React and Vue sites wrap: it queues `_paq` commands and loads
``<urlBase>matomo.js`` itself, so here it loads samtycke's tracker. Its ES-module build is
served as it sits in node_modules by a plain static server (which resolves ``./constants`` to
``constants.js`` as a bundler would); the page lives on another origin than samtycke, as a
site's pages do.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Route

from tests.tracker.conftest import Collector, StaticSite, TrackedPage, pk_cookies

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Kundportalen</title></head>
<body>
<a id="outlink" href="http://elhandlare.localhost/jamfor">Jämför elhandlare</a>
<script type="module">
  import MatomoTracker from '/@datapunt/matomo-tracker-js/es/index.js';
  const tracker = new MatomoTracker({ urlBase: '__BASE__', siteId: 1, heartBeat: { active: false } });
  window.tracker = tracker;
  tracker.trackPageView({ href: location.origin + '/dp/start', documentTitle: 'Start',
                          customDimensions: [{ id: 1, value: 'privat' }] });
</script>
</body></html>
"""


def test_datapunt_tracker_counts_page_views_events_and_searches(
    tracked_page: Callable[..., TrackedPage],
    collector: Collector,
    static_site: StaticSite,
    context: BrowserContext,
) -> None:
    static_site.pages["/datapunt.html"] = PAGE.replace("__BASE__", collector.url("/"))
    context.route("http://elhandlare.localhost/**", answer_navigation_with_204)
    tracked = tracked_page()
    page = tracked.page
    page.goto(static_site.url("/datapunt.html"))
    tracked.wait_for_hits(1)

    page.evaluate("""() => {
        const start = location.origin + '/dp/start', invoice = location.origin + '/dp/faktura';
        tracker.trackEvent({ category: 'Faktura', action: 'Ladda ner', name: 'PDF', value: 2, href: start });
        tracker.trackSiteSearch({ keyword: 'elpris', category: 'Hjälp', count: 12, href: start });
        tracker.trackPageView({ href: invoice, documentTitle: 'Faktura' });
        tracker.trackEvent({ category: 'Faktura', action: 'Betala', href: invoice });
        tracker.trackLink({ href: location.origin + '/dp/faktura.pdf', linkType: 'download' });
    }""")
    page.click("#outlink")  # the tracker turns link tracking on by itself
    tracked.wait_for_hits(7)

    assert tracked.hits.statuses == [204] * 7
    view, event, search, second_view, second_event, download, outlink = tracked.hits.sent
    origin = static_site.url("")
    assert (view["url"], view["action_name"], view["dimension1"]) == (origin + "/dp/start", "Start", "privat")
    assert (event["e_c"], event["e_a"], event["e_n"], event["e_v"]) == ("Faktura", "Ladda ner", "PDF", "2")
    assert (search["search"], search["search_cat"], search["search_count"]) == ("elpris", "Hjälp", "12")
    assert second_view["action_name"] == "Faktura" and second_view["pv_id"] != view["pv_id"]
    assert second_event["pv_id"] == second_view["pv_id"]
    assert download["download"] == origin + "/dp/faktura.pdf"
    assert outlink["link"] == "http://elhandlare.localhost/jamfor"
    assert all("_id" not in hit for hit in tracked.hits.sent)
    assert pk_cookies(context) == {}

    collector.wait_for(
        {"/dp/start": {"pageviews": 1, "events": 3}, "/dp/faktura": {"pageviews": 1, "events": 4}}
    )


def answer_navigation_with_204(route: Route) -> None:
    route.fulfill(status=204)
