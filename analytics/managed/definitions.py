"""Goal and funnel definitions as sent to the API, validated as pure functions.

A goal document:

    {"name": "Newsletter", "page": "/tack*", "event_category": "", "event_action": "",
     "event_name": "", "revenue": 0, "id": 12}

``name`` is required; ``page`` is a path pattern (``*`` as wildcard); an event needs its
category when it names an action or a name; ``revenue`` is counted for a conversion whose hit
sends none; ``id`` (the Matomo goal id trackers send as ``idgoal``) is chosen when left out.
A funnel document is ``{"name", "steps", "within"}``, with ``steps`` and ``within`` exactly
as ``POST /api/v1/stats/funnel`` takes them (validated by its parser).  Anything wrong raises
``InvalidDefinition`` (400) whose ``field`` names the member.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from analytics.stats.funnel import parser as funnel_parser
from samtycke.numbers import is_whole_number
from samtycke.web.errors import BadRequest

MAX_NAME = 100
MAX_TEXT = 500
MAX_REVENUE = 1_000_000_000.0
MAX_GOAL_ID = 2**31 - 1
# A path pattern: starts at the root (or with a wildcard), no spaces or control characters.
_PAGE = re.compile(r"[/*][^\s\x00-\x1f\x7f]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
GOAL_KEYS = frozenset({"id", "name", "page", "event_category", "event_action", "event_name", "revenue"})
FUNNEL_KEYS = frozenset({"name", "steps", "within"})
# Members of a listed goal or funnel that are the API's own: sending a listed item back is fine.
LISTED_KEYS = frozenset({"source", "created_by", "created_at", "updated_by", "updated_at"})


class InvalidDefinition(BadRequest):
    code = "invalid_definition"


@dataclass(frozen=True)
class GoalDefinition:
    name: str
    page: str = ""
    event_category: str = ""
    event_action: str = ""
    event_name: str = ""
    revenue: float = 0.0
    id: int | None = None  # None: the store picks the next free id

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "page": self.page,
            "event_category": self.event_category,
            "event_action": self.event_action,
            "event_name": self.event_name,
            "revenue": self.revenue,
        }


@dataclass(frozen=True)
class FunnelDefinition:
    name: str
    steps: tuple[funnel_parser.Step, ...]
    within: str

    def steps_json(self) -> list[dict[str, Any]]:
        return [step.as_json() for step in self.steps]

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "steps": self.steps_json(), "within": self.within}

    def goal_names(self) -> set[str]:
        return {step.goal for step in self.steps if step.kind == "goal"}


def goal(document: Any) -> GoalDefinition:
    body = _object(document, GOAL_KEYS)
    name = _name(body.get("name"))
    page = _text(body.get("page", ""), "page")
    if page and not _PAGE.fullmatch(page):
        raise InvalidDefinition(
            "page is a path pattern starting with / (or *), without spaces; * is a wildcard", field="page"
        )
    category, action, event_name = (
        _text(body.get(key, ""), key) for key in ("event_category", "event_action", "event_name")
    )
    if (action or event_name) and not category:
        raise InvalidDefinition("an event goal names its event_category", field="event_category")
    return GoalDefinition(
        name=name,
        page=page,
        event_category=category,
        event_action=action,
        event_name=event_name,
        revenue=_revenue(body.get("revenue", 0)),
        id=_goal_id(body.get("id")),
    )


def funnel(document: Any) -> FunnelDefinition:
    body = _object(document, FUNNEL_KEYS)
    name = _name(body.get("name"))
    try:
        steps = funnel_parser.parse_steps(body.get("steps"))
        funnel_parser.parse_within(body.get("within"))
    except funnel_parser.InvalidFunnel as exc:
        raise InvalidDefinition(exc.message, field=exc.field) from exc
    definition = FunnelDefinition(name=name, steps=steps, within=str(body["within"]))
    if _unreadable(json.dumps(definition.steps_json(), ensure_ascii=False)):
        raise InvalidDefinition("steps hold control characters or text that is not UTF-8", field="steps")
    return definition


def stored_steps(text: str) -> tuple[funnel_parser.Step, ...]:
    """Steps as stored (JSON written by ``FunnelDefinition.steps_json``)."""
    return funnel_parser.parse_steps(json.loads(text))


def _object(document: Any, keys: frozenset[str]) -> dict[str, Any]:
    if document is None:
        raise InvalidDefinition("the body is a JSON object", field="body")
    if not isinstance(document, dict):
        raise InvalidDefinition("the body must be a JSON object", field="body")
    unknown = sorted(set(document) - keys - LISTED_KEYS - {"id"})
    if unknown:
        raise InvalidDefinition(f"unknown member {unknown[0]!r:.60}", field=str(unknown[0])[:64])
    return document


def _unreadable(value: str) -> bool:
    """Control characters; lone surrogates never get here (``samtycke.jsontext`` refuses them)."""
    return _CONTROL.search(value) is not None


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME or _unreadable(value):
        raise InvalidDefinition(f"name is a non-empty text of at most {MAX_NAME} characters", field="name")
    return value.strip()


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or _unreadable(value):
        raise InvalidDefinition(f"{field} is a text of at most {MAX_TEXT} characters", field=field)
    return value.strip()


def _revenue(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidDefinition("revenue is a number", field="revenue")
    if not 0 <= value <= MAX_REVENUE:
        raise InvalidDefinition(f"revenue is between 0 and {MAX_REVENUE:.0f}", field="revenue")
    return float(value)


def _goal_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GOAL_ID:
        raise InvalidDefinition(f"id is a whole number from 1 to {MAX_GOAL_ID}", field="id")
    return value


def path_id(raw: str) -> int | None:
    """A goal's or funnel's id from its URL; None when it cannot be one."""
    if not is_whole_number(raw) or len(raw) > 10 or int(raw) > MAX_GOAL_ID:
        return None
    return int(raw) or None
