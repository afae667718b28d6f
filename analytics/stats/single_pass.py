"""Raw-event statements that aggregate once where the general plan aggregates twice.

The general plan (``builder``) groups hits by the query's dimensions *and visit*, then by
dimensions, and joins each visit's facts (actions, duration, visit-scoped values) computed
in a separate pass.  Two common shapes need neither the second level nor the join, and
give the same numbers:

* **hits**: a report over hit dimensions (titles, outlinks, events, languages, action-scoped
  custom dimensions) asking only counts of hits, visitors and visits.  Grouping a
  dimension's hits by visit and then counting the groups is ``uniqExact(visit_id)``;
  summing their pageviews is counting pageview hits.  The per-page metrics (time on page,
  entry, exit and bounce rate) are such counts too, over hits placed in their visits.
* **visits**: a report whose every dimension is a visit fact (a visit-scoped custom
  dimension, the exit page, the referrer) under filters on hits only.  Each visit then has
  one value per dimension, so one pass grouped by visit computes its facts and its counts
  together (over the filtered hits, as the general plan would), and a visit counts when
  any of its hits passes the filters.
"""

from __future__ import annotations

from collections.abc import Sequence

HIT_METRICS = {
    "visitors": "uniqExact(visitor_id)",
    "visits": "uniqExact(visit_id)",
    "pageviews": "countIf(kind = 'pageview')",
    "events": "countIf(kind != 'ping')",
    "views_per_visit": (
        "if(uniqExact(visit_id) = 0, 0, round(countIf(kind = 'pageview') / uniqExact(visit_id), 2))"
    ),
    "searches_without_results": "countIf(kind = 'search' AND search_count = 0)",
}


def _share_of_visits(condition: str) -> str:
    visits = "uniqExact(visit_id)"
    return f"if({visits} = 0, 0, round(100 * uniqExactIf(visit_id, {condition}) / {visits}))"


# Over placed hits (``builder._PLACED_HITS``: each hit with its pageview time, whether it is its
# visit's exit, and its visit's actions), a group's visit entered, exited or bounced there when
# one of the group's hits says so.
PLACED_HIT_METRICS = HIT_METRICS | {
    "time_on_page": (
        "if(countIf(page_ms > 0) = 0, 0, round(sumIf(page_ms, page_ms > 0) / countIf(page_ms > 0) / 1000))"
    ),
    "entry_rate": _share_of_visits("is_entry = 1"),
    "exit_rate": _share_of_visits("is_exit = 1"),
    "bounce_rate": _share_of_visits("visit_actions = 1"),
}

# Per visit, over the hits that pass the filters (``{matched}``), with the names the general
# plan's metrics read (``builder._RAW_METRICS``).
_PER_VISIT = (
    "countIf(kind = 'pageview' AND {matched}) AS group_pageviews",
    "countIf(kind != 'ping' AND {matched}) AS group_events",
    "countIf(kind = 'search' AND search_count = 0 AND {matched}) AS group_empty_searches",
    "countIf({matched}) AS group_hits",
    "countIf(kind != 'ping') AS visit_actions",
    "dateDiff('millisecond', min(timestamp), max(timestamp)) AS visit_duration_ms",
)
VISIT_METRICS = frozenset(
    {"visitors", "visits", "pageviews", "events", "views_per_visit", "bounce_rate", "visit_duration"}
    | {"searches_without_results"}
)


def hits(
    selected: Sequence[str], names: Sequence[str], metrics: Sequence[str], where: Sequence[str], source: str
) -> str:
    """Hits grouped straight by the dimensions (``selected`` and ``metrics`` are ``<sql> AS <name>``)."""
    return f"SELECT {', '.join([*selected, *metrics])}\nFROM {source} WHERE {' AND '.join(where)}\n" + (
        f"GROUP BY {', '.join(names)}\n" if names else ""
    )


def visits(
    selected: Sequence[str],
    names: Sequence[str],
    metrics: Sequence[str],
    facts: dict[str, str],
    range_where: Sequence[str],
    hit_filters: Sequence[str],
    visit_filters: Sequence[str],
    table: str,
    aggregates: dict[str, str],
) -> str:
    """Visits grouped by their facts: ``selected`` read the facts' names, ``visit_filters`` too."""
    matched = " AND ".join(f"({f})" for f in hit_filters) or "1"
    per_visit = [f"{aggregate} AS {name}" for name, aggregate in facts.items()]
    per_visit += [column.format(matched=matched) for column in _PER_VISIT]
    columns = [*selected, *(f"{aggregates[m]} AS metric_{m}" for m in metrics)]
    return (
        f"SELECT {', '.join(columns)}\n"
        "FROM (\n"
        f"    SELECT visit_id, any(visitor_id) AS visitor,\n        {', '.join(per_visit)}\n"
        f"    FROM {table} WHERE {' AND '.join(range_where)}\n"
        "    GROUP BY visit_id\n"
        ") AS visits\n"
        f"WHERE {' AND '.join(['group_hits > 0', *visit_filters])}\n"
        + (f"GROUP BY {', '.join(names)}\n" if names else "")
    )
