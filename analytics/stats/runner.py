"""Run a query's statements and shape the answer like Plausible's Stats API v2.

Besides the main statement: totals for ``percentage`` and ``conversion_rate`` (the same
query without the goal's part), the comparison period when asked, and the number of
groups for ``total_rows``.  ``meta`` says where the numbers came from and how exact the
unique counts are.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analytics.stats import builder, ranges, rollups
from analytics.stats.builder import RATIOS, Statement
from analytics.stats.ecommerce.statements import CONVERTED_VISITS
from analytics.stats.parser import (
    GOAL_DIMENSION,
    MAX_LIMIT,
    Condition,
    Filter,
    InvalidQuery,
    Logical,
    Query,
)
from samtycke import csvcells
from samtycke.settings import Site
from samtycke.storage import StorageError
from samtycke.storage.budget import QueryBudget

Row = tuple[list[str], dict[str, float]]
CANNOT_COMPILE_REGEXP = 427
# Metrics in percent: their change is in percentage points.
PERCENTAGES = (
    "bounce_rate", "conversion_rate", "ecommerce_conversion_rate", "percentage", "entry_rate", "exit_rate",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Answer:
    query: Query
    statement: Statement
    rows: list[dict[str, Any]]
    meta: dict[str, Any]
    total_rows: int | None
    time_labels: list[str] | None
    comparison_period: ranges.Period | None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"results": self.rows, "meta": self.meta, "query": describe(self)}
        return body


async def run(storage: QueryBudget, query: Query, site: Site, now: datetime) -> Answer:
    try:
        return await _run(storage, query, site, now)
    except StorageError as exc:
        # The parser screens patterns, but re2 is the judge: a pattern it refuses is the caller's.
        if exc.code == CANNOT_COMPILE_REGEXP or "CANNOT_COMPILE_REGEXP" in str(exc):
            raise InvalidQuery("a matches pattern is not valid re2 syntax", field="filters") from exc
        raise


async def _run(storage: QueryBudget, query: Query, site: Site, now: datetime) -> Answer:
    period = ranges.resolve(query.date_range, ZoneInfo(site.timezone), now)
    statement = builder.statement(query, site, period)
    jobs: dict[str, Any] = {"main": _rows(storage, statement)}
    if "percentage" in query.metrics:
        jobs["all"] = _totals(storage, _without_dimensions(query), site, period)
    if "conversion_rate" in query.metrics:
        jobs["converting_base"] = _totals(storage, _without_goals(query), site, period)
    if CONVERTED_VISITS in statement.metrics:
        jobs["visits"] = _totals(storage, _visits_of(query), site, period, "visits")
    compared: ranges.Period | None = None
    if query.include.comparison:
        compared = ranges.comparison(period, query.include.comparison)
        wide = dataclasses.replace(query, limit=MAX_LIMIT, offset=0)
        jobs["comparison"] = _rows(storage, builder.statement(wide, site, compared))
        if "percentage" in query.metrics:
            jobs["comparison_all"] = _totals(storage, _without_dimensions(query), site, compared)
        if "conversion_rate" in query.metrics:
            jobs["comparison_base"] = _totals(storage, _without_goals(query), site, compared)
        if CONVERTED_VISITS in statement.metrics:
            jobs["comparison_visits"] = _totals(storage, _visits_of(query), site, compared, "visits")
    if query.include.total_rows:
        jobs["total_rows"] = storage.aquery(statement.count_sql, statement.parameters)
    done = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
    main = _finish_ratios(
        query, done["main"], done.get("all"), done.get("converting_base"), done.get("visits")
    )
    rows = [{"metrics": [metrics[m] for m in query.metrics], "dimensions": dims} for dims, metrics in main]
    if compared is not None:
        before = _finish_ratios(
            query,
            done["comparison"],
            done.get("comparison_all"),
            done.get("comparison_base"),
            done.get("comparison_visits"),
        )
        _attach_comparisons(query, statement, period, compared, rows, main, before)
    labels = None
    if query.include.time_labels:
        time_dimension = next((d for d in statement.dimensions if d in rollups.TIME_BUCKETS), None)
        labels = ranges.labels(time_dimension, period) if time_dimension else []
    total = int(done["total_rows"][0][0]) if "total_rows" in done else None
    return Answer(query, statement, rows, _meta(statement, main), total, labels, compared)


async def _rows(storage: QueryBudget, statement: Statement) -> list[Row]:
    raw = await storage.aquery(statement.sql, statement.parameters)
    count = len(statement.dimensions)
    return [
        (
            [str(v) for v in row[:count]],
            {m: _number(v) for m, v in zip(statement.metrics, row[count:], strict=True)},
        )
        for row in raw
    ]


async def _totals(
    storage: QueryBudget, query: Query, site: Site, period: ranges.Period, metric: str = "visitors"
) -> dict[tuple[str, ...], float]:
    statement = builder.statement(query, site, period)
    return {tuple(dims): metrics[metric] for dims, metrics in await _rows(storage, statement)}


def _visits_of(query: Query) -> Query:
    """The visits an ecommerce conversion rate divides by: the same groups, every visit."""
    return dataclasses.replace(
        query, metrics=("visits",), order_by=(), limit=MAX_LIMIT, offset=0, include=type(query.include)()
    )


def _without_dimensions(query: Query) -> Query:
    return dataclasses.replace(
        query,
        metrics=("visitors",),
        dimensions=(),
        order_by=(),
        limit=1,
        offset=0,
        include=type(query.include)(),
    )


def _without_goals(query: Query) -> Query:
    """The base a conversion rate divides by: the same visitors, before any goal was reached."""
    dimensions = tuple(d for d in query.dimensions if d != GOAL_DIMENSION)
    filters = tuple(f for f in (_drop_goal(c) for c in query.filters) if f is not None)
    return dataclasses.replace(
        query,
        metrics=("visitors",),
        dimensions=dimensions,
        filters=filters,
        order_by=(),
        limit=MAX_LIMIT,
        offset=0,
        include=type(query.include)(),
    )


def _drop_goal(condition: Condition) -> Condition | None:
    if isinstance(condition, Filter):
        return None if condition.dimension == GOAL_DIMENSION else condition
    children = tuple(c for c in (_drop_goal(child) for child in condition.children) if c is not None)
    if not children:
        return None
    return Logical(condition.operator, children)


def _finish_ratios(
    query: Query,
    rows: list[Row],
    everyone: dict[tuple[str, ...], float] | None,
    base: dict[tuple[str, ...], float] | None,
    visits: dict[tuple[str, ...], float] | None = None,
) -> list[Row]:
    goal_index = query.dimensions.index(GOAL_DIMENSION) if GOAL_DIMENSION in query.dimensions else None
    for dims, metrics in rows:
        visitors = metrics.get("visitors", 0)
        if everyone is not None:
            total = everyone.get((), 0)
            metrics["percentage"] = round(100 * visitors / total, 2) if total else 0.0
        if base is not None:
            key = tuple(d for i, d in enumerate(dims) if i != goal_index)
            total = base.get(key, 0)
            metrics["conversion_rate"] = round(100 * visitors / total, 2) if total else 0.0
        if visits is not None:
            total = visits.get(tuple(dims), 0)
            converted = metrics.get(CONVERTED_VISITS, 0)
            metrics["ecommerce_conversion_rate"] = _number(round(100 * converted / total, 2)) if total else 0
        for metric in RATIOS:
            if metric in metrics:
                metrics[metric] = _number(metrics[metric])
    return rows


def _attach_comparisons(
    query: Query,
    statement: Statement,
    period: ranges.Period,
    compared: ranges.Period,
    rows: list[dict[str, Any]],
    main: list[Row],
    before: list[Row],
) -> None:
    """Match each row with the comparison row of the same dimensions (time: the same position)."""
    time_index = next((i for i, d in enumerate(statement.dimensions) if d in rollups.TIME_BUCKETS), None)
    shift: dict[str, str] = {}
    if time_index is not None:
        bucket = statement.dimensions[time_index]
        shift = dict(zip(ranges.labels(bucket, period), ranges.labels(bucket, compared), strict=False))
    earlier = {tuple(dims): metrics for dims, metrics in before}
    for row, (dims, metrics) in zip(rows, main, strict=True):
        key = list(dims)
        if time_index is not None:
            key[time_index] = shift.get(key[time_index], "")
        old = earlier.get(tuple(key), {})
        old_values = [old.get(m, 0) for m in query.metrics]
        row["comparison"] = {
            "dimensions": key,
            "metrics": old_values,
            "change": [_change(m, metrics[m], v) for m, v in zip(query.metrics, old_values, strict=True)],
        }


def _change(metric: str, now: float, before: float) -> float | None:
    if metric in PERCENTAGES:
        return _number(now - before)  # percentage points
    if not before:
        return None if now else 0
    return _number(round(100 * (now - before) / before, 1))


def _meta(statement: Statement, main: list[Row]) -> dict[str, Any]:
    uniques: dict[str, Any] = {"exact": True, "error_bound": 0}
    if statement.approximate and any(m == "visitors" for m in statement.metrics):
        largest = max((metrics.get("visitors", 0) for _, metrics in main), default=0)
        exact = largest < rollups.UNIQ_EXACT_BELOW
        uniques = {
            "exact": exact,
            "error_bound": 0 if exact else rollups.UNIQ_ERROR_BOUND,
            "method": "uniq (adaptive sampling of 32-bit hashes)",
            "note": f"exact below {rollups.UNIQ_EXACT_BELOW:,} distinct values per row "
            f"(bar rare hash collisions); otherwise within ±{rollups.UNIQ_ERROR_BOUND:.0%}",
        }
    return {
        "source": "rollup" if statement.source != "events" else "events",
        "table": statement.source,
        "unique_counts": uniques,
    }


def describe(answer: Answer) -> dict[str, Any]:
    """The query as it ran: relative date ranges resolved, defaults filled in."""
    query = answer.query
    out: dict[str, Any] = {
        "site_id": query.site_id,
        "metrics": list(query.metrics),
        "date_range": answer.statement.period.as_json(),
        "dimensions": list(query.dimensions),
        "filters": [_condition_json(c) for c in query.filters],
        "order_by": [list(item) for item in query.order_by],
        "pagination": {"limit": query.limit, "offset": query.offset},
    }
    include: dict[str, Any] = {}
    if answer.comparison_period is not None:
        include["comparisons"] = {
            "mode": query.include.comparison,
            "date_range": answer.comparison_period.as_json(),
        }
    if answer.total_rows is not None:
        include["total_rows"] = answer.total_rows
    if answer.time_labels is not None:
        include["time_labels"] = answer.time_labels
    if include:
        out["include"] = include
    return out


def _condition_json(condition: Condition) -> list[Any]:
    if isinstance(condition, Filter):
        base: list[Any] = [condition.operator, condition.dimension, list(condition.values)]
        if not condition.case_sensitive:
            base.append({"case_sensitive": False})
        return base
    if condition.operator == "not":
        return ["not", _condition_json(condition.children[0])]
    return [condition.operator, [_condition_json(c) for c in condition.children]]


async def csv_lines(answer: Answer) -> AsyncIterator[bytes]:
    """The answer as CSV: dimension columns, metric columns, then comparison columns."""
    query = answer.query
    header = [*query.dimensions, *query.metrics]
    if answer.comparison_period is not None:
        header += [f"{m} (comparison)" for m in query.metrics]
    yield _csv_row(header)
    for row in answer.rows:
        cells: list[Any] = [*row["dimensions"], *row["metrics"]]
        if "comparison" in row:
            cells += row["comparison"]["metrics"]
        yield _csv_row(cells)


def _csv_row(cells: list[Any]) -> bytes:
    out = []
    for cell in cells:
        text = csvcells.text(cell)
        if any(c in text for c in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return (",".join(out) + "\r\n").encode("utf-8")


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 2)
