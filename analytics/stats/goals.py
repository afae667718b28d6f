"""Goals as SQL: which of a site's goals a hit completes, as an array of goal names.

A goal converts on a Matomo goal hit with its id (``idgoal``), on a pageview whose path
matches its page pattern (``*`` is a wildcard), or on an event with its category (and
action and name, when set).  Goal settings travel as bound array parameters.
"""

from __future__ import annotations

import re

from analytics.stats.sql import Parameters
from samtycke.settings import Goal


def like_pattern(page: str) -> str:
    """``/tack*`` -> ``/tack%``; LIKE's own wildcards in the path are escaped."""
    escaped = page.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def completed(goals: list[Goal], parameters: Parameters) -> str:
    """SQL for Array(String): the names of the goals the current hit completes.

    One plain condition per configured goal (no lambdas over parameter arrays, which cost
    several times more per row); the goals' values are bound, only their number shapes the SQL.
    """
    if not goals:
        return "CAST([], 'Array(String)')"
    parts = []
    for goal in goals:
        name = parameters.bind(goal.name, "String", "g")
        parts.append(f"if({condition(goal, parameters)}, [{name}], CAST([], 'Array(String)'))")
    return parts[0] if len(parts) == 1 else f"arrayConcat({', '.join(parts)})"


def condition(goal: Goal, parameters: Parameters) -> str:
    """SQL for UInt8: whether the current hit completes ``goal``."""
    tests = [f"(goal_id != 0 AND goal_id = {parameters.bind(goal.id, 'UInt32', 'g')})"]
    if goal.page:
        tests.append(page_condition(goal.page, parameters))
    if goal.event_category:
        tests.append(event_condition(goal.event_category, goal.event_action, goal.event_name, parameters))
    return f"({' OR '.join(tests)})"


def page_condition(pattern: str, parameters: Parameters) -> str:
    """SQL for UInt8: a pageview whose path matches ``pattern`` (``*`` is a wildcard)."""
    return f"(kind = 'pageview' AND pathname LIKE {parameters.bind(like_pattern(pattern), 'String', 'g')})"


def event_condition(category: str, action: str, name: str, parameters: Parameters) -> str:
    """SQL for UInt8: an event hit with these of category, action and name as are not empty."""
    tests = ["kind = 'event'"]
    for column, value in (("event_category", category), ("event_action", action), ("event_name", name)):
        if value:
            tests.append(f"{column} = {parameters.bind(value, 'String', 'g')}")
    return "(" + " AND ".join(tests) + ")"


def may_complete(goals: list[Goal], parameters: Parameters) -> str:
    """A cheap first test that skips hits which cannot complete any goal.

    Page patterns become one anchored re2 alternation: a single ``match`` per pageview
    costs about half of testing each LIKE pattern in a lambda.
    """
    patterns = [re.escape(g.page).replace("\\*", ".*") for g in goals if g.page]
    if not patterns:
        return "(goal_id != 0 OR kind = 'event')"
    regex = parameters.bind("^(?:" + "|".join(patterns) + ")$", "String", "g")
    return f"(goal_id != 0 OR kind = 'event' OR (kind = 'pageview' AND match(pathname, {regex})))"


def revenue(goals: list[Goal], goal_name: str, parameters: Parameters) -> str:
    """SQL for Float64: a conversion's revenue, the hit's own or else its goal's default.

    ``goal_name`` is the SQL of the goal the row counts for (the ``event:goal`` dimension).
    """
    defaults = [goal for goal in goals if goal.revenue > 0]
    if not defaults:
        return "revenue"
    names = parameters.bind([goal.name for goal in defaults], "Array(String)", "g")
    amounts = parameters.bind([float(goal.revenue) for goal in defaults], "Array(Float64)", "g")
    return f"if(revenue != 0, revenue, transform({goal_name}, {names}, {amounts}, toFloat64(0)))"
