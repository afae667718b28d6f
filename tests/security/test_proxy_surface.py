"""What ``samtycke proxy`` puts on the website's origin, and what it sends the website.

Only the visitor surface is served under ``/_samtycke``: the dashboard, audit, login,
the stats, visitor-data, log and admin APIs and ``/metrics`` answer 404 there, even to
an admin.  samtycke's cookies and tokens never reach the upstream.  Every address
samtycke writes respects the prefix it is served under, and none comes from ``Host``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from samtycke.web.surface import Surface, declared
from tests.enforcement.processes import proxy_process
from tests.enforcement.servers import serve
from tests.enforcement.upstream import upstream_app
from tests.support.tokens import ADMIN, ADMIN_TOKEN, TOKENS

# The whole visitor surface, by route path: a route added to it must be added here too.
VISITOR_PATHS = {
    "/matomo.php",
    "/piwik.php",
    "/matomo.js",
    "/piwik.js",
    "/api/v1/sites/{site_id}/consent-config",
    "/api/v1/consent",
    "/api/v1/consent/withdraw",
    "/api/v1/consent/export",
    "/banner.js",
    "/sites/{site_id}/cookies",
    "/sites/{site_id}/policy",
    "/healthz",
    "/readyz",
    "/static",
}


def routes(settings: Settings, surface: Surface = Surface.OWN_ORIGIN) -> list[BaseRoute]:
    return list(create_app(settings, surface=surface).router.routes)


def address(route: BaseRoute) -> str:
    """A request path the route answers: parameters filled in, a file for a mount."""
    path = re.sub(r"\{[^}]+\}", "1", getattr(route, "path", ""))
    return path + "/site.css" if isinstance(route, Mount) else path


def methods(route: BaseRoute) -> list[str]:
    found = sorted(getattr(route, "methods", None) or {"GET"})
    return [m for m in found if m != "HEAD"]


def test_every_route_says_where_it_is_served(settings: Settings) -> None:
    undeclared = [getattr(r, "path", repr(r)) for r in routes(settings) if declared(r) is None]
    assert undeclared == [], "wrap them in samtycke.web.surface.for_visitors or own_origin_only"


def test_the_visitor_surface_is_exactly_what_visitors_need(settings: Settings) -> None:
    assert {getattr(r, "path", "") for r in routes(settings, Surface.VISITOR)} == VISITOR_PATHS


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real upstream and ``samtycke proxy`` in front of it, configured with the test tokens."""
    base: Path = tmp_path_factory.mktemp("surface")
    with (
        serve(upstream_app("http://127.0.0.2:9")) as upstream,
        proxy_process(base, upstream, tokens=TOKENS) as proxy,
    ):
        yield upstream, proxy


def test_the_admin_surface_is_not_reachable_through_the_proxy(
    proxied: tuple[str, str], make_settings: Callable[..., Settings]
) -> None:
    _, proxy = proxied
    own = [r for r in routes(make_settings()) if getattr(r, "path", "") not in VISITOR_PATHS]
    assert {"/dashboard", "/audit", "/metrics", "/api/v1/audit/purge", "/api/v1/stats/query"} <= {
        getattr(r, "path", "") for r in own
    }
    reached = {}
    for route in own:
        for method in methods(route):
            response = httpx.request(method, proxy + "/_samtycke" + address(route), headers=ADMIN)
            if response.status_code != 404:
                reached[f"{method} {address(route)}"] = response.status_code
    assert reached == {}


def test_the_visitor_surface_is_reachable_through_the_proxy(
    proxied: tuple[str, str], make_settings: Callable[..., Settings]
) -> None:
    _, proxy = proxied
    visitor = [r for r in routes(make_settings(), Surface.VISITOR) if isinstance(r, Route | Mount)]
    missing = [
        address(r)
        for r in visitor
        if "GET" in methods(r) and httpx.get(proxy + "/_samtycke" + address(r)).status_code == 404
    ]
    assert missing == []


def test_samtycke_credentials_never_reach_the_upstream(proxied: tuple[str, str]) -> None:
    _, proxy = proxied
    sent = {
        "Cookie": "samtycke_session=s; site=1; samtycke_consent=c; samtycke_state=x; theme=dark",
        "Authorization": f"Bearer {ADMIN_TOKEN}",
    }
    seen = httpx.get(proxy + "/credentials", headers=sent).json()
    assert seen == {"cookie": "site=1; theme=dark", "authorization": None}
    only_ours = httpx.get(proxy + "/credentials", headers={"Cookie": "samtycke_session=s"}).json()
    assert only_ours == {"cookie": None, "authorization": None}
    # The website's own credentials are its business.
    theirs = httpx.get(proxy + "/credentials", headers={"Authorization": "Bearer the-sites-own"}).json()
    assert theirs["authorization"] == "Bearer the-sites-own"


ADDRESS = re.compile(r'\b(?:href|src|action)="([^"#][^"]*)"')


def test_visitor_pages_through_the_proxy_link_under_its_prefix(proxied: tuple[str, str]) -> None:
    _, proxy = proxied
    for path in ("/sites/1/cookies", "/sites/1/policy", "/no-such-page"):
        page = httpx.get(proxy + "/_samtycke" + path, headers={"Accept": "text/html"})
        addresses = ADDRESS.findall(page.text)
        assert addresses, path
        local = [a for a in addresses if a.startswith("/") and not a.startswith("//")]
        assert [a for a in local if not a.startswith("/_samtycke/")] == [], path
        assert not any(word in page.text for word in ('/dashboard"', '/audit"', '/login"')), path


@pytest.fixture
def prefixed(settings: Settings) -> Iterator[TestClient]:
    """samtycke's own app behind a reverse proxy that serves it under /stk."""
    with TestClient(create_app(settings), base_url="http://localhost", root_path="/stk") as client:
        yield client


def test_login_redirects_and_forms_keep_the_prefix(prefixed: TestClient) -> None:
    dashboard = prefixed.get("/stk/dashboard?site=1", follow_redirects=False)
    assert dashboard.headers["location"] == "/stk/login?next=%2Fstk%2Fdashboard%3Fsite%3D1"
    audit = prefixed.get("/stk/audit", follow_redirects=False)
    assert audit.headers["location"] == "/stk/login?next=%2Fstk%2Faudit"
    login = prefixed.get("/stk/login?next=%2Fstk%2Fdashboard").text
    assert 'action="/stk/login"' in login and 'href="/stk/static/site.css"' in login
    assert 'value="/stk/dashboard"' in login
    start = prefixed.get("/stk/").text
    local = [a for a in ADDRESS.findall(start) if a.startswith("/")]
    assert local and [a for a in local if not a.startswith("/stk/")] == []


def test_no_redirect_reflects_the_host_header(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="http://localhost") as client:
        reflected = {}
        for route in app.router.routes:
            for path in (address(route), address(route) + "/"):
                response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
                if "evil.example" in response.headers.get("location", ""):
                    reflected[path] = response.headers["location"]
    assert reflected == {}
