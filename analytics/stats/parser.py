"""A stats query (Plausible Stats API v2 shape) from JSON, validated, as a pure function.

    {"site_id": 1, "metrics": ["visitors", "pageviews"], "date_range": "7d",
     "dimensions": ["event:page"], "filters": [["is", "visit:country", ["SE"]]],
     "order_by": [["visitors", "desc"]], "pagination": {"limit": 100, "offset": 0}}

Anything wrong raises ``InvalidQuery`` (400) whose ``field`` names the offending member,
e.g. ``metrics[1]`` or ``filters[0][1]``.  Nothing here touches storage or the clock:
relative date ranges stay relative until the builder resolves them for the site's day.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from samtycke.errors import BadRequest

METRICS = ("visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events")

# Public dimension name -> events column (time dimensions are computed by the builder).
DIMENSIONS: dict[str, str] = {
    "event:page": "pathname",
    "event:hostname": "hostname",
    "event:kind": "kind",
    "event:goal": "goal_id",
    "visit:entry_page": "entry_page",
    "visit:source": "source",
    "visit:channel": "channel",
    "visit:utm_medium": "utm_medium",
    "visit:utm_source": "utm_source",
    "visit:utm_campaign": "utm_campaign",
    "visit:country": "country",
    "visit:region": "region",
    "visit:city": "city",
    "visit:browser": "browser",
    "visit:browser_version": "browser_version",
    "visit:os": "os",
    "visit:os_version": "os_version",
    "visit:device": "device",
    "visit:screen": "resolution",
}
TIME_DIMENSIONS = ("time:day", "time:hour", "time:month")
RELATIVE_RANGES = ("day", "7d", "30d", "month", "year", "all")
FILTER_OPERATORS = ("is", "is_not")
ORDER_DIRECTIONS = ("asc", "desc")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000
MAX_FILTER_VALUES = 100
MAX_DIMENSIONS = 4
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KNOWN_KEYS = {"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "pagination"}


class InvalidQuery(BadRequest):
    code = "invalid_query"


@dataclass(frozen=True)
class DateRange:
    kind: str  # one of RELATIVE_RANGES, or "custom"
    first: date | None = None  # custom only
    last: date | None = None


@dataclass(frozen=True)
class Filter:
    operator: str
    dimension: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    site_id: int
    metrics: tuple[str, ...]
    date_range: DateRange
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse(document: Any, known_sites: Collection[int]) -> Query:
    if not isinstance(document, dict):
        raise InvalidQuery("the query must be a JSON object", field="query")
    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        raise InvalidQuery(f"unknown member {unknown[0]!r}", field=str(unknown[0])[:64])
    site_id = _site(document.get("site_id"), known_sites)
    metrics = _metrics(document.get("metrics"))
    date_range = _date_range(document.get("date_range"))
    dimensions = _dimensions(document.get("dimensions", []))
    filters = _filters(document.get("filters", []))
    order_by = _order_by(document.get("order_by", []), metrics, dimensions)
    limit, offset = _pagination(document.get("pagination", {}))
    return Query(site_id, metrics, date_range, dimensions, filters, order_by, limit, offset)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _site(value: Any, known_sites: Collection[int]) -> int:
    if not _is_int(value):
        raise InvalidQuery("site_id must be a whole number", field="site_id")
    if value not in known_sites:
        raise InvalidQuery(f"site {value} is not configured", field="site_id")
    return int(value)


def _metrics(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidQuery(f"metrics must be a non-empty list of {', '.join(METRICS)}", field="metrics")
    seen: list[str] = []
    for index, metric in enumerate(value):
        if metric not in METRICS or not isinstance(metric, str):
            raise InvalidQuery(
                f"unknown metric {metric!r}; use {', '.join(METRICS)}", field=f"metrics[{index}]"
            )
        if metric in seen:
            raise InvalidQuery(f"metric {metric!r} is listed twice", field=f"metrics[{index}]")
        seen.append(metric)
    return tuple(seen)


def _date_range(value: Any) -> DateRange:
    if isinstance(value, str):
        if value not in RELATIVE_RANGES:
            raise InvalidQuery(
                f"date_range must be one of {', '.join(RELATIVE_RANGES)} or [from, to]", field="date_range"
            )
        return DateRange(value)
    if isinstance(value, list) and len(value) == 2:
        first, last = (_iso_date(item, f"date_range[{i}]") for i, item in enumerate(value))
        if last < first:
            raise InvalidQuery("date_range ends before it starts", field="date_range")
        return DateRange("custom", first, last)
    raise InvalidQuery(
        'date_range is required: "7d", "all", ... or ["YYYY-MM-DD", "YYYY-MM-DD"]', field="date_range"
    )


def _iso_date(value: Any, field: str) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidQuery("dates are YYYY-MM-DD", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidQuery(f"{value} is not a date", field=field) from exc


def _dimensions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidQuery("dimensions must be a list", field="dimensions")
    if len(value) > MAX_DIMENSIONS:
        raise InvalidQuery(f"at most {MAX_DIMENSIONS} dimensions", field="dimensions")
    out: list[str] = []
    for index, dimension in enumerate(value):
        if not isinstance(dimension, str) or (
            dimension not in DIMENSIONS and dimension not in TIME_DIMENSIONS
        ):
            raise InvalidQuery(f"unknown dimension {dimension!r}", field=f"dimensions[{index}]")
        if dimension in out:
            raise InvalidQuery(f"dimension {dimension!r} is listed twice", field=f"dimensions[{index}]")
        out.append(dimension)
    return tuple(out)


def _filters(value: Any) -> tuple[Filter, ...]:
    if not isinstance(value, list):
        raise InvalidQuery("filters must be a list of [operator, dimension, [values]]", field="filters")
    out: list[Filter] = []
    for index, item in enumerate(value):
        where = f"filters[{index}]"
        if not isinstance(item, list) or len(item) != 3:
            raise InvalidQuery("a filter is [operator, dimension, [values]]", field=where)
        operator, dimension, values = item
        if operator not in FILTER_OPERATORS or not isinstance(operator, str):
            raise InvalidQuery(f"filter operators are {', '.join(FILTER_OPERATORS)}", field=f"{where}[0]")
        if not isinstance(dimension, str) or dimension not in DIMENSIONS:
            raise InvalidQuery(f"cannot filter on {dimension!r}", field=f"{where}[1]")
        if not isinstance(values, list) or not 1 <= len(values) <= MAX_FILTER_VALUES:
            raise InvalidQuery(
                f"filter values are a list of 1-{MAX_FILTER_VALUES} strings", field=f"{where}[2]"
            )
        texts: list[str] = []
        for position, item_value in enumerate(values):
            if isinstance(item_value, bool) or not isinstance(item_value, str | int):
                raise InvalidQuery("filter values are strings", field=f"{where}[2][{position}]")
            texts.append(str(item_value)[:2000])
        out.append(Filter(operator, dimension, tuple(texts)))
    return tuple(out)


def _order_by(
    value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise InvalidQuery("order_by is a list of [metric or dimension, asc|desc]", field="order_by")
    out: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        where = f"order_by[{index}]"
        if not isinstance(item, list) or len(item) != 2:
            raise InvalidQuery("order_by items are [metric or dimension, asc|desc]", field=where)
        name, direction = item
        if not isinstance(name, str) or (name not in metrics and name not in dimensions):
            raise InvalidQuery("order by a metric or dimension of this query", field=f"{where}[0]")
        if direction not in ORDER_DIRECTIONS or not isinstance(direction, str):
            raise InvalidQuery("direction is asc or desc", field=f"{where}[1]")
        out.append((name, direction))
    return tuple(out)


def _pagination(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise InvalidQuery("pagination is {limit, offset}", field="pagination")
    extra = sorted(set(value) - {"limit", "offset"})
    if extra:
        raise InvalidQuery(f"unknown pagination member {extra[0]!r}", field="pagination")
    limit = value.get("limit", DEFAULT_LIMIT)
    offset = value.get("offset", 0)
    if not _is_int(limit) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit is 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})", field="pagination.limit")
    if not _is_int(offset) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidQuery(f"offset is 0-{MAX_OFFSET}", field="pagination.offset")
    return int(limit), int(offset)
