"""``GET /api/v1/stats/realtime``: visitors in the last 30 minutes, straight from raw events."""

from __future__ import annotations

from datetime import UTC, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.schema import EVENTS
from samtycke.services import Services
from samtycke.web.params import site_of

WINDOW = timedelta(minutes=30)
TOP_PAGES = 5

_COUNTS = f"""
SELECT uniqExact(visitor_id), countIf(kind = 'pageview')
FROM {EVENTS}
WHERE site_id = {{site:UInt32}} AND timestamp >= {{since:DateTime64(3, 'UTC')}}
    AND timestamp <= {{now:DateTime64(3, 'UTC')}}
"""

_PAGES = f"""
SELECT pathname, uniqExact(visitor_id) AS visitors
FROM {EVENTS}
WHERE site_id = {{site:UInt32}} AND timestamp >= {{since:DateTime64(3, 'UTC')}}
    AND timestamp <= {{now:DateTime64(3, 'UTC')}} AND kind = 'pageview'
GROUP BY pathname ORDER BY visitors DESC, pathname LIMIT {TOP_PAGES}
"""


class Realtime:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def get(self, request: Request) -> Response:
        """
        summary: Visitors right now
        description: >
          Unique visitors and pageviews in the last 30 minutes, with the five pages they
          look at most. Counts are exact (raw events). Needs a marketer or admin.
        security: [{bearer: []}]
        parameters:
          - {name: site_id, in: query, required: true, schema: {type: integer}}
        responses:
          200:
            description: >
              `{"site_id", "visitors", "pageviews", "pages": [{"page", "visitors"}], "since",
              "until", "exact"}`
          400: {description: Missing or unknown site_id.}
          401: {description: No credentials.}
          403: {description: The role may not read statistics.}
        """
        services = self.services
        await services.auth.require(request, "marketer")
        site = site_of(request, services.settings)
        now = services.now().astimezone(UTC)
        parameters = {"site": site.id, "since": now - WINDOW, "now": now}
        async with services.reports.turn():
            counts = await services.reports.aquery(_COUNTS, parameters)
            pages = await services.reports.aquery(_PAGES, parameters)
        visitors, pageviews = counts[0] if counts else (0, 0)
        return JSONResponse(
            {
                "site_id": site.id,
                "visitors": int(visitors),
                "pageviews": int(pageviews),
                "pages": [{"page": str(p), "visitors": int(v)} for p, v in pages],
                "since": (now - WINDOW).isoformat(timespec="seconds"),
                "until": now.isoformat(timespec="seconds"),
                "exact": True,
            },
            headers={"Cache-Control": "no-store"},
        )


def routes(services: Services) -> list[BaseRoute]:
    return [Route("/api/v1/stats/realtime", Realtime(services).get, methods=["GET"])]
