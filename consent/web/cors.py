"""CORS for the consent API: open only to the site's own host names, with credentials.

Any scheme and port on a configured host is allowed (``http://localhost:3000`` for
``localhost``).  A state-changing request from any other origin is refused with 403, so
a third-party page cannot record or erase a choice in the visitor's name.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from consent.banner import per_site
from samtycke.settings import Settings, Site
from samtycke.web.asgi import header
from samtycke.web.errors import Forbidden

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, If-None-Match"


@per_site
def site_hosts(site: Site) -> frozenset[str]:
    return frozenset(d.lower() for d in site.domains)


@lru_cache(maxsize=1024)  # browsers send a handful of origins over and over
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
    if any(host in site_hosts(site) for site in sites):
        return True
    return host == (request.url.hostname or "").lower()  # same host as samtycke itself


def check(request: Request, sites: list[Site], *, writes: bool) -> str | None:
    """The origin to echo, None for no CORS headers; 403 for a write from a foreign origin."""
    origin = header(request.scope, b"origin")
    if not origin:
        return None
    if allowed(origin, sites, request):
        return origin
    if writes:
        raise Forbidden("this origin may not record consent for the site", field="origin")
    return None


def apply(response: Response, origin: str | None) -> Response:
    # On the raw header list: what ``response.headers.setdefault`` and ``[...] =`` do, without
    # building a MutableHeaders view for every response.
    raw = response.raw_headers
    if not any(key == b"vary" for key, _ in raw):
        raw.append((b"vary", b"Origin"))
    if origin:
        _set(raw, b"access-control-allow-origin", origin.encode("latin-1"))
        _set(raw, b"access-control-allow-credentials", b"true")
    return response


def _set(raw: list[tuple[bytes, bytes]], key: bytes, value: bytes) -> None:
    """``MutableHeaders.__setitem__``: the first such header replaced, any others dropped."""
    found = [i for i, (name, _) in enumerate(raw) if name == key]
    for index in reversed(found[1:]):
        del raw[index]
    if found:
        raw[found[0]] = (key, value)
    else:
        raw.append((key, value))


def preflight(request: Request, settings: Settings) -> Response:
    origin = request.headers.get("origin", "")
    if not allowed(origin, list(settings.sites), request):
        raise Forbidden("this origin is not one of the sites' domains", field="origin")
    response = Response(status_code=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
    response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return apply(response, origin)
