"""SQL for ecommerce queries: the body of a statement the builder finishes (order, limit).

Three plans, chosen by the query:

* orders: one row per order at its first sighting, then grouped by the query's dimensions;
* products (a product dimension): the items of those orders, of product views and of cart
  updates, unrolled, then grouped;
* goal revenue (``event:goal``): revenue sent with the hits that complete each goal.

An order counts once, at the earliest time ``ecommerce_orders`` saw its id (before or in
the period: one first seen earlier is not counted again).  ``LIMIT 1 BY order_id`` keeps one
row where a replay stored the very same hit twice.  The conversion rate of orders is
finished by the runner, which divides ``converted_visits`` by the visits of the group.
"""

from __future__ import annotations

from collections.abc import Callable

from analytics.schema import EVENTS, ORDERS
from analytics.stats import conditions
from analytics.stats.ecommerce.names import PRODUCT_DIMENSIONS
from analytics.stats.parser import GOAL_DIMENSION, Query
from analytics.stats.sql import Parameters

Render = Callable[[str], str]  # a dimension -> its SQL over one row

CONVERTED_VISITS = "converted_visits"  # the runner's numerator of ecommerce_conversion_rate

_ORDER_METRICS = {
    "revenue": "round(sum(revenue), 2)",
    "orders": "count()",
    "average_order_value": "if(count() = 0, 0, round(sum(revenue) / count(), 2))",
    CONVERTED_VISITS: "uniqExact(visit_id)",
}
_PRODUCT_METRICS = {
    "revenue": "round(sumIf(item_price * item_quantity, part = 'order'), 2)",
    "orders": "uniqExactIf(order_id, part = 'order')",
    "quantity": "sumIf(item_quantity, part = 'order')",
    "average_order_value": (
        "if(uniqExactIf(order_id, part = 'order') = 0, 0,"
        " round(sumIf(item_price * item_quantity, part = 'order')"
        " / uniqExactIf(order_id, part = 'order'), 2))"
    ),
    "product_views": "countIf(part = 'view')",
    "cart_adds": "uniqExactIf(visit_id, part = 'cart')",
    "ecommerce_conversion_rate": (
        "if(uniqExactIf(visit_id, part = 'view') = 0, 0,"
        " round(100 * uniqExactIf(visit_id, part = 'order') / uniqExactIf(visit_id, part = 'view'), 2))"
    ),
}
# Which item rows each product metric reads.
_PARTS = {
    "revenue": ("order",),
    "orders": ("order",),
    "quantity": ("order",),
    "average_order_value": ("order",),
    "product_views": ("view",),
    "cart_adds": ("cart",),
    "ecommerce_conversion_rate": ("order", "view"),
}


def sql_metrics(query: Query) -> tuple[str, ...]:
    """The metric columns the statement selects, in the query's order."""
    if any(d in PRODUCT_DIMENSIONS for d in query.dimensions) or GOAL_DIMENSION in query.dimensions:
        return query.metrics
    selected = [m for m in query.metrics if m != "ecommerce_conversion_rate"]
    if "ecommerce_conversion_rate" in query.metrics:
        selected.append(CONVERTED_VISITS)
    return tuple(selected)


