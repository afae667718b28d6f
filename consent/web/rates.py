"""``GET /api/v1/stats/consent``: how visitors answer the banner, from the consent log.

Only aggregates leave here: counts of choices per method, day and notice version, and the
share of choices granting each optional category.  Receipts are read at their newest
revision; a purged payload (an empty entry) is no longer a choice anyone can count.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from consent.categories import optional_categories
from consent.schema import LOG
from samtycke.services import Services
from samtycke.storage import StorageError
from samtycke.web.params import date_range_of, local_today, site_of

METHODS = ("accept_all", "reject_all", "custom", "gpc", "withdraw", "handoff")

_RECEIPTS = f"""
WITH receipts AS (
    SELECT argMax(entry, revision) AS entry, argMax(event_time, revision) AS at
    FROM {LOG}
    WHERE kind = 'receipt' AND site_id = {{site:UInt32}}
        AND event_time >= {{start:DateTime64(3, 'UTC')}} AND event_time < {{end:DateTime64(3, 'UTC')}}
    GROUP BY idx
    HAVING entry != ''
)
"""

_BY_DAY_AND_VERSION = (
    _RECEIPTS
    + """
SELECT toString(toDate(at, {tz:String})) AS day,
    JSONExtractString(entry, 'notice', 'version') AS version,
    JSONExtractString(entry, 'method') AS method, count() AS choices
FROM receipts GROUP BY day, version, method ORDER BY day, version, method
"""
)

_CATEGORIES = (
    _RECEIPTS
    + """
SELECT category, countIf(JSONExtractBool(entry, 'decisions', category)) AS granted, count() AS choices
FROM receipts ARRAY JOIN {categories:Array(String)} AS category
GROUP BY category
"""
)


class ConsentRates:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def get(self, request: Request) -> Response:
        """
        summary: Consent rates
        description: >
          Aggregated banner answers from the consent log, with no personal data: the opt-in
          rate per optional category, and the share of accept_all, reject_all, custom, gpc,
          withdraw and handoff choices per day and per notice version. `date_range` is day, 7d, 30d,
          month, 6mo, 12mo, year, all or `YYYY-MM-DD,YYYY-MM-DD` in the site's time zone.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: query, required: true, schema: {type: integer}}
          - {name: date_range, in: query, required: false, schema: {type: string, default: 30d}}
        responses:
          200:
            description: >
              `{"total", "categories": [...], "methods": [...], "by_day": [...],
              "by_notice_version": [...]}`
          400: {description: Bad site_id or date_range; `error.field` names it.}
          401: {description: No credentials.}
          403: {description: The role may not read statistics.}
        """
        services = self.services
        await services.auth.require(request, "marketer")
        site = site_of(request, services.settings)
        first, last = date_range_of(request, local_today(services.now(), site))
        zone = ZoneInfo(site.timezone)
        categories = optional_categories(site)
        parameters: dict[str, Any] = {
            "site": site.id,
            "tz": site.timezone,
            "start": _utc_midnight(first, zone),
            "end": _utc_midnight(last + timedelta(days=1), zone),
            "categories": categories,
        }
        try:
            async with services.reports.turn():
                grouped = await services.reports.aquery(_BY_DAY_AND_VERSION, parameters)
                granted = await services.reports.aquery(_CATEGORIES, parameters)
        except StorageError:
            # No consent log here (the consent domain is not mounted): nothing to count.
            grouped, granted = [], []
        return JSONResponse(_shape(site.id, first, last, categories, grouped, granted))


def routes(services: Services) -> list[BaseRoute]:
    return [Route("/api/v1/stats/consent", ConsentRates(services).get, methods=["GET"])]


def _shape(
    site_id: int,
    first: date,
    last: date,
    categories: list[str],
    grouped: list[tuple[Any, ...]],
    granted: list[tuple[Any, ...]],
) -> dict[str, Any]:
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(METHODS, 0))
    by_version: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(METHODS, 0))
    totals = dict.fromkeys(METHODS, 0)
    for day, version, method, count in grouped:
        if method not in totals:
            continue
        by_day[str(day)][method] += int(count)
        by_version[str(version)][method] += int(count)
        totals[method] += int(count)
    total = sum(totals.values())
    granted_by = {str(c): (int(g), int(n)) for c, g, n in granted}
    return {
        "site_id": site_id,
        "date_range": [first.isoformat(), last.isoformat()],
        "total": total,
        "categories": [
            {
                "category": category,
                "granted": granted_by.get(category, (0, 0))[0],
                "choices": granted_by.get(category, (0, 0))[1],
                "opt_in_rate": _percent(*granted_by.get(category, (0, 0))),
            }
            for category in categories
        ],
        "methods": [
            {"method": m, "choices": totals[m], "share": _percent(totals[m], total)} for m in METHODS
        ],
        "by_day": [_row("day", key, counts) for key, counts in sorted(by_day.items())],
        "by_notice_version": [_row("version", key, counts) for key, counts in sorted(by_version.items())],
    }


def _row(name: str, key: str, counts: dict[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    return {
        name: key,
        "choices": total,
        "shares": {m: _percent(n, total) for m, n in counts.items()},
    }


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)
