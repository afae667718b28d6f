"""``POST /api/v1/stats/query``: counts without SQL, for marketers and admins."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.stats import builder, parser, runner
from samtycke.services import Services


def routes(services: Services) -> list[BaseRoute]:
    known_sites = {site.id for site in services.settings.sites}

    async def query(request: Request) -> Response:
        """
        summary: Query statistics
        description: >
          Plausible Stats API v2 shape. Metrics visitors, visits, pageviews, bounce_rate
          (percent of visits with one action), visit_duration (mean seconds) and events
          (all hits except heartbeats). `date_range` is day, 7d, 30d, month, year, all or
          [from, to] in the site's time zone (7d and 30d end today). Pagination defaults
          to limit 100, at most 10000. Needs a marketer or admin bearer token.
        security: [{bearer: []}]
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [site_id, metrics, date_range]
                properties:
                  site_id: {type: integer}
                  metrics:
                    type: array
                    items:
                      type: string
                      enum: [visitors, visits, pageviews, bounce_rate, visit_duration, events]
                  date_range:
                    oneOf:
                      - {type: string, enum: [day, 7d, 30d, month, year, all]}
                      - {type: array, items: {type: string, format: date}, minItems: 2, maxItems: 2}
                  dimensions: {type: array, items: {type: string}}
                  filters:
                    type: array
                    items: {type: array, minItems: 3, maxItems: 3}
                  order_by: {type: array, items: {type: array}}
                  pagination:
                    type: object
                    properties:
                      limit: {type: integer, minimum: 1, maximum: 10000, default: 100}
                      offset: {type: integer, minimum: 0, default: 0}
        responses:
          200:
            description: '`{"results": [{"metrics": [...], "dimensions": [...]}], "query": {...}}`'
          400: {description: Invalid query; `error.field` names the member.}
          401: {description: No credentials.}
          403: {description: The token's role may not read statistics.}
        """
        services.auth.require(request, "marketer")
        body = await request.body()
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise parser.InvalidQuery("the body is not valid JSON", field="body") from exc
        parsed = parser.parse(document, known_sites)
        site = services.settings.site(parsed.site_id)
        assert site is not None
        statement = builder.build(parsed, site.timezone, services.now())
        return JSONResponse(await runner.run(services.storage, parsed, statement))

    return [Route("/api/v1/stats/query", query, methods=["POST"])]
