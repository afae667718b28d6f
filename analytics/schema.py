"""The analytics tables: raw events, rollups fed by materialized views, and salts.

``events`` holds one row per tracked hit and expires per site (``retention_months`` is a
column so that each row carries its site's retention into the TTL).  Visit facts are
stored so that rollups stay additive: ``is_entry`` marks a visit's first hit,
``bounce_delta`` is +1 on a visit's first action and -1 on its second (their sum is the
number of one-action visits), and ``duration_ms`` is the time since the visit's previous
hit (its sum is the visit's duration).  The same numbers follow from plain SQL over
``events``: bounce = a visit with one action, duration = max - min timestamp per visit.

There is no IP column holding an address unless ``[analytics] store_masked_ip`` is on:
``masked_ip`` exists but stays empty by default, and only ever holds the masked form.

Rollups (``stats_*``) are AggregatingMergeTree tables keyed by hour (UTC) and have no
TTL, so counts outlive the raw events.

Ecommerce (``analytics.0005_ecommerce``) adds columns to ``events``: an order's id and
amounts, and item arrays (``item_*``, one element per item) that hold an order's items, a
cart update's whole cart, or the one product a pageview shows.  An order's grand total is
its ``revenue``.  Trackers re-send orders (a reloaded thank-you page), so an order counts
once, at its first sighting: ``ecommerce_orders`` records each sighting's time per order id
(and nothing about the visitor), and reports keep only the ``events`` row at the earliest
one.  Rollups' ``revenue`` therefore over-counts re-sent orders; reports do not read it.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.managed.tables import MIGRATION as MANAGED_MIGRATION
from samtycke.journal import receipts
from samtycke.storage import Layout, MaterializedView, Migration, Table

EVENTS = "events"
SALTS = "analytics_salts"
ROLLUP_HOURLY = "stats_hourly"
ROLLUP_PAGES = "stats_pages"
ROLLUP_SOURCES = "stats_sources"
ROLLUP_COUNTRIES = "stats_countries"
ROLLUP_DEVICES = "stats_devices"
ORDERS = "ecommerce_orders"

LC = "LowCardinality(String)"

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("site_id", "UInt32"),
    ("timestamp", "DateTime64(3, 'UTC')"),
    ("kind", LC),  # pageview, event, goal, search, outlink, download or ping
    ("visitor_id", "UInt64"),  # keyed hash (cookieless) or hash of the consented id
    ("identified", "UInt8"),  # 1: visitor_id comes from a consented tracker id
    ("visit_id", "UInt64"),
    ("is_entry", "UInt8"),
    ("bounce_delta", "Int8"),
    ("duration_ms", "UInt32"),
    ("entry_page", "String CODEC(ZSTD(1))"),
    ("hostname", LC),
    ("pathname", "String CODEC(ZSTD(1))"),
    ("title", "String CODEC(ZSTD(1))"),
    ("pv_id", "String CODEC(ZSTD(1))"),
    ("referrer", "String CODEC(ZSTD(1))"),
    ("source", LC),
    ("channel", LC),
    ("utm_medium", LC),
    ("utm_source", LC),
    ("utm_campaign", LC),
    ("utm_term", "String CODEC(ZSTD(1))"),
    ("utm_content", "String CODEC(ZSTD(1))"),
    ("country", LC),
    ("region", LC),
    ("city", LC),
    ("browser", LC),
    ("browser_version", LC),
    ("os", LC),
    ("os_version", LC),
    ("device", LC),
    ("resolution", LC),
    ("language", LC),
    ("event_category", LC),
    ("event_action", LC),
    ("event_name", "String CODEC(ZSTD(1))"),
    ("event_value", "Nullable(Float64)"),
    ("goal_id", "UInt32"),
    ("revenue", "Float64"),
    ("search_keyword", "String CODEC(ZSTD(1))"),
    ("search_category", LC),
    ("search_count", "Nullable(UInt32)"),
    ("link", "String CODEC(ZSTD(1))"),
    ("dimensions", "Map(String, String)"),
    ("masked_ip", "String DEFAULT ''"),
    ("retention_months", "UInt16 DEFAULT 13"),
)

EVENTS_TABLE = Table(
    name=EVENTS,
    columns=EVENT_COLUMNS,
    engine="MergeTree",
    partition_by="toYYYYMM(timestamp)",
    order_by="(site_id, toDate(timestamp), visitor_id, timestamp)",
    ttl="toDateTime(timestamp) + toIntervalMonth(retention_months)",
    sharding_key="visitor_id",
)

SALTS_TABLE = Table(
    name=SALTS,
    columns=(
        ("site_id", "UInt32"),
        ("day", "Date"),  # the site-local date the salt is for
        ("salt", "String"),  # hex of 32 random bytes
        ("created_at", "DateTime64(3, 'UTC')"),
    ),
    engine="MergeTree",
    order_by="(site_id, day, created_at)",
    ttl="toDateTime(created_at) + INTERVAL 48 HOUR",
    journalled=False,
    sharding_key="site_id",
)

# Every rollup holds the same measures; only the key differs.
_MEASURES: tuple[tuple[str, str], ...] = (
    ("visitors", "AggregateFunction(uniq, UInt64)"),
    ("visits", "AggregateFunction(uniq, UInt64)"),
    ("pageviews", "SimpleAggregateFunction(sum, UInt64)"),
    ("entries", "SimpleAggregateFunction(sum, UInt64)"),
    ("bounces", "SimpleAggregateFunction(sum, Int64)"),
    ("duration_ms", "SimpleAggregateFunction(sum, UInt64)"),
    ("events", "SimpleAggregateFunction(sum, UInt64)"),
    ("goals", "SimpleAggregateFunction(sum, UInt64)"),
    ("revenue", "SimpleAggregateFunction(sum, Float64)"),
)

_MEASURE_SELECT = """
    uniqState(visitor_id) AS visitors,
    uniqState(visit_id) AS visits,
    toUInt64(countIf(kind = 'pageview')) AS pageviews,
    toUInt64(sum(is_entry)) AS entries,
    toInt64(sum(bounce_delta)) AS bounces,
    toUInt64(sum(duration_ms)) AS duration_ms,
    toUInt64(countIf(kind != 'ping')) AS events,
    toUInt64(countIf(kind = 'goal')) AS goals,
    sum(revenue) AS revenue"""


def _rollup(name: str, keys: Sequence[tuple[str, str]], key_select: str) -> tuple[Table, MaterializedView]:
    key_names = ", ".join(k for k, _ in keys)
    table = Table(
        name=name,
        columns=(("site_id", "UInt32"), ("hour", "DateTime('UTC')"), *keys, *_MEASURES),
        engine="AggregatingMergeTree",
        partition_by="toYYYYMM(hour)",
        order_by=f"(site_id, hour{', ' + key_names if key_names else ''})",
        sharding_key="site_id",
    )
    group = f"site_id, hour{', ' + key_names if key_names else ''}"
    view = MaterializedView(
        name=f"{name}_mv",
        to=name,
        source=EVENTS,
        select=(
            f"SELECT site_id, toStartOfHour(timestamp) AS hour{', ' + key_select if key_select else ''},"
            f"{_MEASURE_SELECT}\nFROM {{source}}\nGROUP BY {group}"
        ),
    )
    return table, view


HOURLY, HOURLY_MV = _rollup(ROLLUP_HOURLY, (), "")
PAGES, _ = _rollup(ROLLUP_PAGES, (("pathname", "String"),), "pathname")
SOURCES, SOURCES_MV = _rollup(
    ROLLUP_SOURCES,
    (("channel", LC), ("source", LC), ("utm_medium", LC), ("utm_source", LC), ("utm_campaign", LC)),
    "channel, source, utm_medium, utm_source, utm_campaign",
)
COUNTRIES, COUNTRIES_MV = _rollup(
    ROLLUP_COUNTRIES, (("country", LC), ("region", LC), ("city", LC)), "country, region, city"
)
DEVICES, DEVICES_MV = _rollup(
    ROLLUP_DEVICES, (("device", LC), ("browser", LC), ("os", LC)), "device, browser, os"
)

# Per page, entries, bounces and time are the entry page's: a second MV into the same
# rollup adds them under ``entry_page`` (with no pageviews), so both views stay additive.
PAGES_ENTRY_MV = MaterializedView(
    name=f"{ROLLUP_PAGES}_entry_mv",
    to=ROLLUP_PAGES,
    source=EVENTS,
    select=(
        "SELECT site_id, toStartOfHour(timestamp) AS hour, entry_page AS pathname,\n"
        "    uniqStateIf(visitor_id, 0) AS visitors, uniqStateIf(visit_id, 0) AS visits,\n"
        "    toUInt64(0) AS pageviews, toUInt64(sum(is_entry)) AS entries,\n"
        "    toInt64(sum(bounce_delta)) AS bounces, toUInt64(sum(duration_ms)) AS duration_ms,\n"
        "    toUInt64(0) AS events, toUInt64(0) AS goals, toFloat64(0) AS revenue\n"
        "FROM {source}\nWHERE entry_page != ''\nGROUP BY site_id, hour, pathname"
    ),
)

ECOMMERCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("order_id", "String CODEC(ZSTD(1))"),  # ec_id; "" unless kind = 'order'
    ("ec_subtotal", "Float64"),
    ("ec_tax", "Float64"),
    ("ec_shipping", "Float64"),
    ("ec_discount", "Float64"),
    ("item_skus", "Array(String)"),
    ("item_names", "Array(String)"),
    ("item_categories", "Array(Array(String))"),  # up to five per item
    ("item_prices", "Array(Float64)"),
    ("item_quantities", "Array(UInt32)"),
)


def _add_ecommerce_columns(layout: Layout) -> list[str]:
    """``events`` gains the ecommerce columns (the local table, and in a cluster its Distributed one)."""
    added = ", ".join(f"ADD COLUMN IF NOT EXISTS `{name}` {kind}" for name, kind in ECOMMERCE_COLUMNS)
    tables = [layout.local(EVENTS), EVENTS] if layout.cluster else [EVENTS]
    return [f"ALTER TABLE `{table}`{layout.on_cluster} {added}" for table in tables]


ORDERS_TABLE = Table(
    name=ORDERS,
    columns=(
        ("site_id", "UInt32"),
        ("order_id", "String"),
        ("timestamp", "DateTime64(3, 'UTC')"),  # when this sighting of the order was tracked
        ("retention_months", "UInt16"),
    ),
    engine="MergeTree",
    order_by="(site_id, order_id, timestamp)",
    ttl="toDateTime(timestamp) + toIntervalMonth(retention_months)",
    journalled=False,  # fed by the view below, from journalled inserts into events
    sharding_key="cityHash64(order_id)",
)
ORDERS_MV = MaterializedView(
    name=f"{ORDERS}_mv",
    to=ORDERS,
    source=EVENTS,
    select=(
        "SELECT site_id, order_id, timestamp, retention_months\n"
        "FROM {source}\nWHERE kind = 'order' AND order_id != ''"
    ),
)


MIGRATIONS = [
    Migration(
        id="analytics.0001_events",
        description="Raw tracking events with per-row retention TTL",
        steps=(EVENTS_TABLE,),
    ),
    Migration(
        id="analytics.0002_salts",
        description="Daily visitor-hash salts shared by all instances",
        steps=(SALTS_TABLE,),
    ),
    Migration(
        id="analytics.0003_rollups",
        description="Hourly rollups per site, page, source, country and device",
        steps=(
            HOURLY,
            HOURLY_MV,
            PAGES,
            MaterializedView(
                name=f"{ROLLUP_PAGES}_mv",
                to=ROLLUP_PAGES,
                source=EVENTS,
                select=(
                    "SELECT site_id, toStartOfHour(timestamp) AS hour, pathname,\n"
                    "    uniqState(visitor_id) AS visitors, uniqState(visit_id) AS visits,\n"
                    "    toUInt64(countIf(kind = 'pageview')) AS pageviews, toUInt64(0) AS entries,\n"
                    "    toInt64(0) AS bounces, toUInt64(0) AS duration_ms,\n"
                    "    toUInt64(countIf(kind != 'ping')) AS events,\n"
                    "    toUInt64(countIf(kind = 'goal')) AS goals,\n"
                    "    sum(revenue) AS revenue\n"
                    "FROM {source}\nWHERE pathname != ''\nGROUP BY site_id, hour, pathname"
                ),
            ),
            PAGES_ENTRY_MV,
            SOURCES,
            SOURCES_MV,
            COUNTRIES,
            COUNTRIES_MV,
            DEVICES,
            DEVICES_MV,
        ),
    ),
    receipts.migration("analytics.0004_shipment_receipts", [EVENTS]),
    Migration(
        id="analytics.0005_ecommerce",
        description="Ecommerce orders, carts and product views on events; order sightings for deduplication",
        steps=(_add_ecommerce_columns, ORDERS_TABLE, ORDERS_MV),
    ),
    MANAGED_MIGRATION,
]
