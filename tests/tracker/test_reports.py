"""Links, downloads, site search, events and custom dimensions from the tracker's own calls,
read back through the stats API's reports.

The demo site declares dimension 1 as "Kundtyp" (visit scope) and 2 as "Avtalsform" (action
scope); dimension 7 is undeclared and is reported by its number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.tracker.conftest import DEADLINE, Collector, TrackedPage

pytestmark = pytest.mark.browser

PATH = "/t/reports"
ON_PAGE = [["is", "event:page", [PATH]]]


def shipped(collector: Collector, events: int) -> None:
    """Wait until all of this page's hits are in the reports (hits ship asynchronously)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        answer = collector.query({"metrics": ["events"], "filters": ON_PAGE})
        if answer["results"][0]["metrics"] == [events]:
            return
        assert time.monotonic() < deadline, f"{answer['results']} events after {DEADLINE}s, wanted {events}"
        time.sleep(0.2)


def rows(collector: Collector, dimension: str, metrics: list[str]) -> list[list[Any]]:
    answer = collector.query({"metrics": metrics, "dimensions": [dimension], "filters": ON_PAGE})
    return sorted([*row["dimensions"], *row["metrics"]] for row in answer["results"])


def test_the_trackers_calls_show_up_in_their_reports(
    tracked_page: Callable[..., TrackedPage], collector: Collector, browser: Browser
) -> None:
    swedish = browser.new_context(locale="sv-SE")
    commands = [
        ["setCustomUrl", PATH],
        ["setDocumentTitle", "Rapporter"],
        ["setCustomDimension", 1, "företag"],
        ["setCustomDimension", 7, "sju"],
    ]
    tracked = tracked_page(f"window._paq = {json.dumps(commands)};", swedish)
    tracked.page.goto(collector.url("/demo/tracker"))
    tracked.wait_for_tracker()
    download = collector.url("/filer/avtal.pdf")
    tracked.page.evaluate(
        """(download) => {
          _paq.push(['setCustomDimension', 2, 'fast pris']);
          _paq.push(['trackLink', 'https://example.org/ut', 'link']);
          _paq.push(['trackLink', download, 'download']);
          _paq.push(['trackSiteSearch', 'elpris', 'avtal', 0]);
          _paq.push(['trackSiteSearch', 'fjärrvärme', 'avtal', 3]);
          _paq.push(['trackEvent', 'Video', 'Spela', 'Intro']);
          _paq.push(['trackEvent', 'Video', 'Pausa', 'Intro']);
        }""",
        download,
    )
    tracked.wait_for_hits(7)
    assert tracked.hits.statuses == [204] * 7
    assert [hit.get("search_count") for hit in tracked.hits.sent[3:5]] == ["0", "3"]
    shipped(collector, 7)

    assert rows(collector, "event:outlink", ["visitors", "events"]) == [["https://example.org/ut", 1, 1]]
    assert rows(collector, "event:download", ["visitors", "events"]) == [[download, 1, 1]]
    assert rows(collector, "event:search_keyword", ["events", "searches_without_results"]) == [
        ["elpris", 1, 1],
        ["fjärrvärme", 1, 0],
    ]
    assert rows(collector, "event:search_category", ["events"]) == [["avtal", 2]]
    assert rows(collector, "event:category", ["events"]) == [["Video", 2]]
    assert rows(collector, "event:action", ["events"]) == [["Pausa", 1], ["Spela", 1]]
    assert rows(collector, "event:name", ["events"]) == [["Intro", 2]]
    assert rows(collector, "event:title", ["pageviews"]) == [["Rapporter", 1]]
    assert rows(collector, "visit:language", ["visits"]) == [["sv-se", 1]]
    # Visit scope: the visit counts under its value, with its pageview; action scope: only the
    # hits sent after the dimension was set; undeclared: by number, on every hit.
    assert rows(collector, "event:props:Kundtyp", ["visits", "pageviews", "events"]) == [["företag", 1, 1, 7]]
    assert rows(collector, "event:props:Avtalsform", ["events"]) == [["fast pris", 6]]
    assert rows(collector, "event:props:7", ["events"]) == [["sju", 7]]
    assert rows(collector, "event:props", ["events"]) == [["1", 7], ["2", 6], ["7", 7]]
    swedish.close()
