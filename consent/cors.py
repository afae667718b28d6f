"""CORS for the consent API: open only to the site's own host names, with credentials.

Any scheme and port on a configured host is allowed (``http://localhost:3000`` for
``localhost``).  A state-changing request from any other origin is refused with 403, so
a third-party page cannot record or erase a choice in the visitor's name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from samtycke.errors import Forbidden
from samtycke.settings import Settings, Site

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, If-None-Match"


def origin_host(origin: str) -> str | None:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower()


def allowed(origin: str, sites: list[Site], request: Request) -> bool:
    host = origin_host(origin)
    if host is None:
        return False
    if host == (request.url.hostname or "").lower():
        return True  # same host as samtycke itself
    return any(host in (d.lower() for d in site.domains) for site in sites)


def check(request: Request, sites: list[Site], *, writes: bool) -> str | None:
    """The origin to echo, None for no CORS headers; 403 for a write from a foreign origin."""
    origin = request.headers.get("origin")
    if not origin:
        return None
    if allowed(origin, sites, request):
        return origin
    if writes:
        raise Forbidden("this origin may not record consent for the site", field="origin")
    return None


def apply(response: Response, origin: str | None) -> Response:
    response.headers.setdefault("Vary", "Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


def preflight(request: Request, settings: Settings) -> Response:
    origin = request.headers.get("origin", "")
    if not allowed(origin, list(settings.sites), request):
        raise Forbidden("this origin is not one of the sites' domains", field="origin")
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return apply(response, origin)
