"""What ``samtycke proxy`` puts on the website's origin, and what it sends the website.

Only the visitor surface is served under ``/_samtycke``: the dashboard, audit, login,
the stats, visitor-data and admin APIs, the log's entries and consistency proofs and
``/metrics`` answer 404 there, even to an admin.  samtycke's cookies and tokens never
reach the upstream.  Every address samtycke writes respects the prefix it is served
under, and none comes from ``Host``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from samtycke.accounts.first_run import FirstRun
from samtycke.services import build
from samtycke.settings import Settings
from samtycke.web.app import create_app
from samtycke.web.surface import Surface, declared
from tests.consent.helpers import choice
from tests.enforcement.processes import proxy_process, write_config
from tests.enforcement.servers import serve
from tests.enforcement.upstream import upstream_app
from tests.support.live import wait_ready
from tests.support.ports import free_port
from tests.support.tokens import ADMIN, ADMIN_TOKEN, AUDITOR, TOKENS

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
    "/api/v1/consent/handoff",
    "/api/v1/consent/handoff/redeem",
    "/api/v1/consent/account",
    "/banner.js",
    "/sites/{site_id}/cookies",
    "/sites/{site_id}/policy",
    "/sites/{site_id}/privacy",
    # What the privacy page verifies receipts with.
    "/api/v1/log/checkpoint",
    "/api/v1/log/inclusion",
    "/api/v1/log/keys",
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


@dataclass
class Proxied:
    """A real upstream, and ``samtycke proxy`` in front of it serving samtycke's own origin beside it."""

    upstream: str
    proxy: str  # the website's origin
    admin: str  # samtycke's own origin, from the same process (--admin-port)


def answering(url: str, attempts: int = 300) -> None:
    for _ in range(attempts):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} does not answer")


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    """Configured with the test tokens."""
    base: Path = tmp_path_factory.mktemp("surface")
    admin_port = free_port()
    with (
        serve(upstream_app("http://127.0.0.2:9")) as upstream,
        proxy_process(base, upstream, tokens=TOKENS, options=["--admin-port", str(admin_port)]) as proxy,
    ):
        admin = f"http://127.0.0.1:{admin_port}"
        answering(admin + "/readyz")
        yield Proxied(upstream, proxy, admin)


def test_the_admin_surface_is_not_reachable_through_the_proxy(
    proxied: Proxied, make_settings: Callable[..., Settings]
) -> None:
    proxy = proxied.proxy
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
    proxied: Proxied, make_settings: Callable[..., Settings]
) -> None:
    proxy = proxied.proxy
    visitor = [r for r in routes(make_settings(), Surface.VISITOR) if isinstance(r, Route | Mount)]
    missing = [
        address(r)
        for r in visitor
        if "GET" in methods(r) and httpx.get(proxy + "/_samtycke" + address(r)).status_code == 404
    ]
    assert missing == []


def test_samtycke_credentials_never_reach_the_upstream(proxied: Proxied) -> None:
    proxy = proxied.proxy
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


def test_the_admin_port_serves_samtycke_own_origin_beside_the_proxy(proxied: Proxied) -> None:
    admin = proxied.admin
    with httpx.Client(base_url=admin, follow_redirects=False) as browser:
        asked = browser.get("/dashboard?site=1")
        assert (asked.status_code, asked.headers["location"]) == (303, "/login?next=%2Fdashboard%3Fsite%3D1")
        form = browser.get("/login?next=%2Fdashboard%3Fsite%3D1")
        assert form.status_code == 200 and 'action="/login"' in form.text
        logged_in = browser.post(
            "/login", data={"token": ADMIN_TOKEN, "next": "/dashboard?site=1"}, headers={"Origin": admin}
        )
        assert (logged_in.status_code, logged_in.headers["location"]) == (303, "/dashboard?site=1")
        assert browser.cookies.get("samtycke_session")
        dashboard = browser.get("/dashboard?site=1")
        assert dashboard.status_code == 200 and "/_samtycke" not in dashboard.text
        assert browser.get("/metrics").status_code == 200
        # The same session, and the same token, get nothing on the website's origin.
        for path in ("/_samtycke/dashboard?site=1", "/_samtycke/login", "/_samtycke/metrics"):
            through = httpx.get(proxied.proxy + path, cookies=browser.cookies, headers=ADMIN)
            assert through.status_code == 404, path