def body(
    query: Query,
    dimensions: tuple[str, ...],
    range_where: list[str],
    dimension_sql: Render,
    column: Render,
    goals_sql: str,
    parameters: Parameters,
    goal_revenue: str = "revenue",
) -> str:
    """SELECT ... GROUP BY for an ecommerce query; ``range_where`` bounds site and period.

    ``goal_revenue`` is a conversion's revenue by ``event:goal``: the hit's own, or else its
    goal's default (``goals.revenue``).
    """

    def item_column(dimension: str) -> str:
        return PRODUCT_DIMENSIONS.get(dimension) or column(dimension)

    filters = [conditions.render(c, item_column, goals_sql, parameters) for c in query.filters]
    names = [f"d{i}" for i in range(len(dimensions))]
    group = f"GROUP BY {', '.join(names)}\n" if names else ""
    if any(d in PRODUCT_DIMENSIONS for d in dimensions):
        return _products(query, dimensions, range_where, dimension_sql, filters, parameters, group)
    selected = [f"{dimension_sql(d)} AS d{i}" for i, d in enumerate(dimensions)]
    if GOAL_DIMENSION in dimensions:
        return (
            f"SELECT {', '.join([*selected, f'round(sum({goal_revenue}), 2) AS metric_revenue'])}\n"
            f"FROM {EVENTS}\nWHERE {' AND '.join([*range_where, *filters])}\n{group}"
        )
    orders = _first_sightings(parameters)
    metrics = [f"{_ORDER_METRICS[m]} AS metric_{m}" for m in sql_metrics(query)]
    return (
        f"SELECT {', '.join([*names, *metrics])}\nFROM (\n"
        f"    SELECT {', '.join([*selected, 'order_id', 'revenue', 'visit_id'])}\n"
        f"    FROM {EVENTS}\n    WHERE {' AND '.join([*range_where, orders, *filters])}\n"
        "    LIMIT 1 BY order_id\n) AS orders\n" + group
    )


def _first_sightings(parameters: Parameters) -> str:
    """Orders of the period at their first sighting: none seen before it, no later re-send."""
    where = "site_id = {site:UInt32}"
    if "end" in parameters:  # a bounded period; the builder bound its start and end
        where += " AND timestamp < {end:DateTime64(3, 'UTC')}"
    return (
        "kind = 'order' AND (order_id, timestamp) IN (\n"
        f"        SELECT order_id, min(timestamp) FROM {ORDERS} WHERE {where} GROUP BY order_id)"
    )


def _products(
    query: Query,
    dimensions: tuple[str, ...],
    range_where: list[str],
    dimension_sql: Render,
    filters: list[str],
    parameters: Parameters,
    group: str,
) -> str:
    parts = sorted({part for m in query.metrics for part in _PARTS[m]})
    by_category = "event:product_category" in dimensions or any(
        leaf.dimension == "event:product_category" for leaf in query.leaves()
    )
    named = [d for d in dimensions if d in ("event:product_sku", "event:product_name")]
    item_where = [f"{PRODUCT_DIMENSIONS[d]} != ''" for d in named]
    if by_category:
        item_where.append("item_category != ''")
    selected = [
        f"{PRODUCT_DIMENSIONS[d] if d in PRODUCT_DIMENSIONS else dimension_sql(d)} AS d{i}"
        for i, d in enumerate(dimensions)
    ]
    unroll = (
        "ARRAY JOIN item_skus AS item_sku, item_names AS item_name, item_categories AS item_category_list,"
        " item_prices AS item_price, item_quantities AS item_quantity"
        + ("\n    ARRAY JOIN item_category_list AS item_category" if by_category else "")
    )
    sources = {
        "order": (
            f"(SELECT * FROM {EVENTS} WHERE {' AND '.join([*range_where, _first_sightings(parameters)])}"
            " LIMIT 1 BY order_id)",
            [],
        ),
        "view": (EVENTS, [*range_where, "kind = 'pageview'"]),
        "cart": (EVENTS, [*range_where, "kind = 'cart'"]),
    }
    branches = []
    for part in parts:
        source, where = sources[part]
        branches.append(
            f"    SELECT '{part}' AS part, order_id, visit_id, item_price, item_quantity,"
            f" {', '.join(selected)}\n"
            f"    FROM {source} AS hits\n    {unroll}\n"
            f"    WHERE {' AND '.join([*where, *filters, *item_where]) or '1'}"
        )
    names = [f"d{i}" for i in range(len(dimensions))]
    metrics = [f"{_PRODUCT_METRICS[m]} AS metric_{m}" for m in query.metrics]
    return (
        f"SELECT {', '.join([*names, *metrics])}\nFROM (\n"
        + "\n    UNION ALL\n".join(branches)
        + "\n) AS items\n"
        + group
    )
