"""The visit state's memory per visitor, which analytics.visits_in_memory's help text states."""

from __future__ import annotations

import random
import tracemalloc
from datetime import UTC, datetime, timedelta

from analytics.ingestion.sources import classify
from analytics.ingestion.visits import Visits

VISITORS = 50_000


def bytes_per_visitor(page_url: str) -> float:
    source = classify(page_url, "", frozenset({"localhost"}))
    visits = Visits(capacity=VISITORS)
    rng = random.Random(7)
    base = datetime.now(UTC)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(VISITORS):
            at = base + timedelta(milliseconds=n)  # each hit brings its own time and date objects
            visits.place(
                1,
                rng.getrandbits(64),
                at,
                at.date(),
                campaign=source.campaign_key,
                page="/priser/el",
                source=source,
                is_action=True,
            )
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(visits) == VISITORS
    return held / VISITORS


def test_a_visitor_held_in_memory_costs_about_350_bytes() -> None:
    assert bytes_per_visitor("http://localhost/") < 350
    # A campaign visit also keeps its campaign's key.
    assert bytes_per_visitor("http://localhost/?utm_campaign=vinter&utm_source=brev&utm_medium=email") < 400