def test_a_receipt_recorded_through_the_proxy_is_in_the_audit_on_the_admin_port(proxied: Proxied) -> None:
    recorded = httpx.post(proxied.proxy + "/_samtycke/api/v1/consent", json=choice())
    assert recorded.status_code == 201, recorded.text
    receipt = recorded.json()["receipt"]
    audited = httpx.get(
        proxied.admin + "/api/v1/audit/subject",
        params={"consent_id": receipt["subject"]["consent_id"]},
        headers=AUDITOR,
        timeout=60,
    )
    assert audited.status_code == 200, audited.text
    assert audited.json()["receipt"]["receipt_id"] == receipt["receipt_id"]


def test_stopping_ends_both_servers_and_closes_storage_once(tmp_path: Path) -> None:
    admin_port = free_port()
    with (
        serve(upstream_app("http://127.0.0.2:9")) as upstream,
        proxy_process(tmp_path, upstream, options=["--admin-port", str(admin_port)]) as proxy,
    ):
        answering(f"http://127.0.0.1:{admin_port}/readyz")
    log = (tmp_path / "proxy.log").read_text()
    assert log.count("samtycke stopped") == 1, log
    for url in (proxy, f"http://127.0.0.1:{admin_port}"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/healthz")


def test_an_admin_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    taken = free_port()
    config = write_config(tmp_path)
    with socket.create_server(("127.0.0.1", taken)):
        result = subprocess.run(
            [
                *(sys.executable, "-m", "consent.enforcement.cli", "--upstream", "http://127.0.0.1:9"),
                *("--config", str(config), "--port", str(free_port()), "--admin-port", str(taken)),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert "cannot listen: Address already in use. Choose another --port or --admin-port." in result.stderr
    assert not (tmp_path / "data" / "journal").exists()


ADDRESS = re.compile(r'\b(?:href|src|action)="([^"#][^"]*)"')


def test_visitor_pages_through_the_proxy_link_under_its_prefix(proxied: Proxied) -> None:
    proxy = proxied.proxy
    for path in ("/sites/1/cookies", "/sites/1/policy", "/sites/1/privacy", "/no-such-page"):
        page = httpx.get(proxy + "/_samtycke" + path, headers={"Accept": "text/html"})
        addresses = ADDRESS.findall(page.text)
        assert addresses, path
        local = [a for a in addresses if a.startswith("/") and not a.startswith("//")]
        assert [a for a in local if not a.startswith("/_samtycke/")] == [], path
        assert not any(word in page.text for word in ('/dashboard"', '/audit"', '/login"')), path
    # The privacy page's script calls the API under the prefix, and finds there what it verifies with.
    privacy = httpx.get(proxy + "/_samtycke/sites/1/privacy").text
    assert 'data-root="/_samtycke"' in privacy
    for path in ("/api/v1/log/checkpoint", "/api/v1/log/keys", "/api/v1/log/inclusion?leaf_index=0"):
        assert httpx.get(proxy + "/_samtycke" + path).status_code == 200, path


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


@pytest.fixture
def prefixed_login(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """As ``prefixed``, with the test tokens and storage ready, so logging in works."""
    app = create_app(make_settings(tokens=TOKENS))
    with TestClient(app, base_url="http://localhost", root_path="/stk") as client:
        wait_ready(client)
        yield client


# What a login form is asked to come back to, and where it sends the browser under /stk.
COME_BACK = [
    (None, "/stk/"),
    ("/stk/audit?x=1", "/stk/audit?x=1"),
    ("/elsewhere", "/stk/"),  # another application of the same reverse proxy
    ("/stkother", "/stk/"),
    ("https://evil.example/", "/stk/"),
    ("//evil.example/stk/", "/stk/"),
]


def test_logging_in_and_out_end_under_the_prefix(prefixed_login: TestClient) -> None:
    assert 'name="next" value="/stk/"' in prefixed_login.get("/stk/login").text
    for sent, expected in COME_BACK:
        fields = {"token": ADMIN_TOKEN, **({"next": sent} if sent is not None else {})}
        response = prefixed_login.post("/stk/login", data=fields, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, expected), sent
    out = prefixed_login.post("/stk/logout", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/stk/")


def test_the_first_admin_lands_on_the_start_page_under_the_prefix(settings: Settings) -> None:
    printed: list[str] = []
    services = build(settings)
    services.first_run = FirstRun("http://localhost/stk", printed.append)
    app = create_app(settings, services=services)
    with TestClient(app, base_url="http://localhost", root_path="/stk") as client:
        wait_ready(client)
        for _ in range(300):  # the link is printed once the service has looked for an admin
            if printed:
                break
            time.sleep(0.1)
        assert printed, "no setup link was printed"
        fields = {"name": "root", "password": "correct horse battery", "again": "correct horse battery"}
        created = client.post(urlsplit(printed[-1]).path, data=fields, follow_redirects=False)
    assert (created.status_code, created.headers["location"]) == (303, "/stk/")


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
