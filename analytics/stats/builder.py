"""SQL for a parsed ``Query``: bound parameters only, never interpolated values.

Visit-level facts come first (per visit: actions and duration over the whole range),
then hits are grouped by the query's dimensions and visit, and finally by dimensions:

* visitors: distinct visitor ids; visits: distinct visits in the group;
* pageviews / events: pageview hits / all hits except heartbeats;
* bounce_rate: percentage of the group's visits with exactly one action;
* visit_duration: mean seconds between the first and last hit of the group's visits.

Identifiers in the SQL text come only from the parser's fixed tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analytics.schema import EVENTS
from analytics.stats.parser import DIMENSIONS, DateRange, Query

_TIME_EXPRESSIONS = {
    "time:day": "toString(toDate(timestamp, {tz:String}))",
    "time:hour": "formatDateTime(toStartOfHour(timestamp, {tz:String}), '%Y-%m-%d %H:00:00', {tz:String})",
    "time:month": "formatDateTime(toStartOfMonth(timestamp, {tz:String}), '%Y-%m', {tz:String})",
}

_METRIC_SQL = {
    "visitors": "uniqExact(visitor) AS visitors",
    "visits": "count() AS visits",
    "pageviews": "sum(group_pageviews) AS pageviews",
    "events": "sum(group_events) AS events",
    "bounce_rate": "if(count() = 0, 0, round(100 * countIf(visit_actions = 1) / count())) AS bounce_rate",
    "visit_duration": "if(count() = 0, 0, round(avg(visit_duration_ms) / 1000)) AS visit_duration",
}


@dataclass(frozen=True)
class Resolved:
    first: date | None
    last: date | None

    def as_json(self) -> list[str] | str:
        if self.first is None or self.last is None:
            return "all"
        return [self.first.isoformat(), self.last.isoformat()]


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: dict[str, Any]
    resolved: Resolved


def resolve(date_range: DateRange, today: date) -> Resolved:
    kind = date_range.kind
    if kind == "custom":
        return Resolved(date_range.first, date_range.last)
    if kind == "day":
        return Resolved(today, today)
    if kind == "7d":
        return Resolved(today - timedelta(days=6), today)
    if kind == "30d":
        return Resolved(today - timedelta(days=29), today)
    if kind == "month":
        return Resolved(today.replace(day=1), today)
    if kind == "year":
        return Resolved(today.replace(month=1, day=1), today)
    return Resolved(None, None)


def build(query: Query, timezone: str, now: datetime) -> Statement:
    zone = ZoneInfo(timezone)
    resolved = resolve(query.date_range, now.astimezone(zone).date())
    parameters: dict[str, Any] = {"site": query.site_id, "tz": timezone}
    where = ["site_id = {site:UInt32}"]
    if resolved.first is not None and resolved.last is not None:
        parameters["start"] = _utc_midnight(resolved.first, zone)
        parameters["end"] = _utc_midnight(resolved.last + timedelta(days=1), zone)
        where += ["timestamp >= {start:DateTime64(3, 'UTC')}", "timestamp < {end:DateTime64(3, 'UTC')}"]
    range_where = " AND ".join(where)
    hit_where = list(where)
    for index, item in enumerate(query.filters):
        name = f"f{index}"
        parameters[name] = list(item.values)
        column = _column(item.dimension)
        negate = "NOT " if item.operator == "is_not" else ""
        hit_where.append(f"toString({column}) {negate}IN {{{name}:Array(String)}}")
    dims = [f"{_dimension_sql(d)} AS d{i}" for i, d in enumerate(query.dimensions)]
    dim_names = [f"d{i}" for i in range(len(query.dimensions))]
    inner_group = ", ".join([*dim_names, "visit_id"])
    outer_select = ", ".join([*dim_names, *(_METRIC_SQL[m] for m in query.metrics)])
    sql = (
        "WITH visit_facts AS (\n"
        "    SELECT visit_id, countIf(kind != 'ping') AS visit_actions,\n"
        "        dateDiff('millisecond', min(timestamp), max(timestamp)) AS visit_duration_ms\n"
        f"    FROM {EVENTS} WHERE {range_where} GROUP BY visit_id\n"
        ")\n"
        f"SELECT {outer_select}\n"
        "FROM (\n"
        f"    SELECT {', '.join([*dims, 'visit_id'])}, any(visitor_id) AS visitor,\n"
        "        countIf(kind = 'pageview') AS group_pageviews, countIf(kind != 'ping') AS group_events\n"
        f"    FROM {EVENTS} WHERE {' AND '.join(hit_where)}\n"
        f"    GROUP BY {inner_group}\n"
        ") AS grouped\n"
        "LEFT JOIN visit_facts USING (visit_id)\n"
        + (f"GROUP BY {', '.join(dim_names)}\n" if dim_names else "")
        + f"ORDER BY {_order(query)}\n"
        + "LIMIT {limit:UInt32} OFFSET {offset:UInt32}"
    )
    parameters["limit"] = query.limit
    parameters["offset"] = query.offset
    return Statement(sql, parameters, resolved)


def _column(dimension: str) -> str:
    return DIMENSIONS[dimension]


def _dimension_sql(dimension: str) -> str:
    if dimension in _TIME_EXPRESSIONS:
        return _TIME_EXPRESSIONS[dimension]
    column = DIMENSIONS[dimension]
    return f"toString({column})" if column == "goal_id" else column


def _order(query: Query) -> str:
    names = {d: f"d{i}" for i, d in enumerate(query.dimensions)}
    terms = [f"{names.get(name, name)} {direction.upper()}" for name, direction in query.order_by]
    if not terms:
        time_dims = [names[d] for d in query.dimensions if d.startswith("time:")]
        terms = [f"{d} ASC" for d in time_dims] or [f"{query.metrics[0]} DESC"]
    # A total order, so that pages of results neither repeat nor skip rows.
    terms += [f"{names[d]} ASC" for d in query.dimensions]
    return ", ".join(terms) if query.dimensions or query.order_by else "1"


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
