"""SQL for a parsed ``Query``: bound parameters only, never interpolated values.

Two plans.  When the query's dimensions, filters and metrics fit one rollup (see
``rollups``), it reads that AggregatingMergeTree table.  Otherwise it reads raw events:
visit-level facts first (per visit over the whole range: actions, duration, exit page,
referrer), then hits grouped by the query's dimensions and visit, then by dimensions:

* visitors: distinct visitor ids; visits: distinct visits in the group;
* pageviews / events: pageview hits / all hits except heartbeats;
* views_per_visit: pageviews per visit of the group;
* bounce_rate: percentage of the group's visits with exactly one action;
* visit_duration: mean seconds between the first and last hit of the group's visits;
* searches_without_results: site searches that reported ``search_count=0``;
* time_on_page: mean seconds from a pageview to the visit's next pageview (else its last hit),
  over pageviews with a later hit; entry_rate / exit_rate: percentage of the group's visits
  that started in the group, or whose last pageview is in it (``_PLACED_HITS``).

Dimensions come from ``columns``: grouped by one that only some hits have, only those count.
Reports that need neither the per-visit level nor the joined facts aggregate once instead
(``single_pass``), with the same answers.

``conversion_rate`` and ``percentage`` are ratios of visitor counts; the runner divides,
from a second statement for the totals.  Identifiers in the SQL text come only from the
parser's fixed tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from analytics.schema import EVENTS
from analytics.stats import conditions, goals, ranges, rollups, single_pass
from analytics.stats.columns import Columns
from analytics.stats.ecommerce import names as ecommerce_names
from analytics.stats.ecommerce import statements as ecommerce
from analytics.stats.parser import (
    GOAL_DIMENSION,
    PAGE_METRICS,
    TIME_DIMENSIONS,
    DateRange,
    InvalidQuery,
    Query,
)
from analytics.stats.ranges import Period, granularity
from analytics.stats.sql import Parameters
from samtycke.settings import Site

RATIOS = ("conversion_rate", "percentage")

TIME_FORMATS = {
    "time:hour": "formatDateTime(toStartOfHour({t}, {tz}), '%Y-%m-%d %H:00:00', {tz})",
    "time:day": "toString(toDate({t}, {tz}))",
    "time:week": "toString(toMonday({t}, {tz}))",
    "time:month": "formatDateTime(toStartOfMonth({t}, {tz}), '%Y-%m', {tz})",
}

_RAW_METRICS = {
    "visitors": "uniqExact(visitor)",
    "visits": "count()",
    "pageviews": "sum(group_pageviews)",
    "events": "sum(group_events)",
    "views_per_visit": "if(count() = 0, 0, round(sum(group_pageviews) / count(), 2))",
    "bounce_rate": "if(count() = 0, 0, round(100 * countIf(visit_actions = 1) / count()))",
    "visit_duration": "if(count() = 0, 0, round(avg(visit_duration_ms) / 1000))",
    "time_on_page": (
        "if(sum(group_timed_pages) = 0, 0, round(sum(group_page_ms) / sum(group_timed_pages) / 1000))"
    ),
    "entry_rate": "if(count() = 0, 0, round(100 * countIf(group_entered = 1) / count()))",
    "exit_rate": "if(count() = 0, 0, round(100 * countIf(group_exited = 1) / count()))",
    "searches_without_results": "sum(group_empty_searches)",
}

# Every hit of the period with where it stands in its visit, for the per-page metrics:
# ``page_ms`` is a pageview's time until the visit's next pageview, or else until the visit's
# last hit (a heartbeat, an event); ``is_exit`` marks the visit's last pageview.  The same
# partitions give each hit its visit's actions and duration, so bounce rate and visit duration
# need no second pass over the visits.
_PLACED_HITS = """    SELECT *,
        if(kind = 'pageview',
            if(next_pageview_ms > 0, next_pageview_ms, last_hit_ms) - toUnixTimestamp64Milli(timestamp), 0)
            AS page_ms,
        toUInt8(kind = 'pageview' AND next_pageview_ms = 0) AS is_exit
    FROM (
        SELECT *,
            minIf(toUnixTimestamp64Milli(timestamp), kind = 'pageview') OVER (PARTITION BY visit_id
                ORDER BY timestamp ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_pageview_ms,
            max(toUnixTimestamp64Milli(timestamp)) OVER visit AS last_hit_ms,
            min(toUnixTimestamp64Milli(timestamp)) OVER visit AS first_hit_ms,
            countIf(kind != 'ping') OVER visit AS visit_actions
        FROM {events} WHERE {where}
        WINDOW visit AS (PARTITION BY visit_id)
    )
"""


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: dict[str, Any]
    period: Period
    dimensions: tuple[str, ...]  # as queried ("time" resolved to its granularity)
    metrics: tuple[str, ...]  # the columns after the dimensions
    source: str  # "events" or the rollup table
    approximate: bool = False  # unique counts from uniq states
    count_sql: str = ""  # SELECT count() of all groups, for total_rows
    extra: dict[str, Any] = field(default_factory=dict)


def sql_metrics(query: Query) -> tuple[str, ...]:
    """What the SQL selects: the query's metrics minus ratios, plus visitors for them."""
    selected = [m for m in query.metrics if m not in RATIOS]
    if any(m in RATIOS for m in query.metrics) and "visitors" not in selected:
        selected.append("visitors")
    return tuple(selected)


def build(query: Query, timezone: str, now: datetime) -> Statement:
    """The statement for a query on a site in ``timezone`` with no goals, as of ``now``."""
    site = Site(id=query.site_id, name="", domains=[], timezone=timezone)
    return statement(query, site, ranges.resolve(query.date_range, ZoneInfo(timezone), now))


def resolve(date_range: DateRange, today: date) -> Period:
    """A date range as site-local days (``as_json``), given the site's today."""
    return ranges.resolve(date_range, ZoneInfo("UTC"), datetime.combine(today, time(12), UTC))


def statement(query: Query, site: Site, period: Period, shortcuts: bool = True) -> Statement:
    """The SQL for ``query``; ``shortcuts=False`` keeps to the general raw plan (to compare them)."""
    dimensions = tuple(granularity(d, period) for d in query.dimensions)
    parameters = Parameters({"site": query.site_id, "tz": site.timezone})
    if _is_ecommerce(query):
        return _ecommerce_statement(query, site, period, dimensions, parameters)
    metrics = sql_metrics(query)
    plan = rollups.plan(query, dimensions, metrics, period)
    if plan is not None:
        return _rollup_statement(query, site, period, dimensions, metrics, plan, parameters)
    return _raw_statement(query, site, period, dimensions, metrics, parameters, shortcuts)


def _is_ecommerce(query: Query) -> bool:
    return any(m in ecommerce_names.METRICS for m in query.metrics) or any(
        d in ecommerce_names.PRODUCT_DIMENSIONS for d in query.dimensions
    )


def _ecommerce_statement(
    query: Query, site: Site, period: Period, dimensions: tuple[str, ...], parameters: Parameters
) -> Statement:
    goals_sql = goals.completed(list(site.goals), parameters)
    columns = Columns(site, parameters)
    body = ecommerce.body(
        query,
        dimensions,
        _bounds(period, "timestamp", parameters),
        lambda dimension: _dimension_sql(dimension, goals_sql, "timestamp", columns),
        columns.value,
        goals_sql,
        parameters,
        goal_revenue=(
            goals.revenue(list(site.goals), f"d{dimensions.index(GOAL_DIMENSION)}", parameters)
            if GOAL_DIMENSION in dimensions
            else "revenue"
        ),
    )
    if columns.facts:  # orders are read hit by hit, without their visits' facts
        raise InvalidQuery(
            "ecommerce reports cannot use visit:exit_page, visit:referrer or visit-scoped custom dimensions",
            field="dimensions",
        )
    metrics = ecommerce.sql_metrics(query)
    return _finish(query, period, dimensions, metrics, body, parameters, EVENTS, approximate=False)


def _bounds(period: Period, column: str, parameters: Parameters) -> list[str]:
    where = ["site_id = {site:UInt32}"]
    if period.start is not None and period.end is not None:
        parameters["start"] = period.start
        parameters["end"] = period.end
        kind = "DateTime64(3, 'UTC')" if column == "timestamp" else "DateTime('UTC')"
        where += [f"{column} >= {{start:{kind}}}", f"{column} < {{end:{kind}}}"]
    return where


def _raw_statement(
    query: Query,
    site: Site,
    period: Period,
    dimensions: tuple[str, ...],
    metrics: tuple[str, ...],
    parameters: Parameters,
    shortcuts: bool,
) -> Statement:
    range_where = _bounds(period, "timestamp", parameters)
    goals_sql = goals.completed(list(site.goals), parameters)
    columns = Columns(site, parameters)
    needs_visit_stats = any(m in ("bounce_rate", "visit_duration") for m in metrics)
    page_metrics = any(m in PAGE_METRICS for m in metrics)

    filters = [conditions.render(c, columns.value, goals_sql, parameters) for c in query.filters]
    filters_read_visits = bool(columns.facts)
    hit_where = [*range_where, *filters]
    if GOAL_DIMENSION in dimensions:
        hit_where.append(goals.may_complete(list(site.goals), parameters))
    onlys = [only for only in (columns.only(d) for d in dimensions) if only is not None]
    hit_where += onlys
    inner = []
    for index, dimension in enumerate(dimensions):
        inner.append(f"{_dimension_sql(dimension, goals_sql, 'timestamp', columns)} AS d{index}")
    names = [f"d{i}" for i in range(len(dimensions))]
    source = EVENTS
    if page_metrics:
        source = f"(\n{_PLACED_HITS.format(events=EVENTS, where=' AND '.join(range_where))}) AS hits"
    if shortcuts and GOAL_DIMENSION not in dimensions:
        flat = single_pass.PLACED_HIT_METRICS if page_metrics else single_pass.HIT_METRICS
        if not columns.facts and set(metrics) <= set(flat):
            body = single_pass.hits(
                inner, names, [f"{flat[m]} AS metric_{m}" for m in metrics], hit_where, source
            )
            return _finish(query, period, dimensions, metrics, body, parameters, EVENTS, approximate=False)
        if (
            not page_metrics
            and dimensions
            and not filters_read_visits
            and all(d not in TIME_FORMATS and columns.value(d) in columns.facts for d in dimensions)
            and set(metrics) <= single_pass.VISIT_METRICS
        ):
            body = single_pass.visits(
                inner, names, metrics, columns.facts, range_where, filters, onlys, EVENTS, _RAW_METRICS
            )
            return _finish(query, period, dimensions, metrics, body, parameters, EVENTS, approximate=False)
    if columns.facts:
        joined = ", ".join(columns.facts)
        source += f" INNER JOIN (SELECT visit_id, {joined} FROM visit_facts) AS vf USING (visit_id)"
    # With the per-page metrics, each hit carries its visit's actions and duration already.
    visit_stats_joined = needs_visit_stats and not page_metrics
    ctes = []
    if columns.facts or visit_stats_joined:
        facts = "".join(f",\n        {aggregate} AS {name}" for name, aggregate in columns.facts.items())
        ctes.append(
            "visit_facts AS (\n"
            "    SELECT visit_id, countIf(kind != 'ping') AS visit_actions,\n"
            f"        dateDiff('millisecond', min(timestamp), max(timestamp)) AS visit_duration_ms{facts}\n"
            f"    FROM {EVENTS} WHERE {' AND '.join(range_where)} GROUP BY visit_id\n"
            ")"
        )
    join = (
        "LEFT JOIN (SELECT visit_id, visit_actions, visit_duration_ms FROM visit_facts) AS facts"
        " USING (visit_id)\n"
        if visit_stats_joined
        else ""
    )
    per_group = [
        "countIf(kind = 'pageview') AS group_pageviews",
        "countIf(kind != 'ping') AS group_events",
    ]
    if "searches_without_results" in metrics:
        per_group.append("countIf(kind = 'search' AND search_count = 0) AS group_empty_searches")
    if page_metrics:
        per_group += [
            "sumIf(page_ms, page_ms > 0) AS group_page_ms",
            "countIf(page_ms > 0) AS group_timed_pages",
            "max(is_entry) AS group_entered",
            "max(is_exit) AS group_exited",
        ]
        if needs_visit_stats:
            per_group += [
                "any(visit_actions) AS visit_actions",
                "any(last_hit_ms - first_hit_ms) AS visit_duration_ms",
            ]
    grouped = (
        f"SELECT {', '.join([*inner, 'visit_id'])}, any(visitor_id) AS visitor,\n"
        f"        {', '.join(per_group)}\n"
        f"    FROM {source} WHERE {' AND '.join(hit_where)}\n"
        f"    GROUP BY {', '.join([*names, 'visit_id'])}"
    )
    body = (
        (f"WITH {', '.join(ctes)}\n" if ctes else "")
        + f"SELECT {', '.join([*names, *(f'{_RAW_METRICS[m]} AS metric_{m}' for m in metrics)])}\n"
        + f"FROM (\n    {grouped}\n) AS grouped\n"
        + join
        + (f"GROUP BY {', '.join(names)}\n" if names else "")
    )
    return _finish(query, period, dimensions, metrics, body, parameters, EVENTS, approximate=False)


def _rollup_statement(
    query: Query,
    site: Site,
    period: Period,
    dimensions: tuple[str, ...],
    metrics: tuple[str, ...],
    plan: rollups.Plan,
    parameters: Parameters,
) -> Statement:
    where = _bounds(period, "hour", parameters)
    where += [conditions.render(c, plan.column, "[]", parameters) for c in query.filters]
    selected = [f"{_rollup_dimension(d, plan)} AS d{i}" for i, d in enumerate(dimensions)]
    names = [f"d{i}" for i in range(len(dimensions))]
    body = (
        f"SELECT {', '.join([*selected, *(f'{rollups.METRICS[m]} AS metric_{m}' for m in metrics)])}\n"
        f"FROM {plan.table}\nWHERE {' AND '.join(where)}\n"
        + (f"GROUP BY {', '.join(names)}\n" if names else "")
        + (f"HAVING {plan.having}\n" if plan.having else "")
    )
    return _finish(query, period, dimensions, metrics, body, parameters, plan.table, approximate=True)


def _rollup_dimension(dimension: str, plan: rollups.Plan) -> str:
    if dimension in TIME_FORMATS:
        return TIME_FORMATS[dimension].format(t="hour", tz="{tz:String}")
    return f"toString({plan.column(dimension)})"


def _dimension_sql(dimension: str, goals_sql: str, time_column: str, columns: Columns) -> str:
    if dimension in TIME_FORMATS:
        return TIME_FORMATS[dimension].format(t=time_column, tz="{tz:String}")
    if dimension == GOAL_DIMENSION:
        return f"arrayJoin({goals_sql})"
    return f"toString({columns.value(dimension)})"


def _finish(
    query: Query,
    period: Period,
    dimensions: tuple[str, ...],
    metrics: tuple[str, ...],
    body: str,
    parameters: Parameters,
    source: str,
    approximate: bool,
) -> Statement:
    parameters["limit"] = query.limit
    parameters["offset"] = query.offset
    sql = (
        body
        + f"ORDER BY {_order(query, dimensions, metrics)}\n"
        + "LIMIT {limit:UInt32} OFFSET {offset:UInt32}"
    )
    count_sql = f"SELECT count() FROM (\n{body})"
    return Statement(
        sql, dict(parameters), period, dimensions, metrics, source, approximate, count_sql=count_sql
    )


def _order(query: Query, dimensions: tuple[str, ...], metrics: tuple[str, ...]) -> str:
    names = {d: f"d{i}" for i, d in enumerate(query.dimensions)}
    terms = []
    for name, direction in query.order_by:
        # A ratio the runner finishes sorts by its numerator (visitors, or converted visits).
        numerator = "visitors" if "visitors" in metrics else metrics[-1]
        target = names.get(name) or f"metric_{name if name in metrics else numerator}"
        terms.append(f"{target} {direction.upper()}")
    if not terms:
        time_dims = [names[d] for d in query.dimensions if d in TIME_DIMENSIONS]
        terms = [f"{d} ASC" for d in time_dims] or [f"metric_{metrics[0]} DESC"]
    # A total order, so that pages of results neither repeat nor skip rows.
    terms += [f"{names[d]} ASC" for d in query.dimensions]
    return ", ".join(terms) if query.dimensions or query.order_by else "1"
