"""``POST /api/v1/stats/funnel``: how many visitors went through an ordered list of steps."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from analytics.managed.api import definitions_of
from analytics.stats.funnel import parser, runner
from samtycke.services import Services
from samtycke.web.bodies import read_json

# Eight steps of a few hundred characters each.
MAX_BODY = 16 * 1024


class FunnelAPI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.known_sites = {site.id for site in services.settings.sites}

    async def funnel(self, request: Request) -> Response:
        """
        summary: A funnel
        description: >
          Visitors who reached each of 2-8 ordered steps. A step is exactly one of a page
          pattern (`*` is a wildcard), an event (any of category, action and name) or one of
          the site's goals by name. `within` is "visit" (all steps in one visit) or a window
          from the first step to the last ("30m", "24h", "7d", at most 90 days). Each step
          must come strictly after the one before; other hits, repeats and steps out of order
          in between do not matter. Visitors recognised by a consented tracker id are
          followed across visits within a window; cookieless visitors are counted within one
          visit, as `meta.counting` says. Per step: visitors, recognised and cookieless
          visitors, conversion from the first step and from the previous one, and the
          drop-off. Needs a marketer or admin.
        security: [{bearer: []}]
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [site_id, date_range, within, steps]
                properties:
                  site_id: {type: integer}
                  date_range:
                    oneOf:
                      - {type: string, enum: [day, 7d, 30d, month, 6mo, 12mo, year, all]}
                      - {type: array, items: {type: string}, minItems: 2, maxItems: 2}
                  within: {$ref: "#/components/schemas/FunnelWithin"}
                  steps: {$ref: "#/components/schemas/FunnelSteps"}
        responses:
          200:
            description: >
              `{"steps": [{"step", "label", "definition", "visitors", "recognised_visitors",
              "cookieless_visitors", "conversion_rate", "conversion_rate_step", "dropoff",
              "dropoff_rate"}], "meta": {"source", "unique_counts", "counting"}, "query": {...}}`
          400: {description: Invalid funnel; `error.field` names the member.}
          413: {description: The body is over 16 KiB.}
          401: {$ref: "#/components/responses/NoCredentials"}
          403: {$ref: "#/components/responses/NotAStatsReader"}
          503: {$ref: "#/components/responses/StatsBusy"}
        """
        services = self.services
        await services.auth.require(request, "marketer")
        funnel = parser.parse(await read_json(request, MAX_BODY), self.known_sites)
        configured = services.settings.site(funnel.site_id)
        assert configured is not None
        site = await definitions_of(services).site(configured)  # with the goals stored in samtycke
        async with services.reports.turn():
            answer = await runner.run(services.reports, funnel, site, list(site.goals), services.now())
        return JSONResponse(answer.as_json())
