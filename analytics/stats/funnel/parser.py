"""A funnel request from JSON, validated, as a pure function.

    {"site_id": 1, "date_range": "30d", "within": "visit",
     "steps": [{"page": "/pris*"}, {"event": {"category": "video", "action": "play"}},
               {"goal": "Signed a contract"}]}

A funnel has 2-8 ordered steps; each is exactly one of a page pattern (``*`` is a
wildcard), an event (any non-empty subset of category, action and name) or a goal of the
site, by name.  ``within`` is ``"visit"`` (every step in one visit) or a time window such
as ``"30m"``, ``"24h"`` or ``"7d"`` (at most ``MAX_WINDOW``) from the first step to the
last.  Anything wrong raises ``InvalidFunnel`` (400) whose ``field`` names the member.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from analytics.stats.parser import DateRange, InvalidQuery, parse_date_range, parse_site

MIN_STEPS, MAX_STEPS = 2, 8
MAX_TEXT = 500
MAX_WINDOW = timedelta(days=90)
WITHIN_VISIT = "visit"
EVENT_PARTS = ("category", "action", "name")
STEP_KINDS = ("page", "event", "goal")
_WINDOW = re.compile(r"([1-9]\d{0,5})([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_KNOWN_KEYS = {"site_id", "date_range", "within", "steps"}


class InvalidFunnel(InvalidQuery):
    code = "invalid_funnel"


@dataclass(frozen=True)
class Step:
    kind: str  # one of STEP_KINDS
    page: str = ""  # a path pattern, ``*`` as wildcard
    category: str = ""
    action: str = ""
    name: str = ""
    goal: str = ""  # a goal's name
    label: str = ""  # shown in answers; defaults to a description of the step

    def describe(self) -> str:
        if self.label:
            return self.label
        if self.kind == "page":
            return self.page
        if self.kind == "goal":
            return self.goal
        return " / ".join(part for part in (self.category, self.action, self.name) if part)

    def as_json(self) -> dict[str, Any]:
        if self.kind == "page":
            body: dict[str, Any] = {"page": self.page}
        elif self.kind == "goal":
            body = {"goal": self.goal}
        else:
            parts = {"category": self.category, "action": self.action, "name": self.name}
            body = {"event": {key: value for key, value in parts.items() if value}}
        if self.label:
            body["label"] = self.label
        return body


@dataclass(frozen=True)
class Funnel:
    site_id: int
    date_range: DateRange
    steps: tuple[Step, ...]
    within: str  # "visit" or a window as asked, e.g. "24h"
    window: timedelta | None  # None: every step within one visit


def parse(document: Any, known_sites: Collection[int]) -> Funnel:
    if not isinstance(document, dict):
        raise InvalidFunnel("the funnel must be a JSON object", field="body")
    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        raise InvalidFunnel(f"unknown member {unknown[0]!r:.60}", field=str(unknown[0])[:64])
    site_id = parse_site(document.get("site_id"), known_sites)
    date_range = parse_date_range(document.get("date_range"))
    steps = parse_steps(document.get("steps"))
    window = parse_within(document.get("within"))
    return Funnel(site_id, date_range, steps, str(document["within"]), window)


def parse_within(value: Any) -> timedelta | None:
    if value == WITHIN_VISIT:
        return None
    match = _WINDOW.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidFunnel('within is "visit" or a window such as "30m", "24h" or "7d"', field="within")
    window = int(match.group(1)) * _UNITS[match.group(2)]
    if window > MAX_WINDOW:
        raise InvalidFunnel(f"the window is at most {MAX_WINDOW.days} days", field="within")
    return window


def parse_steps(value: Any, field: str = "steps") -> tuple[Step, ...]:
    if not isinstance(value, list) or not MIN_STEPS <= len(value) <= MAX_STEPS:
        raise InvalidFunnel(f"steps is a list of {MIN_STEPS}-{MAX_STEPS} steps", field=field)
    return tuple(_step(item, f"{field}[{index}]") for index, item in enumerate(value))


def _step(item: Any, where: str) -> Step:
    if not isinstance(item, dict):
        raise InvalidFunnel('a step is {"page": ...}, {"event": {...}} or {"goal": ...}', field=where)
    extra = sorted(set(item) - {*STEP_KINDS, "label"})
    if extra:
        raise InvalidFunnel(f"unknown step member {extra[0]!r:.60}", field=where)
    kinds = [kind for kind in STEP_KINDS if kind in item]
    if len(kinds) != 1:
        raise InvalidFunnel("a step is exactly one of page, event or goal", field=where)
    kind = kinds[0]
    label = _text(item.get("label", ""), f"{where}.label", required=False)
    if kind == "page":
        return Step("page", page=_text(item["page"], f"{where}.page"), label=label)
    if kind == "goal":
        return Step("goal", goal=_text(item["goal"], f"{where}.goal"), label=label)
    event = item["event"]
    if not isinstance(event, dict) or not event or set(event) - set(EVENT_PARTS):
        raise InvalidFunnel("an event step is {category, action, name}, any of them", field=f"{where}.event")
    parts = {
        part: _text(event.get(part, ""), f"{where}.event.{part}", required=False) for part in EVENT_PARTS
    }
    if not any(parts.values()):
        raise InvalidFunnel("an event step names a category, action or name", field=f"{where}.event")
    return Step("event", label=label, **parts)


def _text(value: Any, field: str, *, required: bool = True) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (required and not value.strip()):
        raise InvalidFunnel(
            f"a {'non-empty ' if required else ''}string of at most {MAX_TEXT} characters", field=field
        )
    return value
