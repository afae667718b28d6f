"""Filter trees as SQL conditions over one hit row, values bound as parameters."""

from __future__ import annotations

from collections.abc import Callable

from analytics.stats.parser import GOAL_DIMENSION, Condition, Filter, Logical
from analytics.stats.sql import Parameters

Column = Callable[[str], str]


def render(condition: Condition, column: Column, goals_sql: str, parameters: Parameters) -> str:
    if isinstance(condition, Logical):
        parts = [render(child, column, goals_sql, parameters) for child in condition.children]
        if condition.operator == "not":
            return f"NOT ({parts[0]})"
        return "(" + f" {condition.operator.upper()} ".join(f"({p})" for p in parts) + ")"
    if condition.dimension == GOAL_DIMENSION:
        return _goal(condition, goals_sql, parameters)
    return _leaf(condition, f"toString({column(condition.dimension)})", parameters)


def _leaf(leaf: Filter, value: str, parameters: Parameters) -> str:
    values = list(leaf.values)
    if leaf.operator in ("is", "is_not"):
        placeholder = parameters.bind(values, "Array(String)", "f")
        return f"{value} {'NOT ' if leaf.operator == 'is_not' else ''}IN {placeholder}"
    if leaf.operator == "contains":
        placeholder = parameters.bind(values, "Array(String)", "f")
        search = "position" if leaf.case_sensitive else "positionCaseInsensitiveUTF8"
        return f"arrayExists(needle -> {search}({value}, needle) > 0, {placeholder})"
    # matches: re2, anchored only where the pattern says so
    flags = "" if leaf.case_sensitive else "(?i)"
    placeholder = parameters.bind([flags + v for v in values], "Array(String)", "f")
    return f"arrayExists(pattern -> match({value}, pattern), {placeholder})"


def _goal(leaf: Filter, goals_sql: str, parameters: Parameters) -> str:
    inner = _leaf(
        Filter("is" if leaf.operator == "is_not" else leaf.operator, "", leaf.values, leaf.case_sensitive),
        "g",
        parameters,
    )
    exists = f"arrayExists(g -> {inner}, {goals_sql})"
    return f"NOT {exists}" if leaf.operator == "is_not" else exists
