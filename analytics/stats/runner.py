"""Run a built statement and shape the answer like Plausible's Stats API v2."""

from __future__ import annotations

from typing import Any

from analytics.stats.builder import Statement
from analytics.stats.parser import Query
from samtycke.storage import Storage


async def run(storage: Storage, query: Query, statement: Statement) -> dict[str, Any]:
    rows = await storage.aquery(statement.sql, statement.parameters)
    count = len(query.dimensions)
    results = [
        {"metrics": [_number(value) for value in row[count:]], "dimensions": [str(v) for v in row[:count]]}
        for row in rows
    ]
    return {"results": results, "query": describe(query, statement)}


def describe(query: Query, statement: Statement) -> dict[str, Any]:
    """The query as it ran: relative date ranges resolved, defaults filled in."""
    return {
        "site_id": query.site_id,
        "metrics": list(query.metrics),
        "date_range": statement.resolved.as_json(),
        "dimensions": list(query.dimensions),
        "filters": [[f.operator, f.dimension, list(f.values)] for f in query.filters],
        "order_by": [list(item) for item in query.order_by],
        "pagination": {"limit": query.limit, "offset": query.offset},
    }


def _number(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else round(number, 2)
