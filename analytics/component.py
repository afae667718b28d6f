"""The analytics domain, as mounted into the app."""

from __future__ import annotations

from samtycke.component import Component
from samtycke.services import Services


def build(services: Services) -> Component:
    return Component(name="analytics")
