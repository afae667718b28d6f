"""The packed visit table places every hit as the plain ordered-dict reference does."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingestion import sources
from analytics.ingestion.visits import Placement, Visits
from tests.analytics.visits_reference import ReferenceVisits

OWN = frozenset({"example.se"})
SOURCES = [
    sources.classify("https://example.se/", "", OWN),
    sources.classify("https://example.se/", "https://www.google.se/", OWN),
    sources.classify("https://example.se/?mtm_campaign=vinter", "", OWN),
    sources.classify("https://example.se/?utm_campaign=sommar&utm_source=brev", "", OWN),
]
PAGES = ["/", "/priser", "/kundservice"]
START = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)
HIGH = 2**64 - 1  # visitor ids are unsigned 64-bit


@dataclass(frozen=True)
class Hit:
    site: int
    visitor: int
    advance_us: int
    source: int
    page: int
    is_action: bool
    force_new: bool


@dataclass(frozen=True)
class Forget:
    site: int
    visitor: int


visitors = st.one_of(st.integers(0, 6), st.integers(HIGH - 2, HIGH))
hits = st.builds(
    Hit,
    site=st.sampled_from([1, 2, 2**32 - 1]),
    visitor=visitors,
    # Mostly short gaps, some past the 30-minute idle limit, some out of order.
    advance_us=st.one_of(
        st.integers(0, 120_000_000),
        st.integers(29 * 60_000_000, 31 * 60_000_000),
        st.integers(-5_000_000, 0),
    ),
    source=st.integers(0, len(SOURCES) - 1),
    page=st.integers(0, len(PAGES) - 1),
    is_action=st.booleans(),
    force_new=st.sampled_from([False] * 7 + [True]),
)
operations = st.lists(
    st.one_of(hits, hits, hits, st.builds(Forget, st.sampled_from([1, 2]), visitors)), max_size=300
)


@settings(max_examples=1000, deadline=None)
@given(capacity=st.integers(1, 12), stream=operations)
def test_the_table_places_hits_as_the_reference_does(capacity: int, stream: list[Hit | Forget]) -> None:
    compare(capacity, stream)


@pytest.mark.parametrize("seed", range(20))
def test_long_random_streams_place_hits_as_the_reference_does(seed: int) -> None:
    # Long streams over more visitors than fit: the table fills, evicts and refills many times.
    rng = random.Random(seed)
    capacity = rng.randint(1, 64)
    stream: list[Hit | Forget] = []
    for _ in range(4000):
        visitor = rng.choice([rng.randint(0, 3 * capacity), HIGH - rng.randint(0, capacity)])
        site = rng.choice([1, 2, 2**32 - 1])
        if rng.random() < 0.05:
            stream.append(Forget(site, visitor))
            continue
        advance = rng.choice([rng.randint(0, 120_000_000), rng.randint(-5_000_000, 0), 30 * 60_000_000])
        stream.append(
            Hit(
                site,
                visitor,
                advance,
                rng.randrange(len(SOURCES)),
                rng.randrange(len(PAGES)),
                rng.random() < 0.8,
                rng.random() < 0.05,
            )
        )
    compare(capacity, stream)


def compare(capacity: int, stream: list[Hit | Forget]) -> None:
    table, reference = Visits(capacity), ReferenceVisits(capacity)
    ids: dict[int, int] = {}  # the table's visit id -> the reference's
    at = START
    for step in stream:
        if isinstance(step, Forget):
            table.forget(step.site, step.visitor)
            reference.forget(step.site, step.visitor)
            continue
        at += timedelta(microseconds=step.advance_us)
        # Local days in UTC+1: the stream crosses a midnight after 30 minutes.
        day = (at + timedelta(hours=1)).date()
        arguments = dict(
            page=PAGES[step.page],
            source=SOURCES[step.source],
            is_action=step.is_action,
            force_new=step.force_new,
        )
        got = table.place(step.site, step.visitor, at, day, **arguments)  # type: ignore[arg-type]
        expected = reference.place(step.site, step.visitor, at, day, **arguments)  # type: ignore[arg-type]
        assert (got is None) == (expected is None)
        if got is not None and expected is not None:
            assert same_apart_from_ids(got, expected)
            assert ids.setdefault(got.visit_id, expected.visit_id) == expected.visit_id
        assert len(table) == len(reference)
    # Distinct visits in the reference are distinct in the table.
    assert len(set(ids.values())) == len(ids)


def same_apart_from_ids(got: Placement, expected: Placement) -> bool:
    return (got.is_entry, got.bounce_delta, got.duration_ms, got.entry_page, got.source) == (
        expected.is_entry,
        expected.bounce_delta,
        expected.duration_ms,
        expected.entry_page,
        expected.source,
    )


def test_a_full_table_forgets_the_least_recently_seen() -> None:
    visits = Visits(capacity=3)
    source = SOURCES[0]

    def place(visitor: int, minute: int) -> Placement:
        placed = visits.place(
            1,
            visitor,
            START + timedelta(minutes=minute),
            START.date(),
            page="/",
            source=source,
            is_action=True,
        )
        assert placed is not None
        return placed

    first = {visitor: place(visitor, visitor).visit_id for visitor in (1, 2, 3)}
    assert place(1, 4).visit_id == first[1]  # 1 is now the most recently seen; 2 the least
    place(4, 5)
    assert len(visits) == 3
    assert place(3, 6).visit_id == first[3]
    assert place(1, 7).visit_id == first[1]
    assert place(2, 8).is_entry  # forgotten, so a new visit


def test_values_are_held_once_and_dropped_with_their_last_visit() -> None:
    visits = Visits(capacity=1000)
    for visitor in range(1000):
        visits.place(
            1,
            visitor,
            START,
            START.date(),
            page=f"/{visitor % 10}",
            source=SOURCES[visitor % 2],
            is_action=True,
        )
    assert visits.distinct_values == 10 + 2
    for visitor in range(1000):
        visits.forget(1, visitor)
    assert (len(visits), visits.distinct_values) == (0, 0)
