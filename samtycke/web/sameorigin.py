"""Cross-site request forgery: changes made with the login cookie must come from samtycke's own pages.

The session cookie is ``SameSite=Lax``, which keeps it off cross-site POSTs but not off
requests from *other origins of the same site*: a page with an XSS hole on
``www.example.se`` can post to samtycke on ``consent.example.se`` with the admin's cookie.
So every request that changes something and is authenticated by the cookie (and the login
form itself, against login CSRF) is checked here, from what the browser says about where
the request comes from:

1. ``GET``, ``HEAD`` and ``OPTIONS`` change nothing and pass.
2. ``Sec-Fetch-Site``, when sent, must be ``same-origin`` (or ``none``: the person typed
   the address); ``same-site`` and ``cross-site`` are refused.
3. Otherwise ``Origin``, when sent, must be samtycke's own: the configured public URL's,
   or the host the request was sent to.
4. With neither header the request did not come from a page in a browser (browsers send
   at least one of them with every cross-origin POST), so there is nobody to forge it.

Bearer-token calls carry no ambient credential and are not checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from samtycke.web.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def _netloc(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return parts.netloc.lower() if parts.scheme in ("http", "https") else ""


class SameOrigin:
    def __init__(self, public_url: str) -> None:
        self.public = _netloc(public_url)

    def allows(self, conn: HTTPConnection) -> bool:
        if conn.scope.get("method", "GET") in SAFE_METHODS:
            return True
        fetch_site = conn.headers.get("sec-fetch-site")
        if fetch_site is not None:
            return fetch_site.lower() in TRUSTED_FETCH_SITES
        origin = conn.headers.get("origin")
        if origin is None:
            return True
        netloc = _netloc(origin)
        return bool(netloc) and netloc in (self.public, conn.headers.get("host", "").lower())

    def require(self, conn: HTTPConnection) -> None:
        if not self.allows(conn):
            raise Forbidden(
                "this change must be made from samtycke's own pages; the request came from "
                "another origin. Scripts should send `Authorization: Bearer <token>` instead"
            )
