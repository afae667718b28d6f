"""SQL for a funnel: ClickHouse's ``windowFunnel`` over the raw events, per visitor.

The consent model decides what a "journey" is.  A visitor recognised by a consented
tracker id (``identified = 1``) keeps one id across visits, so with a time window their
steps may span visits.  A cookieless visitor's id is a daily-salted hash that cannot be
linked across days, and is counted within one visit only, whatever the window.  With
``within: visit`` everyone is counted within one visit.

Per journey, ``windowFunnel(window, 'strict_increase')`` gives the furthest step reached
by a chain of hits in step order, each strictly later than the one before (so one hit
never counts as two steps), the last no later than ``window`` after the first.  Hits in
between, repeated steps and steps out of order are allowed; a step reached out of order
counts only once the chain reaches it in order.  A visitor counts at a step when any of
their journeys reached it.  Only hits that match some step are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from analytics.schema import EVENTS
from analytics.stats import goals
from analytics.stats.funnel.parser import Funnel, InvalidFunnel, Step
from analytics.stats.ranges import Period
from analytics.stats.sql import Parameters
from samtycke.settings import Goal

# A visit ends at the site's midnight, so no visit is longer than a day (plus a DST hour).
VISIT_SPAN = timedelta(hours=25)


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: dict[str, Any]
    steps: int


def statement(funnel: Funnel, site_goals: list[Goal], period: Period) -> Statement:
    parameters = Parameters({"site": funnel.site_id})
    conditions = [_condition(step, index, site_goals, parameters) for index, step in enumerate(funnel.steps)]
    where = ["site_id = {site:UInt32}"]
    if period.start is not None and period.end is not None:
        parameters["start"], parameters["end"] = period.start, period.end
        where += ["timestamp >= {start:DateTime64(3, 'UTC')}", "timestamp < {end:DateTime64(3, 'UTC')}"]
    where.append("(" + " OR ".join(conditions) + ")")
    window = funnel.window or VISIT_SPAN
    parameters["window"] = int(window.total_seconds() * 1000)
    # Recognised visitors' journeys span visits when a window is asked for; others' do not.
    journey = "visit_id" if funnel.window is None else "if(identified = 1, 0, visit_id)"
    timestamps = "toUInt64(toUnixTimestamp64Milli(timestamp))"  # windowFunnel takes no DateTime64
    reached = ", ".join(
        f"countIf(level >= {n}), countIf(level >= {n} AND identified = 1)"
        for n in range(1, len(conditions) + 1)
    )
    sql = (
        f"SELECT {reached}\nFROM (\n"
        "    SELECT visitor_id, identified, max(journey_level) AS level\n"
        "    FROM (\n"
        f"        SELECT visitor_id, identified, {journey} AS journey,\n"
        "            windowFunnel({window:UInt64}, 'strict_increase')(\n"
        f"                {timestamps}, {', '.join(conditions)}) AS journey_level\n"
        f"        FROM {EVENTS} WHERE {' AND '.join(where)}\n"
        "        GROUP BY visitor_id, identified, journey\n"
        "    )\n"
        "    GROUP BY visitor_id, identified\n"
        ")"
    )
    return Statement(sql, dict(parameters), len(conditions))


def _condition(step: Step, index: int, site_goals: list[Goal], parameters: Parameters) -> str:
    if step.kind == "page":
        return goals.page_condition(step.page, parameters)
    if step.kind == "event":
        return goals.event_condition(step.category, step.action, step.name, parameters)
    goal = next((g for g in site_goals if g.name == step.goal), None)
    if goal is None:
        raise InvalidFunnel(f"the site has no goal named {step.goal!r:.60}", field=f"steps[{index}].goal")
    return goals.condition(goal, parameters)
