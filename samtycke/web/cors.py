"""CORS: which web pages may call samtycke with the visitor's cookies.

One policy for every endpoint that pages on the sites call: the consent API and the
tracking endpoints.  An origin is allowed when its host is one a configured site is served
on, by the rule the collector applies to the pages of hits (``samtycke.settings.hosts``:
exact names and ``*.example.se`` entries), with any scheme and port
(``http://localhost:3000`` for ``localhost``), or samtycke's own host.  An allowed origin
is echoed with credentials, so the consent cookie comes along; any other origin gets no
CORS headers, and the browser keeps the answer from the page.  What an endpoint does
beyond that (the consent API refuses writes from other origins with 403) is the
endpoint's own rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Scope

from samtycke.caching import bounded_cache
from samtycke.settings import Site
from samtycke.settings.hosts import Hosts
from samtycke.web.asgi import header


@bounded_cache(maxsize=1024, longest=512)  # browsers send a handful of origins over and over
def origin_host(origin: str) -> str | None:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower()


class Origins:
    """The origins that may call with credentials: pages on ``sites``, and samtycke's own."""

    def __init__(self, sites: Iterable[Site]) -> None:
        self.hosts = Hosts(domain for site in sites for domain in site.domains)

    def allows(self, origin: str, scope: Scope) -> bool:
        host = origin_host(origin)
        if host is None:
            return False
        if host in self.hosts:
            return True
        return host == (HTTPConnection(scope).url.hostname or "").lower()  # same host as samtycke itself

    def allowed(self, scope: Scope) -> str | None:
        """The request's ``Origin`` when it may call, to echo; None when it sent none or may not."""
        origin = header(scope, b"origin")
        return origin if origin and self.allows(origin, scope) else None


def allow(origin: str) -> dict[str, str]:
    """The headers that let a page on ``origin`` read the answer, cookies and all."""
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def allow_raw(origin: str) -> list[tuple[bytes, bytes]]:
    """``allow(origin)`` as raw ASGI headers."""
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
    ]


def apply(response: Response, origin: str | None) -> Response:
    """``Vary: Origin`` unless the response already varies, and ``allow(origin)`` for an allowed origin."""
    # On the raw header list: what ``response.headers.setdefault`` and ``[...] =`` do, without
    # building a MutableHeaders view for every response.
    raw = response.raw_headers
    if not any(key == b"vary" for key, _ in raw):
        raw.append((b"vary", b"Origin"))
    if origin:
        for key, value in allow_raw(origin):
            _set(raw, key, value)
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


def preflight(origin: str | None, *, methods: str, headers: str, max_age: int) -> Response:
    """The answer to a preflight: 204, with what the endpoint accepts when ``origin`` is allowed."""
    response = Response(status_code=204)
    if origin:
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = headers
        response.headers["Access-Control-Max-Age"] = str(max_age)
    return apply(response, origin)
