"""A stats query (Plausible Stats API v2 shape) from JSON, validated, as a pure function.

    {"site_id": 1, "metrics": ["visitors", "pageviews"], "date_range": "7d",
     "dimensions": ["event:page"], "filters": [["is", "visit:country", ["SE"]]],
     "order_by": [["visitors", "desc"]], "include": {"comparisons": {"mode": "previous_period"}},
     "pagination": {"limit": 100, "offset": 0}}

Filters nest: ``["and", [f, ...]]``, ``["or", [f, ...]]``, ``["not", f]``; a leaf is
``[operator, dimension, [values]]`` with operator is, is_not, contains or matches
(``contains`` and ``matches`` take ``{"case_sensitive": false}`` as a fourth member).

Anything wrong raises ``InvalidQuery`` (400) whose ``field`` names the offending member,
e.g. ``metrics[1]`` or ``filters[0][1][2]``.  Nothing here touches storage or the clock:
relative date ranges stay relative until the builder resolves them for the site's day.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from analytics.stats.ecommerce import names as ecommerce
from samtycke.days import RANGES
from samtycke.settings.loading import CUSTOM_DIMENSION_NAME
from samtycke.web.errors import BadRequest

METRICS = (
    "visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events",
    "conversion_rate", "percentage", "time_on_page", "entry_rate", "exit_rate", "searches_without_results",
    *ecommerce.METRICS,
)  # fmt: skip
# Metrics that read where each pageview stands in its visit (the next hit, the last pageview).
PAGE_METRICS = ("time_on_page", "entry_rate", "exit_rate")

# Public dimension name -> events column or expression (time and goals are the builder's).
DIMENSIONS: dict[str, str] = {
    "event:page": "pathname",
    "event:hostname": "hostname",
    "event:kind": "kind",
    "event:title": "title",
    "event:outlink": "if(kind = 'outlink', link, '')",
    "event:download": "if(kind = 'download', link, '')",
    "event:search_keyword": "search_keyword",
    "event:search_category": "search_category",
    "event:category": "event_category",
    "event:action": "event_action",
    "event:name": "event_name",
    "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",  # a visit fact, computed per visit (``columns``)
    "visit:source": "source",
    "visit:channel": "channel",
    "visit:referrer": "referrer_of_visit",  # a visit fact: the entry hit's referrer
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
    "visit:language": "language",
}
# Dimensions that only some hits have: grouped by one, a query counts only those hits.
HIT_KINDS: dict[str, str] = {
    "event:title": "pageview",
    "event:outlink": "outlink",
    "event:download": "download",
    "event:search_keyword": "search",
    "event:search_category": "search",
    "event:category": "event",
    "event:action": "event",
    "event:name": "event",
}
# Custom dimensions: ``event:props:<declared name or number>``, resolved per site (``properties``);
# ``event:props`` alone breaks down by the custom dimension itself (its number).
PROPS = "event:props"
PROPS_PREFIX = "event:props:"
GOAL_DIMENSION = "event:goal"
TIME_DIMENSIONS = ("time", "time:hour", "time:day", "time:week", "time:month")
FILTER_OPERATORS = ("is", "is_not", "contains", "matches")
LOGICAL_OPERATORS = ("and", "or", "not")
COMPARISON_MODES = ("previous_period", "year_over_year")
ORDER_DIRECTIONS = ("asc", "desc")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000
MAX_FILTER_VALUES = 100
MAX_FILTER_DEPTH = 4
MAX_FILTERS = 30
MAX_DIMENSIONS = 4
MAX_PATTERN = 500
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
_KNOWN_KEYS = {
    "site_id",
    "metrics",
    "date_range",
    "dimensions",
    "filters",
    "order_by",
    "include",
    "pagination",
}


class InvalidQuery(BadRequest):
    code = "invalid_query"


@dataclass(frozen=True)
class DateRange:
    kind: str  # one of RANGES, "custom" (dates) or "datetimes"
    first: date | None = None  # custom only
    last: date | None = None
    start: datetime | None = None  # datetimes only; naive means the site's time zone
    end: datetime | None = None


@dataclass(frozen=True)
class Filter:
    operator: str  # is, is_not, contains, matches
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True)
class Logical:
    operator: str  # and, or, not
    children: tuple[Condition, ...]


Condition = Filter | Logical


@dataclass(frozen=True)
class Include:
    comparison: str | None = None  # one of COMPARISON_MODES
    total_rows: bool = False
    time_labels: bool = False


@dataclass(frozen=True)
class Query:
    site_id: int
    metrics: tuple[str, ...]
    date_range: DateRange
    dimensions: tuple[str, ...] = ()
    filters: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    include: Include = Include()

    def leaves(self) -> list[Filter]:
        return [leaf for condition in self.filters for leaf in _leaves(condition)]

    @property
    def time_dimension(self) -> str | None:
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)


def _leaves(condition: Condition) -> list[Filter]:
    if isinstance(condition, Filter):
        return [condition]
    return [leaf for child in condition.children for leaf in _leaves(child)]


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
    include = _include(document.get("include", {}), date_range)
    limit, offset = _pagination(document.get("pagination", {}))
    query = Query(site_id, metrics, date_range, dimensions, filters, order_by, limit, offset, include)
    _check_combinations(query)
    return query


def _check_combinations(query: Query) -> None:
    _check_ecommerce(query)
    goal_filtered = any(leaf.dimension == GOAL_DIMENSION for leaf in query.leaves())
    if "conversion_rate" in query.metrics and GOAL_DIMENSION not in query.dimensions and not goal_filtered:
        raise InvalidQuery(
            "conversion_rate needs the event:goal dimension or a goal filter",
            field=f"metrics[{query.metrics.index('conversion_rate')}]",
        )
    if sum(1 for d in query.dimensions if d in TIME_DIMENSIONS) > 1:
        raise InvalidQuery("use at most one time dimension", field="dimensions")


def _check_ecommerce(query: Query) -> None:
    """Ecommerce metrics come from their own statements: they combine only with each other."""
    shop = [m for m in query.metrics if m in ecommerce.METRICS]
    products = [d for d in query.dimensions if d in ecommerce.PRODUCT_DIMENSIONS]
    product_filters = [f.dimension for f in query.leaves() if f.dimension in ecommerce.PRODUCT_DIMENSIONS]
    if not shop and not products and not product_filters:
        return
    other = next((m for m in query.metrics if m not in ecommerce.METRICS), None)
    if other is not None:
        raise InvalidQuery(
            f"{other} cannot be combined with ecommerce metrics or product dimensions; ask in two queries",
            field=f"metrics[{query.metrics.index(other)}]",
        )
    if (product_filters or any(m in ecommerce.PRODUCT_METRICS for m in shop)) and not products:
        raise InvalidQuery(
            "product metrics and product filters need a product dimension "
            f"({', '.join(ecommerce.PRODUCT_DIMENSIONS)})",
            field="dimensions",
        )
    if GOAL_DIMENSION in query.dimensions and (shop != ["revenue"] or products):
        raise InvalidQuery("with event:goal, the ecommerce metric is revenue alone", field="metrics")


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
        if not isinstance(metric, str) or metric not in METRICS:
            raise InvalidQuery(
                f"unknown metric {metric!r:.60}; use {', '.join(METRICS)}", field=f"metrics[{index}]"
            )
        if metric in seen:
            raise InvalidQuery(f"metric {metric!r} is listed twice", field=f"metrics[{index}]")
        seen.append(metric)
    return tuple(seen)


def _date_range(value: Any) -> DateRange:
    if isinstance(value, str):
        if value not in RANGES:
            raise InvalidQuery(
                f"date_range must be one of {', '.join(RANGES)} or [from, to]", field="date_range"
            )
        return DateRange(value)
    if isinstance(value, list) and len(value) == 2:
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise InvalidQuery("dates are YYYY-MM-DD (or ISO datetimes)", field=f"date_range[{index}]")
        if all(_ISO_DATE.fullmatch(v) for v in value):
            first, last = (_iso_date(item, f"date_range[{i}]") for i, item in enumerate(value))
            if last < first:
                raise InvalidQuery("date_range ends before it starts", field="date_range")
            return DateRange("custom", first=first, last=last)
        start, end = (_iso_datetime(item, f"date_range[{i}]") for i, item in enumerate(value))
        if (start.tzinfo is None) != (end.tzinfo is None):
            raise InvalidQuery("give both datetimes with an offset, or neither", field="date_range")
        if end <= start:
            raise InvalidQuery("date_range ends before it starts", field="date_range")
        return DateRange("datetimes", start=start, end=end)
    raise InvalidQuery(
        'date_range is required: "7d", "all", ... ["YYYY-MM-DD", "YYYY-MM-DD"] or two ISO datetimes',
        field="date_range",
    )


def _iso_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidQuery(f"{value[:20]} is not a date", field=field) from exc


def _iso_datetime(value: str, field: str) -> datetime:
    if not _ISO_DATETIME.fullmatch(value):
        raise InvalidQuery("datetimes are YYYY-MM-DDTHH:MM[:SS][+HH:MM|Z]", field=field)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidQuery(f"{value[:30]} is not a datetime", field=field) from exc


def _dimensions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidQuery("dimensions must be a list", field="dimensions")
    if len(value) > MAX_DIMENSIONS:
        raise InvalidQuery(f"at most {MAX_DIMENSIONS} dimensions", field="dimensions")
    out: list[str] = []
    for index, dimension in enumerate(value):
        if not isinstance(dimension, str) or not (
            _groupable(dimension)
            or dimension in TIME_DIMENSIONS
            or dimension == PROPS
            or dimension in ecommerce.PRODUCT_DIMENSIONS
        ):
            raise InvalidQuery(f"unknown dimension {dimension!r:.60}", field=f"dimensions[{index}]")
        if dimension in out:
            raise InvalidQuery(f"dimension {dimension!r} is listed twice", field=f"dimensions[{index}]")
        out.append(dimension)
    return tuple(out)


def _groupable(dimension: str) -> bool:
    """A dimension with one value per hit: a column, the goal, or a custom dimension by name."""
    if dimension in DIMENSIONS or dimension == GOAL_DIMENSION:
        return True
    name = dimension.removeprefix(PROPS_PREFIX)
    return name != dimension and CUSTOM_DIMENSION_NAME.fullmatch(name) is not None


def _filters(value: Any) -> tuple[Condition, ...]:
    if not isinstance(value, list):
        raise InvalidQuery("filters must be a list of [operator, dimension, [values]]", field="filters")
    if len(value) > MAX_FILTERS:
        raise InvalidQuery(f"at most {MAX_FILTERS} filters", field="filters")
    return tuple(_condition(item, f"filters[{index}]", 1) for index, item in enumerate(value))


def _condition(item: Any, where: str, depth: int) -> Condition:
    if depth > MAX_FILTER_DEPTH:
        raise InvalidQuery(f"filters nest at most {MAX_FILTER_DEPTH} deep", field=where)
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise InvalidQuery("a filter is [operator, dimension, [values]]", field=where)
    operator = item[0]
    if operator == "not":
        if len(item) != 2:
            raise InvalidQuery('"not" takes one filter: ["not", filter]', field=where)
        return Logical("not", (_condition(item[1], f"{where}[1]", depth + 1),))
    if operator in ("and", "or"):
        if len(item) != 2 or not isinstance(item[1], list) or not item[1]:
            raise InvalidQuery(f'"{operator}" takes a list of filters', field=where)
        if len(item[1]) > MAX_FILTERS:
            raise InvalidQuery(f"at most {MAX_FILTERS} filters", field=f"{where}[1]")
        children = tuple(_condition(c, f"{where}[1][{i}]", depth + 1) for i, c in enumerate(item[1]))
        return Logical(operator, children)
    if operator not in FILTER_OPERATORS:
        operators = ", ".join((*FILTER_OPERATORS, *LOGICAL_OPERATORS))
        raise InvalidQuery(f"filter operators are {operators}", field=f"{where}[0]")
    if len(item) not in (3, 4):
        raise InvalidQuery("a filter is [operator, dimension, [values]]", field=where)
    dimension, values = item[1], item[2]
    if not isinstance(dimension, str) or not (
        _groupable(dimension) or dimension in ecommerce.PRODUCT_DIMENSIONS
    ):
        raise InvalidQuery(f"cannot filter on {dimension!r:.60}", field=f"{where}[1]")
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_FILTER_VALUES:
        raise InvalidQuery(f"filter values are a list of 1-{MAX_FILTER_VALUES} strings", field=f"{where}[2]")
    texts: list[str] = []
    for position, item_value in enumerate(values):
        if isinstance(item_value, bool) or not isinstance(item_value, str | int):
            raise InvalidQuery("filter values are strings", field=f"{where}[2][{position}]")
        text = str(item_value)[:2000]
        if operator == "matches":
            text = _pattern(text, f"{where}[2][{position}]")
        texts.append(text)
    case_sensitive = True
    if len(item) == 4:
        options = item[3]
        if not isinstance(options, dict) or set(options) - {"case_sensitive"}:
            raise InvalidQuery('filter options are {"case_sensitive": true|false}', field=f"{where}[3]")
        flag = options.get("case_sensitive", True)
        if not isinstance(flag, bool):
            raise InvalidQuery("case_sensitive is true or false", field=f"{where}[3]")
        case_sensitive = flag
    return Filter(operator, dimension, tuple(texts), case_sensitive)


def _pattern(text: str, field: str) -> str:
    """A re2 pattern ClickHouse will accept; checked here so a bad one is a 400, not a 500."""
    if len(text) > MAX_PATTERN:
        raise InvalidQuery(f"patterns are at most {MAX_PATTERN} characters", field=field)
    if re.search(r"\\[1-9]|\(\?[=!<>]|[*+?}]\+|\\Z", text):
        raise InvalidQuery(
            "backreferences, lookaround, atomic groups and possessive quantifiers are not"
            " supported (re2 syntax)",
            field=field,
        )
    try:
        re.compile(text)
    except re.error as exc:
        raise InvalidQuery(f"not a regular expression: {exc}", field=field) from exc
    return text


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
        if not isinstance(direction, str) or direction not in ORDER_DIRECTIONS:
            raise InvalidQuery("direction is asc or desc", field=f"{where}[1]")
        out.append((name, direction))
    return tuple(out)


def _include(value: Any, date_range: DateRange) -> Include:
    if not isinstance(value, dict):
        raise InvalidQuery("include is an object", field="include")
    extra = sorted(set(value) - {"comparisons", "total_rows", "time_labels"})
    if extra:
        raise InvalidQuery(f"unknown include member {extra[0]!r:.60}", field="include")
    comparison: str | None = None
    raw = value.get("comparisons")
    if raw is not None and raw is not False:
        mode = raw.get("mode") if isinstance(raw, dict) else "previous_period" if raw is True else None
        if mode not in COMPARISON_MODES:
            raise InvalidQuery(
                'comparisons is {"mode": "previous_period"} or {"mode": "year_over_year"}',
                field="include.comparisons",
            )
        if date_range.kind == "all":
            raise InvalidQuery("all time has nothing to compare with", field="include.comparisons")
        comparison = mode
    flags = {}
    for name in ("total_rows", "time_labels"):
        flag = value.get(name, False)
        if not isinstance(flag, bool):
            raise InvalidQuery(f"{name} is true or false", field=f"include.{name}")
        flags[name] = flag
    return Include(comparison, flags["total_rows"], flags["time_labels"])


def _pagination(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise InvalidQuery("pagination is {limit, offset}", field="pagination")
    extra = sorted(set(value) - {"limit", "offset"})
    if extra:
        raise InvalidQuery(f"unknown pagination member {extra[0]!r:.60}", field="pagination")
    limit = value.get("limit", DEFAULT_LIMIT)
    offset = value.get("offset", 0)
    if not _is_int(limit) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit is 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})", field="pagination.limit")
    if not _is_int(offset) or not 0 <= offset <= MAX_OFFSET:
        raise InvalidQuery(f"offset is 0-{MAX_OFFSET}", field="pagination.offset")
    return int(limit), int(offset)


# Shared with the other requests on statistics (funnels): the same site and date-range rules.
parse_site = _site
parse_date_range = _date_range
