"""The analytics domain, as mounted into the app: ingestion, the stats API and visitor data requests."""

from __future__ import annotations

from analytics import api_components, visitor_data
from analytics.ingestion import collector
from analytics.ingestion.geo import GeoIP
from analytics.ingestion.pipeline import Pipeline
from analytics.ingestion.salts import Salts
from analytics.ingestion.visits import Visits
from analytics.managed import api as managed_api
from analytics.schema import MIGRATIONS
from analytics.stats import api as stats_api
from samtycke.component import Component
from samtycke.services import Services
from samtycke.web.surface import for_visitors, own_origin_only


def build(services: Services) -> Component:
    settings = services.settings
    geo = GeoIP(settings.analytics.geoip_database)
    salts = Salts(services.storage, list(settings.sites), services.now, services.layout)
    visits = Visits(settings.analytics.visits_in_memory)
    pipeline = Pipeline(
        settings, auth=services.auth, geo=geo, salts=salts, visits=visits, metrics=services.metrics
    )
    services.metrics.gauge(
        "samtycke_visits_tracked_in_memory",
        "Visitors whose current visit is held in memory.",
        lambda: float(len(visits)),
    )

    async def close_geo() -> None:
        geo.close()

    return Component(
        name="analytics",
        static=collector.STATIC,
        routes=[
            *for_visitors(collector.routes(collector.Collector(services, pipeline))),
            *own_origin_only(
                [
                    *stats_api.routes(services),
                    *managed_api.routes(services),
                    *visitor_data.routes(services, visits),
                ]
            ),
        ],
        migrations=MIGRATIONS,
        on_storage_ready=[salts.run],
        on_shutdown=[close_geo],
        api_components=api_components.COMPONENTS,
    )
