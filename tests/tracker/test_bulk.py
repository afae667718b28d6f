"""Bulk tracking from Matomo's Node.js client (`matomo-tracker` from npm) against a live samtycke."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.support.paths import REPO
from tests.tracker.conftest import Collector

SCRIPT = REPO / "tests" / "tracker" / "bulk.cjs"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


def track_bulk(tracker_url: str, requests: list[dict[str, Any]], site_id: int = 1) -> dict[str, Any]:
    """Run `trackBulk` in node; return samtycke's JSON answer."""
    node = shutil.which("node")
    assert node, "the bulk tests need node on PATH"
    result = subprocess.run(
        [node, str(SCRIPT), tracker_url, str(site_id), json.dumps(requests)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("endpoint", ["matomo.php", "piwik.php"])
def test_bulk_page_views_and_events_are_all_tracked(collector: Collector, endpoint: str) -> None:
    prefix = f"/bulk-{endpoint.split('.')[0]}"
    page = f"http://localhost{prefix}"
    requests: list[dict[str, Any]] = [
        {"url": f"{page}/elavtal", "action_name": "Elavtal", "ua": BROWSER, "lang": "sv-SE"},
        {"url": f"{page}/elavtal", "action_name": "Elavtal", "ua": BROWSER},
        {"url": f"{page}/kontakt", "action_name": "Kontakt", "urlref": "https://www.google.se/"},
        {"url": f"{page}/kontakt", "e_c": "Kontakt", "e_a": "Skicka", "e_v": 1, "ua": BROWSER},
        {"url": f"{page}/kontakt", "idgoal": 1, "revenue": 250, "ua": BROWSER},
    ]
    answer = track_bulk(collector.url(f"/{endpoint}"), requests)

    assert answer["status"] == "success"
    assert (answer["tracked"], answer["invalid"]) == (5, 0)
    collector.wait_for(
        {
            f"{prefix}/elavtal": {"pageviews": 2, "events": 2},
            f"{prefix}/kontakt": {"pageviews": 1, "events": 3},
        }
    )


def test_bulk_counts_invalid_entries_and_tracks_the_rest(collector: Collector) -> None:
    requests: list[dict[str, Any]] = [
        {"url": "http://localhost/bulk-mixed/a", "action_name": "A"},
        {
            "url": "http://localhost/bulk-mixed/a",
            "e_c": "Avtal",
            "e_a": "Visa",
            "e_v": "mycket",
        },  # not a number
        {"url": "http://localhost/bulk-mixed/a", "idgoal": "-1"},  # no such goal id
        {"url": "http://localhost/bulk-mixed/b", "action_name": "B"},
    ]
    answer = track_bulk(collector.url("/matomo.php"), requests)

    assert answer["status"] == "success"
    assert (answer["tracked"], answer["invalid"]) == (2, 2)
    collector.wait_for(
        {"/bulk-mixed/a": {"pageviews": 1, "events": 1}, "/bulk-mixed/b": {"pageviews": 1, "events": 1}}
    )


def test_bulk_for_an_unknown_site_tracks_nothing(collector: Collector) -> None:
    answer = track_bulk(collector.url("/matomo.php"), [{"url": "http://localhost/bulk-unknown"}], site_id=404)

    assert (answer["tracked"], answer["invalid"]) == (0, 1)
    # Hits ship in order: once a later one is readable, the refused one would be too.
    track_bulk(collector.url("/matomo.php"), [{"url": "http://localhost/bulk-after-unknown"}])
    collector.wait_for({"/bulk-after-unknown": {"pageviews": 1}})
    assert "/bulk-unknown" not in collector.by_page(["pageviews"])
