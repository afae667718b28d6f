"""Addresses samtycke writes for the browser: links, form actions and redirects.

samtycke may be served under a path: ``/_samtycke`` behind ``samtycke proxy``, or a
reverse proxy's prefix given as ``root_path``.  So every address starts with the
request's ``root_path``, and a redirect is a path, never a URL built from the request's
``Host`` header, which the client chooses.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from jinja2 import Environment
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse

from samtycke.auth import viewer
from samtycke.web.surface import Surface


def root(conn: HTTPConnection) -> str:
    """What every address samtycke writes starts with: the prefix it is mounted under, if any."""
    return str(conn.scope.get("root_path", ""))


def href(conn: HTTPConnection, path: str) -> str:
    """``path`` (from samtycke's root) as the browser must ask for it."""
    return root(conn) + path


def start(conn: HTTPConnection) -> str:
    """samtycke's start page: where logging in, out or setting up ends when nothing else is asked for."""
    return href(conn, "/")


def inside(conn: HTTPConnection, target: str) -> str:
    """``target`` when it is one of samtycke's own addresses, else the start page.

    For an address the client supplies to come back to (a login form's ``next``): a path
    under samtycke's root, never another site (an open redirect) nor another application
    the same reverse proxy serves beside samtycke.
    """
    parts = urlsplit(target)
    base = root(conn)
    if parts.scheme or parts.netloc or not target.startswith(base + "/") or target.startswith("//"):
        return start(conn)
    return target


def on_own_origin(conn: HTTPConnection) -> bool:
    """Whether the page is served where the dashboard, audit and login are (not through the proxy)."""
    app = conn.scope.get("app")
    return getattr(getattr(app, "state", None), "surface", None) is Surface.OWN_ORIGIN


def to_login(conn: HTTPConnection) -> RedirectResponse:
    """To the login form, which comes back to this page afterwards."""
    here = conn.url.path + (f"?{conn.url.query}" if conn.url.query else "")
    return RedirectResponse(href(conn, f"/login?next={quote(here, safe='')}"), status_code=303)


def install(environment: Environment) -> None:
    """Let templates write ``{{ root(request) }}/path`` and ask ``on_own_origin(request)``.

    ``viewer(request)`` is who the page was served to, so the header can offer an admin
    the accounts page.
    """
    environment.globals.update(root=root, on_own_origin=on_own_origin, viewer=viewer)
