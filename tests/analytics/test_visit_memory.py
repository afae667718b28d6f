"""The visit state's memory, which analytics.visits_in_memory's help text states.

It is reserved when the state is made and does not grow as visitors fill it: the soak's
memory stays flat however long the state takes to reach its bound.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta

from analytics.ingestion.sources import classify
from analytics.ingestion.visits import SLOT_BYTES, Visits, reserved_bytes
from samtycke.settings.declared import AnalyticsSettings
from tests.support.paths import REPO

VISITORS = 20_000


def fill(visits: Visits, visitors: int, page_url: str) -> None:
    source = classify(page_url, "", frozenset({"localhost"}))
    rng = random.Random(7)
    base = datetime(2026, 11, 21, 9, tzinfo=UTC)
    for n in range(visitors):
        at = base + timedelta(milliseconds=n)  # each hit brings its own time and date objects
        visits.place(1, rng.getrandbits(64), at, at.date(), page="/priser/el", source=source, is_action=True)


def traced(action: object) -> int:
    assert callable(action)
    before = tracemalloc.get_traced_memory()[0]
    action()
    return tracemalloc.get_traced_memory()[0] - before


def test_the_state_reserves_its_memory_up_front_and_then_does_not_grow() -> None:
    tracemalloc.start()
    try:
        made: list[Visits] = []
        reserved = traced(lambda: made.append(Visits(capacity=VISITORS)))
        visits = made[0]
        filled = traced(lambda: fill(visits, VISITORS, "http://localhost/"))
        # Past the bound the least recently seen are replaced, and nothing is added.
        replaced = traced(
            lambda: fill(visits, 2 * VISITORS, "http://localhost/?utm_campaign=vinter&utm_source=brev")
        )
    finally:
        tracemalloc.stop()
    assert len(visits) == VISITORS
    assert reserved_bytes(VISITORS) <= reserved < reserved_bytes(VISITORS) + 4096
    # Filling adds only the one entry page and source all these visitors share.
    assert filled < 4096
    assert replaced < 4096


def test_a_visitor_costs_what_the_setting_says() -> None:
    help_text = AnalyticsSettings.__dataclass_fields__["visits_in_memory"].metadata["help"]
    assert f"{SLOT_BYTES} bytes a visitor plus 8 to 16 for its index" in help_text
    for visitors, text in ((200_000, "200,000 take"), (1_000_000, "1,000,000 take")):
        assert f"{text} {reserved_bytes(visitors) / 1e6:.0f} MB" in help_text
    for visitors in range(100, 1_000_000, 997):  # the index has 2 to 4 buckets a visitor
        assert SLOT_BYTES + 8 <= reserved_bytes(visitors) / visitors < SLOT_BYTES + 16


RESIDENT = """
import os, sys
from pathlib import Path
from analytics.ingestion.visits import Visits
def resident():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = resident()
visits = Visits(capacity=int(sys.argv[1]))
print(resident() - before)
"""


def test_the_reserved_memory_is_resident_from_the_start() -> None:
    # Pages reserved but never written would join RSS only as visitors fill them, and the
    # soak would see the state's memory grow after all.  A fresh process: memory freed by
    # earlier tests would be reused without raising RSS.
    done = subprocess.run(
        [sys.executable, "-c", RESIDENT, "200000"], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert int(done.stdout) >= 0.9 * reserved_bytes(200_000)
