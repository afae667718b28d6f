"""Withdrawal expires cookies on every path the site is known to use, not only the page's own.

A script sees only the cookies of its page's path and the browser tells it none's path, so a
cookie set under ``/demo/embed`` (the demo's embedded player, a configured ``cookie_paths``
entry) is invisible from ``/demo``; the banner expires it there by name.  A path nobody
declared is seen by the server alone, in the requests the cookie comes with: ``samtycke proxy``
(and ``ConsentMiddleware``) expires it there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as Path_

from tests.browser.conftest import WWW, Site, click_action, open_demo, wait_js
from tests.enforcement.processes import proxy_process
from tests.enforcement.servers import serve

pytestmark = pytest.mark.browser

GATED = {"demo_lang", "demo_stats", "demo_ads", "demo_retarget"}


def jar(page: Page) -> set[tuple[str, str]]:
    """(name, path) of every gated cookie, on any path."""
    return {(c["name"], c["path"]) for c in page.context.cookies() if c["name"] in GATED}


def test_reject_all_expires_gated_cookies_on_the_site_s_other_paths(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "accept-all")
    wait_js(page, "(window.demoRan || []).length === 3")
    page.frame_locator("iframe[data-category]").locator("body").wait_for()
    # The player has set its cookie on its own path; a statistics cookie lives there too.
    page.context.add_cookies(
        [
            {
                "name": "demo_stats",
                "value": "embed",
                "domain": WWW,
                "path": "/demo/embed",
                "expires": time.time() + 3600,
            }
        ]
    )
    for _ in range(200):
        if ("demo_retarget", "/demo/embed") in jar(page):
            break
        page.wait_for_timeout(25)
    before = jar(page)
    assert {("demo_retarget", "/demo/embed"), ("demo_stats", "/demo/embed")} <= before
    assert "demo_stats=embed" not in page.evaluate("document.cookie")  # invisible from /demo

    page.click(".stk-r")
    click_action(page, "reject-all")
    assert jar(page) == set()


# -- behind samtycke proxy: paths the server sees ---------------------------------------------------

PAGE = """<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Konto</title></head>
<body><h1>Mitt konto</h1><p>Fakturor och avtal.</p></body></html>"""


def site_with_an_account_area() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    return Starlette(routes=[Path_("/", page), Path_("/konto/fakturor", page)])


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("proxy-paths")
    with serve(site_with_an_account_area()) as upstream, proxy_process(base, upstream) as proxy:
        yield proxy.replace("127.0.0.1", WWW)


def http_only(path: str, value: str) -> SetCookieParam:
    return {
        "name": "demo_ads",
        "value": value,
        "domain": WWW,
        "path": path,
        "httpOnly": True,  # set by a server: no script can expire it
        "expires": time.time() + 3600,
    }


def test_the_server_expires_a_cookie_on_the_site_s_configured_paths_from_any_page(
    proxied: str, page: Page
) -> None:
    """The same marketing cookie at ``/`` and under the configured ``/demo/embed``: the first page
    the visitor loads after refusing, at ``/``, expires both, though only the first was sent."""
    page.context.add_cookies([http_only("/", "root"), http_only("/demo/embed", "embed")])
    open_demo(page, proxied + "/")
    click_action(page, "reject-all")
    open_demo(page, proxied + "/")
    assert jar(page) == set()


def test_the_server_expires_a_cookie_on_a_path_only_its_requests_reveal(proxied: str, page: Page) -> None:
    """An HttpOnly marketing cookie under ``/konto``, a path nobody declared: no script can expire
    it, and from ``/`` it is not even sent. Once the visitor has refused and a page under
    ``/konto`` is requested, the proxy sees the cookie there and expires it on that page's paths."""
    page.context.add_cookies([http_only("/konto", "konto")])
    open_demo(page, proxied + "/")
    click_action(page, "reject-all")
    assert jar(page) == {("demo_ads", "/konto")}  # out of the banner's reach
    for _ in range(2):  # the first answer expires the known paths, the next the request's own
        open_demo(page, proxied + "/konto/fakturor")
    assert jar(page) == set()
