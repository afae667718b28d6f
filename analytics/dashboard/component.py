"""The dashboard, as mounted into the app."""

from __future__ import annotations

from pathlib import Path

from analytics.dashboard import page
from samtycke.component import Component
from samtycke.services import Services
from samtycke.web.surface import own_origin_only

# The dashboard's script, stylesheet and vendored chart library, served at /static/dashboard/.
STATIC = Path(__file__).resolve().parent / "static"


def build(services: Services) -> Component:
    return Component(
        name="dashboard",
        static=STATIC,
        routes=own_origin_only(page.routes(services)),
    )
