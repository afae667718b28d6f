"""The dashboard, as mounted into the app."""

from __future__ import annotations

from analytics.dashboard import page
from samtycke.component import Component
from samtycke.services import Services


def build(services: Services) -> Component:
    return Component(
        name="dashboard",
        routes=page.routes(services),
    )
