"""The samtycke app with this folder's components mounted, until the lead wires them in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from samtycke.component import Component
from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.web import app as app_module

_original = app_module.components


def with_pages(services: Services) -> list[Component]:
    from consent.web.pages import build

    parts = _original(services)
    if not any(part.name == "pages" for part in parts):
        parts.append(build(services))
    return parts


def create_app(settings: Settings, **options: Any) -> Starlette:
    app_module.components = with_pages  # type: ignore[assignment]
    try:
        return app_module.create_app(settings, **options)
    finally:
        app_module.components = _original


@pytest.fixture
def pages_app_factory() -> Iterator[Any]:
    yield create_app
