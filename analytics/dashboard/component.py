"""The dashboard, as mounted into the app."""

from __future__ import annotations

from analytics.dashboard import consent_rates, page, realtime
from samtycke.component import Component
from samtycke.services import Services


def build(services: Services) -> Component:
    return Component(
        name="dashboard",
        routes=[*page.routes(services), *realtime.routes(services), *consent_rates.routes(services)],
    )
