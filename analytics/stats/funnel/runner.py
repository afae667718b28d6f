"""Run a funnel's statement within the report budget and shape the answer.

Per step: the visitors who reached it (and how many of them were recognised by a
consented tracker id), the conversion from the first step and from the previous one, and
the drop-off since the previous step.  ``counting`` says how visitors were followed, so
that a reader knows a cookieless visitor's steps were only ever joined within one visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analytics.stats import ranges
from analytics.stats.funnel import builder
from analytics.stats.funnel.parser import Funnel
from samtycke.settings import Goal, Site
from samtycke.storage.budget import QueryBudget

WITHIN_VISIT_NOTE = {
    "en": "Every step within one visit, for every visitor.",
    "sv": "Alla steg inom ett och samma besök, för alla besökare.",
}
WINDOW_NOTE = {
    "en": "Visitors recognised by a consented tracker id are followed across visits within the "
    "window; cookieless visitors cannot be recognised from one day to the next and are counted "
    "within one visit.",
    "sv": "Besökare som känns igen på ett samtyckt spårnings-id följs över flera besök inom "
    "tidsfönstret; besökare utan kakor kan inte kännas igen från en dag till nästa och räknas "
    "inom ett besök.",
}


@dataclass(frozen=True)
class Answer:
    funnel: Funnel
    period: ranges.Period
    steps: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        funnel = self.funnel
        windowed = funnel.window is not None
        return {
            "steps": self.steps,
            "meta": {
                "source": "events",
                "unique_counts": {"exact": True, "error_bound": 0},
                "counting": {
                    "within": funnel.within,
                    "recognised_visitors": "across visits within the window"
                    if windowed
                    else "within one visit",
                    "cookieless_visitors": "within one visit",
                    "note": WINDOW_NOTE if windowed else WITHIN_VISIT_NOTE,
                },
            },
            "query": {
                "site_id": funnel.site_id,
                "date_range": self.period.as_json(),
                "within": funnel.within,
                "steps": [step.as_json() for step in funnel.steps],
            },
        }


async def run(
    storage: QueryBudget, funnel: Funnel, site: Site, site_goals: list[Goal], now: datetime
) -> Answer:
    period = ranges.resolve(funnel.date_range, ZoneInfo(site.timezone), now)
    statement = builder.statement(funnel, site_goals, period)
    rows = await storage.aquery(statement.sql, statement.parameters)
    counts = [int(v) for v in rows[0]] if rows else [0] * (2 * statement.steps)
    return Answer(funnel, period, shape(funnel, counts))


def shape(funnel: Funnel, counts: list[int]) -> list[dict[str, Any]]:
    """``counts`` alternates visitors and recognised visitors per step, as the statement selects."""
    steps: list[dict[str, Any]] = []
    first = counts[0]
    for index, step in enumerate(funnel.steps):
        visitors, recognised = counts[2 * index], counts[2 * index + 1]
        previous = counts[2 * (index - 1)] if index else visitors
        steps.append(
            {
                "step": index + 1,
                "label": step.describe(),
                "definition": step.as_json(),
                "visitors": visitors,
                "recognised_visitors": recognised,
                "cookieless_visitors": visitors - recognised,
                "conversion_rate": _percent(visitors, first),
                "conversion_rate_step": _percent(visitors, previous),
                "dropoff": previous - visitors,
                "dropoff_rate": _percent(previous - visitors, previous) if index else 0,
            }
        )
    return steps


def _percent(part: int, whole: int) -> float | int:
    if not whole:
        return 0
    value = round(100 * part / whole, 2)
    return int(value) if value.is_integer() else value
