"""The stats API: ``POST /api/v1/stats/query`` (JSON or streamed CSV) and realtime."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from analytics.managed.api import definitions_of
from analytics.stats import columns, parser, realtime, runner
from analytics.stats.funnel.api import FunnelAPI
from samtycke.services import Services
from samtycke.web.bodies import read_json

# A query is a few hundred bytes; this leaves room for thirty filters of many values each.
MAX_BODY = 64 * 1024


class StatsAPI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.known_sites = {site.id for site in services.settings.sites}

    async def query(self, request: Request) -> Response:
        """
        summary: Query statistics
        description: >
          Plausible Stats API v2 shape. Metrics visitors, visits, pageviews, views_per_visit,
          bounce_rate (percent of visits with one action), visit_duration (mean seconds),
          events (all hits except heartbeats), conversion_rate (percent of visitors who
          reached the goal; needs the event:goal dimension or a goal filter), percentage
          (share of all visitors), searches_without_results (site searches that reported
          `search_count=0`) and, mostly by event:page, time_on_page (mean seconds from a
          pageview to the visit's next pageview, or else to its last hit; pageviews with no
          later hit are left out), entry_rate and exit_rate (percent of the row's visits that
          started on it, or whose last pageview is in it). Dimensions: event:page,
          event:hostname, event:kind, event:title (page titles), event:outlink,
          event:download, event:search_keyword, event:search_category, event:category,
          event:action, event:name (events drill down: filter on the category, group by the
          action), event:goal, event:props:NAME (a custom dimension by its declared name, or
          an undeclared one by number; visit-scoped ones take the visit's last value),
          event:props (which custom dimensions hits carry), visit:entry_page,
          visit:exit_page, visit:source, visit:channel, visit:referrer, visit:utm_medium,
          visit:utm_source, visit:utm_campaign, visit:country, visit:region, visit:city,
          visit:browser, visit:browser_version, visit:os, visit:os_version, visit:device,
          visit:screen, visit:language and time, time:hour, time:day, time:week,
          time:month. Grouped by a dimension only some hits have (links, downloads,
          searches, events, titles, custom dimensions), a row counts only those hits.
          Ecommerce metrics, asked on their own: revenue (orders' grand totals; with
          event:goal, the revenue sent with each goal's conversions), orders,
          average_order_value and ecommerce_conversion_rate (percent of visits with an order),
          each order counted once at its first sighting however often its id is re-sent. With a
          product dimension (event:product_sku, event:product_name, event:product_category) they
          are per product, where revenue is price times quantity, joined by quantity,
          product_views (pageviews showing it), cart_adds (visits whose cart held it) and a
          conversion rate of visits that ordered it per visit that viewed it.
          `date_range` is day, 7d, 30d, month, 6mo, 12mo, year, all,
          [from, to] dates or [from, to] ISO datetimes, in the site's time zone. Filters are
          [is|is_not|contains|matches, dimension, [values]], nested with and, or and not.
          `include` takes comparisons ({"mode": "previous_period"|"year_over_year"}),
          total_rows and time_labels. Pagination defaults to limit 100, at most 10000. The
          answer's `meta` says whether a rollup or the raw events were read, and how exact
          unique counts are. Send `Accept: text/csv` for CSV. Needs a marketer or admin.
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
                      enum: [visitors, visits, pageviews, views_per_visit, bounce_rate, visit_duration,
                             events, conversion_rate, percentage, time_on_page, entry_rate, exit_rate,
                             searches_without_results, revenue, orders,
                             average_order_value, ecommerce_conversion_rate, quantity, product_views,
                             cart_adds]
                  date_range:
                    oneOf:
                      - {type: string, enum: [day, 7d, 30d, month, 6mo, 12mo, year, all]}
                      - {type: array, items: {type: string}, minItems: 2, maxItems: 2}
                  dimensions:
                    type: array
                    maxItems: 4
                    # OpenAPI 3.0 gives a schema one example; the others are in its description.
                    items:
                      type: string
                      example: event:page
                      description: 'Such as event:page, event:outlink or event:props:Plan.'
                  filters: {type: array, items: {type: array}}
                  order_by: {type: array, items: {type: array}}
                  include:
                    type: object
                    properties:
                      comparisons: {type: object}
                      total_rows: {type: boolean}
                      time_labels: {type: boolean}
                  pagination:
                    type: object
                    properties:
                      limit: {type: integer, minimum: 1, maximum: 10000, default: 100}
                      offset: {type: integer, minimum: 0, default: 0}
        responses:
          200:
            description: >
              `{"results": [{"metrics": [...], "dimensions": [...], "comparison": {...}}],
              "meta": {"source", "table", "unique_counts"}, "query": {...}}`, or CSV.
          400: {description: Invalid query; `error.field` names the member.}
          413: {description: The body is over 64 KiB.}
          401: {$ref: "#/components/responses/NoCredentials"}
          403: {$ref: "#/components/responses/NotAStatsReader"}
          503: {$ref: "#/components/responses/StatsBusy"}
        """
        services = self.services
        await services.auth.require(request, "marketer")
        parsed = parser.parse(await read_json(request, MAX_BODY), self.known_sites)
        configured = services.settings.site(parsed.site_id)
        assert configured is not None
        site = await definitions_of(services).site(configured)  # with the goals stored in samtycke
        columns.check(parsed, site)
        async with services.reports.turn():
            answer = await runner.run(services.reports, parsed, site, services.now())
        if "text/csv" in request.headers.get("accept", ""):
            return StreamingResponse(
                runner.csv_lines(answer),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="stats-site-{site.id}.csv"'},
            )
        return JSONResponse(answer.as_json())


def routes(services: Services) -> list[BaseRoute]:
    return [
        Route("/api/v1/stats/query", StatsAPI(services).query, methods=["POST"]),
        Route("/api/v1/stats/funnel", FunnelAPI(services).funnel, methods=["POST"]),
        *realtime.routes(services),
    ]
