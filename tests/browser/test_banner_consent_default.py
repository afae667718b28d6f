"""Google Consent Mode's default comes before any tag, however the page loads the banner.

The pages are a site's own: the README's snippet with the site's inline gtag snippet and a tag
library loaded before the banner, under a strict CSP that allows the stub by the README's hash;
and a site behind `samtycke proxy` (a real upstream and the proxy in a subprocess). The tag
library is a stand-in that writes down the dataLayer it finds when it runs, as gtag.js reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as Path_

from consent import consent_default
from tests.browser.conftest import Site, click_action, open_demo, wait_js
from tests.enforcement.processes import proxy_process
from tests.enforcement.servers import serve
from tests.support.paths import REPO

pytestmark = pytest.mark.browser

WWW = "www.demo.localhost"
GTAG_SNIPPET = """<script nonce="site">
  window.dataLayer = window.dataLayer || [];
  function gtag() { dataLayer.push(arguments); }
  gtag('js', new Date());
  gtag('config', 'G-SITE000000');
</script>"""
# What a tag finds in dataLayer when it runs: the commands, and the state of any consent call.
TAG_JS = """window.seenByTag = window.dataLayer.map(function (a) {
  return a[0] === 'consent' ? ['consent', a[1], a[2]] : [a[0]];
});"""
DENIED = {
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "analytics_storage": "denied",
    "functionality_storage": "denied",
    "personalization_storage": "denied",
    "security_storage": "granted",  # it serves the necessary category
    "wait_for_update": 500,
}


def readme_snippet() -> tuple[str, str, str]:
    """The README's integration snippet (the stub line, the banner line) and the stub's CSP hash."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```html\n(.*?)```", readme, re.S)
    assert block, "the README shows no HTML snippet"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    stub = next((line for line in lines if "'consent','default'" in line), "")
    banner = next((line for line in lines if "banner.js" in line), "")
    assert stub and lines.index(stub) == 0, "the README does not put the Consent Mode default first"
    hashes = re.findall(r"'sha256-[A-Za-z0-9+/=]+'", readme)
    assert len(hashes) == 1, "the README names no single CSP hash for the stub"
    return stub, banner, hashes[0]


def data_layer(page: Page) -> list[list[Any]]:
    entries: list[list[Any]] = page.evaluate(
        "window.dataLayer.map((a) => JSON.parse(JSON.stringify(Array.from(a))))"
    )
    return entries


def commands(entries: list[list[Any]]) -> list[str]:
    return [e[0] if e[0] != "consent" else f"consent {e[1]}" for e in entries]


def serve_site_page(page: Page, site: Site, html: str, csp: str) -> str:
    """The site's own page at /landing on the demo host, with its CSP; the banner is the real one."""
    origin = f"http://{WWW}:{site.port}"

    def landing(route: Route) -> None:
        route.fulfill(
            status=200, content_type="text/html", headers={"Content-Security-Policy": csp}, body=html
        )

    def tag(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=TAG_JS)

    page.route(f"{origin}/landing", landing)
    page.route(f"{origin}/gtag-standin.js", tag)
    return origin + "/landing"


def test_the_readme_hash_is_the_stub_and_the_stub_is_what_the_banner_sets() -> None:
    stub, _, csp_hash = readme_snippet()
    assert stub == consent_default.tag()
    assert csp_hash == consent_default.CSP_HASH
    assert consent_default.defaults() == DENIED


@pytest.mark.parametrize("tag_first", [False, True], ids=["inline-gtag", "gtag-library-first"])
def test_readme_snippet_sets_the_default_before_the_site_s_tags(
    site: Site, page: Page, tag_first: bool
) -> None:
    stub, banner, csp_hash = readme_snippet()
    banner = banner.replace("https://consent.example.se", f"http://{WWW}:{site.port}")
    library = '<script src="/gtag-standin.js"></script>' if tag_first else ""
    html = f"""<!doctype html><html lang="sv"><head>
{stub}
{GTAG_SNIPPET}
{library}
{banner}
</head><body><p>Sida</p></body></html>"""
    # The stub is allowed by the README's hash alone; the site's own script by its nonce.
    csp = f"script-src {csp_hash} 'nonce-site' http://{WWW}:{site.port}; style-src 'self'"
    page.add_init_script("""window.__csp = []; document.addEventListener('securitypolicyviolation',
        (e) => window.__csp.push(e.violatedDirective));""")
    open_demo(page, serve_site_page(page, site, html, csp))

    assert page.evaluate("window.__csp") == []
    entries = data_layer(page)
    assert commands(entries) == ["consent default", "js", "config"]  # the banner adds no second default
    assert entries[0][2] == DENIED
    if tag_first:
        assert page.evaluate("window.seenByTag")[0] == ["consent", "default", DENIED]
    click_action(page, "accept-all")
    assert commands(data_layer(page))[-1] == "consent update"
    assert data_layer(page)[-1][2]["ad_storage"] == "granted"


