"""The stats query parser alone: a pure function of the JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.stats.builder import build, resolve
from analytics.stats.parser import DEFAULT_LIMIT, DateRange, Filter, InvalidQuery, parse

SITES = {1, 2}


def query(**changes: Any) -> dict[str, Any]:
    return {"site_id": 1, "metrics": ["visitors"], "date_range": "all", **changes}


def test_a_full_query() -> None:
    parsed = parse(
        query(
            metrics=["visitors", "bounce_rate"],
            date_range=["2026-11-01", "2026-11-21"],
            dimensions=["event:page", "time:day"],
            filters=[["is", "visit:country", ["SE", "NO"]], ["is_not", "visit:device", ["Bot"]]],
            order_by=[["bounce_rate", "asc"]],
            pagination={"limit": 10, "offset": 20},
        ),
        SITES,
    )
    assert parsed.metrics == ("visitors", "bounce_rate")
    assert parsed.date_range == DateRange("custom", date(2026, 11, 1), date(2026, 11, 21))
    assert parsed.filters == (
        Filter("is", "visit:country", ("SE", "NO")),
        Filter("is_not", "visit:device", ("Bot",)),
    )
    assert (parsed.limit, parsed.offset) == (10, 20)


def test_defaults() -> None:
    parsed = parse(query(), SITES)
    assert (parsed.dimensions, parsed.filters, parsed.limit, parsed.offset) == ((), (), DEFAULT_LIMIT, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"site_id": "1"}, "site_id"),
        ({"site_id": 3}, "site_id"),
        ({"site_id": True}, "site_id"),
        ({"metrics": []}, "metrics"),
        ({"metrics": ["visitors", "visitors"]}, "metrics[1]"),
        ({"metrics": [["visitors"]]}, "metrics[0]"),
        ({"date_range": "yesterday"}, "date_range"),
        ({"date_range": ["2026-11-21", "2026-11-01"]}, "date_range"),
        ({"date_range": ["2026-02-30", "2026-03-01"]}, "date_range[0]"),
        ({"date_range": ["2026-11-01", 5]}, "date_range[1]"),
        ({"dimensions": "event:page"}, "dimensions"),
        ({"dimensions": [{"x": 1}]}, "dimensions[0]"),
        ({"filters": [["is", "visit:country"]]}, "filters[0]"),
        ({"filters": [["is", "time:day", ["2026-11-01"]]]}, "filters[0][1]"),
        ({"filters": [["is", "visit:country", []]]}, "filters[0][2]"),
        ({"filters": [["is", "visit:country", [None]]]}, "filters[0][2][0]"),
        ({"order_by": [["pageviews", "desc"]]}, "order_by[0][0]"),
        ({"order_by": [["visitors", "up"]]}, "order_by[0][1]"),
        ({"pagination": {"limit": 0}}, "pagination.limit"),
        ({"pagination": {"offset": -1}}, "pagination.offset"),
        ({"pagination": {"page": 2}}, "pagination"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_errors_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidQuery) as caught:
        parse(query(**changes), SITES)
    assert caught.value.field == field
    assert caught.value.status == 400


def test_relative_ranges_resolve_against_the_site_day() -> None:
    today = date(2026, 11, 21)
    assert resolve(DateRange("day"), today).as_json() == ["2026-11-21", "2026-11-21"]
    assert resolve(DateRange("7d"), today).as_json() == ["2026-11-15", "2026-11-21"]
    assert resolve(DateRange("30d"), today).as_json() == ["2026-10-23", "2026-11-21"]
    assert resolve(DateRange("month"), today).as_json() == ["2026-11-01", "2026-11-21"]
    assert resolve(DateRange("all"), today).as_json() == "all"


def test_values_are_bound_never_written_into_sql() -> None:
    from datetime import UTC, datetime

    sneaky = "SE') OR 1=1 --"
    parsed = parse(query(filters=[["is", "visit:country", [sneaky]]]), SITES)
    statement = build(parsed, "Europe/Stockholm", datetime(2026, 11, 21, tzinfo=UTC))
    assert sneaky not in statement.sql
    assert statement.parameters["f0"] == [sneaky]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@given(
    document=st.dictionaries(
        st.sampled_from(
            ["site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "pagination"]
        ),
        JSON,
    )
)
def test_any_json_parses_or_is_a_400(document: dict[str, Any]) -> None:
    try:
        parse(document, SITES)
    except InvalidQuery as error:
        assert error.field
