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
        tests = [f"(goal_id != 0 AND goal_id = {parameters.bind(goal.id, 'UInt32', 'g')})"]
        if goal.page:
            page = parameters.bind(like_pattern(goal.page), "String", "g")
            tests.append(f"(kind = 'pageview' AND pathname LIKE {page})")
        if goal.event_category:
            event = [f"event_category = {parameters.bind(goal.event_category, 'String', 'g')}"]
            if goal.event_action:
                event.append(f"event_action = {parameters.bind(goal.event_action, 'String', 'g')}")
            if goal.event_name:
                event.append(f"event_name = {parameters.bind(goal.event_name, 'String', 'g')}")
            tests.append("(kind = 'event' AND " + " AND ".join(event) + ")")
        parts.append(f"if({' OR '.join(tests)}, [{name}], CAST([], 'Array(String)'))")
    return parts[0] if len(parts) == 1 else f"arrayConcat({', '.join(parts)})"


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
