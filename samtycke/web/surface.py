"""Which origin a route is served on: samtycke's own, or the website's too.

``samtycke proxy`` serves samtycke under ``/_samtycke`` on the origin of the website it
stands in front of.  There, every script of the website runs with samtycke's cookies
and the website's server sees what the browser sends, so only what the site's visitors
need is mounted: the banner and its files, the consent API, the collector, the cookie
declaration, policy and privacy pages, and the log's checkpoint, inclusion proofs and keys
that the privacy page verifies receipts with (``VISITOR``).  The dashboard, the audit
view, login, the stats and visitor-data APIs, the rest of the log API and ``/metrics``
are for the people who run samtycke and live on its own origin only (``OWN_ORIGIN``).

Every route says which it is (a test holds each to it); one that does not stays on
samtycke's own origin, so forgetting can never expose it on the website's.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from starlette.routing import BaseRoute

ATTRIBUTE = "samtycke_surface"


class Surface(enum.Enum):
    VISITOR = "visitor"  # on samtycke's origin and, through the proxy, on the website's
    OWN_ORIGIN = "own-origin"  # on samtycke's own origin only


def for_visitors(routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    return _declare(routes, Surface.VISITOR)


def own_origin_only(routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    return _declare(routes, Surface.OWN_ORIGIN)


def _declare(routes: Iterable[BaseRoute], surface: Surface) -> list[BaseRoute]:
    marked = list(routes)
    for route in marked:
        setattr(route, ATTRIBUTE, surface)
    return marked


def declared(route: BaseRoute) -> Surface | None:
    surface = getattr(route, ATTRIBUTE, None)
    return surface if isinstance(surface, Surface) else None


def mounted(routes: Iterable[BaseRoute], surface: Surface) -> list[BaseRoute]:
    """The routes an app for ``surface`` serves: all of them on samtycke's own origin."""
    if surface is Surface.OWN_ORIGIN:
        return list(routes)
    return [route for route in routes if declared(route) is surface]