def test_the_banner_still_sets_the_default_without_the_stub(site: Site, page: Page) -> None:
    open_demo(page, site.url())  # the demo loads the banner first, without the stub
    entries = data_layer(page)
    assert commands(entries)[:3] == ["consent default", "js", "config"]
    assert entries[0][2] == DENIED


def test_security_storage_is_granted_from_the_start_and_never_flips(site: Site, page: Page) -> None:
    open_demo(page, site.url())
    click_action(page, "reject-all")
    page.click(".stk-r")
    click_action(page, "accept-all")
    page.click(".stk-r")
    click_action(page, "reject-all")
    states = [e[2]["security_storage"] for e in data_layer(page) if e[0] == "consent"]
    assert states == ["granted"] * 4


# -- behind samtycke proxy -----------------------------------------------------------------------------

SITE_PAGE = f"""<!doctype html>
<html lang="sv">
<head>
<meta charset="utf-8">
<title>Elpris</title>
{GTAG_SNIPPET.replace(' nonce="site"', "")}
<script src="/gtag-standin.js"></script>
</head>
<body><h1>Elpris</h1><p>En sida med Google-taggen i head.</p></body>
</html>"""


# The same page under a strict policy: its scripts run by the page's nonce, nothing inline otherwise.
STRICT_CSP = "script-src 'nonce-r4nd0mPageNonce' 'self'; style-src 'self'"


def site_with_gtag() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(SITE_PAGE)

    async def strict(request: Request) -> Response:
        html = SITE_PAGE.replace("<script", '<script nonce="r4nd0mPageNonce"')
        return HTMLResponse(html, headers={"Content-Security-Policy": STRICT_CSP})

    async def tag(request: Request) -> Response:
        return Response(TAG_JS, media_type="text/javascript")

    return Starlette(routes=[Path_("/", page), Path_("/strict", strict), Path_("/gtag-standin.js", tag)])


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base: Path = tmp_path_factory.mktemp("proxy-gtag")
    with serve(site_with_gtag()) as upstream, proxy_process(base, upstream) as proxy:
        yield proxy.replace("127.0.0.1", WWW)


def test_proxy_puts_the_default_first_in_head_before_the_site_s_gtag(proxied: str, page: Page) -> None:
    open_demo(page, proxied + "/")
    first = page.evaluate("document.head.firstElementChild.outerHTML")
    assert first == consent_default.tag()
    assert page.evaluate("window.seenByTag")[0] == ["consent", "default", DENIED]
    entries = data_layer(page)
    assert commands(entries) == ["consent default", "js", "config"]
    click_action(page, "reject-all")
    wait_js(page, "window.dataLayer.length === 4")
    assert data_layer(page)[-1][2]["analytics_storage"] == "denied"


def test_proxy_gives_the_default_the_page_s_csp_nonce(proxied: str, page: Page) -> None:
    page.add_init_script("""window.__csp = []; document.addEventListener('securitypolicyviolation',
        (e) => window.__csp.push(e.violatedDirective));""")
    open_demo(page, proxied + "/strict")
    assert page.evaluate("window.__csp") == [], "the stub and the banner run under the page's own policy"
    first = page.evaluate("document.head.firstElementChild.outerHTML")
    assert first == consent_default.tag("r4nd0mPageNonce").replace(' nonce="r4nd0mPageNonce"', ' nonce=""')
    assert page.evaluate("window.seenByTag")[0] == ["consent", "default", DENIED]
    assert commands(data_layer(page)) == ["consent default", "js", "config"]
