"""When a query can read a rollup instead of raw events, and how.

The rollups (``analytics.schema``) are keyed by site, UTC hour and a few columns, so a
query fits one when:

* its period starts and ends on a UTC hour (site days do, in whole-hour time zones);
* every dimension and filter is a time bucket or a key column of that one rollup;
* every metric is additive there (``stats_pages`` holds pageview counts per path, and
  visit counts, bounces and time per *entry* path, so each use allows only its own).

Visits, bounces and durations are sums of the visit facts the collector writes, so they
are exact; unique visitors come from ``uniq`` states and are approximate (see
``UNIQ_EXACT_BELOW``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analytics.schema import ROLLUP_COUNTRIES, ROLLUP_DEVICES, ROLLUP_HOURLY, ROLLUP_PAGES, ROLLUP_SOURCES
from analytics.stats.parser import Query
from analytics.stats.ranges import Period

# ClickHouse's uniq keeps up to 65,536 hashes before it starts sampling: below that a
# count is exact (bar 32-bit hash collisions); above it the relative error stays within
# about 2 % (three standard errors of the adaptive sample).
UNIQ_EXACT_BELOW = 65_536
UNIQ_ERROR_BOUND = 0.02

TIME_BUCKETS = ("time:hour", "time:day", "time:week", "time:month")

METRICS = {
    "visitors": "uniqMerge(visitors)",
    "visits": "sum(entries)",
    "pageviews": "sum(pageviews)",
    "events": "sum(events)",
    "views_per_visit": "if(sum(entries) = 0, 0, round(sum(pageviews) / sum(entries), 2))",
    "bounce_rate": "if(sum(entries) = 0, 0, round(100 * sum(bounces) / sum(entries)))",
    "visit_duration": "if(sum(entries) = 0, 0, round(sum(duration_ms) / sum(entries) / 1000))",
}
_VISIT_METRICS = frozenset(METRICS)


@dataclass(frozen=True)
class Rollup:
    table: str
    columns: dict[str, str]  # dimension -> rollup column
    metrics: frozenset[str]
    having: str = ""


ROLLUPS = (
    Rollup(ROLLUP_HOURLY, {}, _VISIT_METRICS),
    Rollup(
        ROLLUP_SOURCES,
        {
            "visit:channel": "channel",
            "visit:source": "source",
            "visit:utm_medium": "utm_medium",
            "visit:utm_source": "utm_source",
            "visit:utm_campaign": "utm_campaign",
        },
        _VISIT_METRICS,
    ),
    Rollup(
        ROLLUP_COUNTRIES,
        {"visit:country": "country", "visit:region": "region", "visit:city": "city"},
        _VISIT_METRICS,
    ),
    Rollup(
        ROLLUP_DEVICES,
        {"visit:device": "device", "visit:browser": "browser", "visit:os": "os"},
        _VISIT_METRICS,
    ),
    Rollup(ROLLUP_PAGES, {"event:page": "pathname"}, frozenset({"visitors", "pageviews"})),
    Rollup(
        ROLLUP_PAGES,
        {"visit:entry_page": "pathname"},
        frozenset({"visits", "bounce_rate", "visit_duration"}),
        having="sum(entries) > 0",
    ),
)


@dataclass(frozen=True)
class Plan:
    table: str
    columns: dict[str, str]
    having: str

    def column(self, dimension: str) -> str:
        return self.columns[dimension]


def plan(query: Query, dimensions: Sequence[str], metrics: Sequence[str], period: Period) -> Plan | None:
    if not period.on_the_hour:
        return None
    keyed = {d for d in dimensions if d not in TIME_BUCKETS} | {leaf.dimension for leaf in query.leaves()}
    for rollup in ROLLUPS:
        if keyed <= set(rollup.columns) and set(metrics) <= rollup.metrics:
            if rollup.having and not keyed:
                continue  # the entry-page view of stats_pages needs its own dimension
            return Plan(rollup.table, rollup.columns, rollup.having)
    return None
