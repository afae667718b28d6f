"""`samtycke proxy` in front of a real upstream: checked with an HTTP client and in Chromium."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page

from consent import consent_default
from consent.enforcement.injection import SCAN_LIMIT, Plan, banner_tag, scan
from consent.enforcement.proxy import create_proxy
from samtycke.settings import Settings
from tests.enforcement.servers import serve
from tests.enforcement.stack import WWW, Stack
from tests.enforcement.test_middleware import stored
from tests.enforcement.upstream import (
    BIG_CHUNK,
    BIG_CHUNKS,
    BOMB_BYTES,
    ETAG,
    HEADLESS_BYTES,
    HTML,
    RANGE_END,
    upstream_app,
)
from tests.support.paths import ARTIFACTS
from tests.support.ports import free_port

TAG = '<script src="/_samtycke/banner.js" data-site="1" defer></script>'
STUB = consent_default.tag()  # the Consent Mode default, first in <head>


def test_html_gets_the_banner_before_head_end(stack: Stack) -> None:
    response = httpx.get(stack.proxy + "/")
    assert response.status_code == 200
    assert TAG + "</head>" in response.text
    assert int(response.headers["content-length"]) == len(response.content)


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
def test_compressed_html_keeps_its_coding_for_a_visitor_who_accepts_it(stack: Stack, path: str) -> None:
    response = httpx.get(stack.proxy + path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["content-encoding"] == path.strip("/")
    assert response.text.startswith(
        "<!doctype html><html><head>" + STUB + "<title>x</title>" + TAG + "</head>"
    )
    assert response.text.endswith("<p>hej</p></body></html>")


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
def test_compressed_html_is_sent_decoded_to_a_visitor_who_does_not_accept_it(stack: Stack, path: str) -> None:
    # The upstream compresses whatever it is offered, as some do.
    response = httpx.get(stack.proxy + path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert response.text.startswith(
        "<!doctype html><html><head>" + STUB + "<title>x</title>" + TAG + "</head>"
    )


EXACT_BYTES = {"content-md5", "repr-digest", "content-range"}


def test_a_changed_page_keeps_only_a_weak_etag_and_no_validator_of_the_upstream_bytes(stack: Stack) -> None:
    direct = httpx.get(stack.upstream + "/validated")
    assert direct.headers["etag"] == ETAG and EXACT_BYTES - {"content-range"} <= set(direct.headers)
    page = httpx.get(stack.proxy + "/validated")
    assert TAG + "</head>" in page.text
    assert page.headers["etag"] == f"W/{ETAG}"
    assert set(page.headers) & EXACT_BYTES == set()
    assert page.headers["accept-ranges"] == "none"
    assert int(page.headers["content-length"]) == len(page.content)
    # The weak tag still revalidates, and the answer does not make the browser's copy strong again.
    again = httpx.get(stack.proxy + "/validated", headers={"If-None-Match": page.headers["etag"]})
    assert (again.status_code, again.headers["etag"]) == (304, f"W/{ETAG}")


def test_a_compressed_changed_page_varies_on_accept_encoding(stack: Stack) -> None:
    for accepted in ("gzip", "identity"):
        page = httpx.get(stack.proxy + "/gzip", headers={"Accept-Encoding": accepted})
        assert TAG in page.text
        assert "accept-encoding" in page.headers["vary"].lower(), accepted


def test_a_byte_range_of_a_page_is_the_upstream_bytes(stack: Stack) -> None:
    part = httpx.get(stack.proxy + "/validated", headers={"Range": f"bytes=0-{RANGE_END}"})
    assert part.status_code == 206
    assert part.content == HTML[: RANGE_END + 1]
    assert part.headers["etag"] == ETAG  # the upstream's bytes, so the upstream's strong tag


def test_pages_without_head_and_with_csp_nonces(stack: Stack) -> None:
    assert "<body class='b'>" + STUB + TAG in httpx.get(stack.proxy + "/nohead").text
    csp = httpx.get(stack.proxy + "/csp")
    assert TAG.replace(" defer>", ' defer nonce="abc123">') in csp.text
    assert consent_default.tag("abc123") in csp.text
    assert csp.headers["content-security-policy"] == "script-src 'self' 'nonce-abc123'"


def test_everything_else_passes_unchanged(stack: Stack) -> None:
    with httpx.Client(follow_redirects=False) as client:
        echo = client.post(
            stack.proxy + "/echo?a=1&b=%C3%A5",
            content=b"body bytes",
            headers={"X-Custom": "kept", "Accept-Encoding": "br, gzip;q=0.5"},
        )
        assert echo.status_code == 201 and echo.headers["x-upstream"] == "yes"
        assert echo.json() == {
            "method": "POST",
            "body": "body bytes",
            "query": "a=1&b=%C3%A5",
            "forwarded_host": stack.proxy.removeprefix("http://"),
            "accept_encoding": "gzip;q=0.5",  # only what the proxy can decode for injection
            "custom": "kept",
        }
        teapot = client.get(stack.proxy + "/teapot")
        assert (teapot.status_code, teapot.text, teapot.headers["x-teapot"]) == (418, "kort och tjock", "1")
        redirect = client.get(stack.proxy + "/redirect")
        assert redirect.status_code == 302 and redirect.headers["location"] == "/target"
        head = client.head(stack.proxy + "/")
        assert head.status_code == 200 and head.content == b""


def test_large_bodies_stream_through(stack: Stack) -> None:
    size = 0
    with httpx.stream("GET", stack.proxy + "/big") as response:
        chunks = 0
        for chunk in response.iter_raw():
            assert chunk == BIG_CHUNK[: len(chunk)] or len(chunk) > 0
            size += len(chunk)
            chunks += 1
    assert size == len(BIG_CHUNK) * BIG_CHUNKS
    assert chunks > 1  # arrived in pieces, not as one buffered body


def test_samtycke_lives_under_its_prefix(stack: Stack) -> None:
    banner = httpx.get(stack.proxy + "/_samtycke/banner.js")
    assert banner.status_code == 200 and "samtycke banner" in banner.text
    config = httpx.get(stack.proxy + "/_samtycke/api/v1/sites/1/consent-config?lang=sv")
    assert config.status_code == 200 and config.json()["site_id"] == 1
    assert httpx.get(stack.proxy + "/_samtycke/healthz").status_code == 200
    tracker = httpx.get(stack.proxy + "/_samtycke/matomo.php")
    assert tracker.status_code == 200


def test_probes_by_address_are_answered_while_pages_for_unknown_hosts_are_not(stack: Stack) -> None:
    by_address = {"Host": "10.0.3.7:8000"}
    assert httpx.get(stack.proxy + "/_samtycke/healthz", headers=by_address).status_code == 200
    assert httpx.get(stack.proxy + "/_samtycke/readyz", headers=by_address).status_code == 200
    assert httpx.get(stack.proxy + "/elpris", headers=by_address).status_code == 421
    assert httpx.get(stack.proxy + "/_samtycke/banner.js", headers=by_address).status_code == 421


def test_cookies_are_enforced_as_the_middleware_does(stack: Stack) -> None:
    direct = httpx.get(stack.upstream + "/elpris")
    assert {"demo_lang", "_pk_id.1.abcd", "demo_ads", "tracker_uid", "demo_stats"} <= stored(direct)
    proxied = httpx.get(stack.proxy + "/elpris")
    assert stored(proxied) == {"demo_session"}
    assert "Cookie" in proxied.headers["vary"]


def test_unreachable_upstream_gets_a_502_page(make_settings: Callable[..., Settings]) -> None:
    app = create_proxy(make_settings(), f"http://127.0.0.1:{free_port()}", 1)
    with serve(app) as url:
        response = httpx.get(url + "/", headers={"Accept-Language": "sv"})
    assert response.status_code == 502
    assert "Webbplatsen svarar inte just nu" in response.text
    assert '<header class="top">' in response.text  # inside the product layout


def test_bad_upstream_url_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="http"):
        create_proxy(make_settings(), "ftp://example.test", 1)


# -- compressed pages that inflate a thousandfold --------------------------------------------------------

MiB = 1024 * 1024


@pytest.fixture
def upstream_and_proxy(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, str]]:
    """The proxy in this process (so tracemalloc sees its allocations) in front of a real upstream."""
    with (
        serve(upstream_app("http://127.0.0.2:9")) as upstream,
        serve(create_proxy(make_settings(), upstream, 1)) as proxy,
    ):
        yield upstream, proxy


@dataclass
class Fetched:
    headers: httpx.Headers
    size: int  # of the body as it came over the wire
    digest: bytes
    head: bytes  # its first decoded bytes
    peak: int  # of Python memory in this process (the proxy's included) meanwhile


def fetch_measured(url: str, accept_encoding: str) -> Fetched:
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    digest = hashlib.sha256()
    size, head = 0, b""
    tracemalloc.start()
    try:
        with httpx.stream("GET", url, headers={"Accept-Encoding": accept_encoding}, timeout=120) as response:
            compressed = response.headers.get("content-encoding") == "gzip"
            for chunk in response.iter_raw():
                size += len(chunk)
                digest.update(chunk)
                if len(head) < 4096:
                    head += inflate.decompress(chunk, 4096) if compressed else chunk[:4096]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Fetched(response.headers, size, digest.digest(), head, peak)


BOMB_HEAD = b"<!doctype html><html><head>" + STUB.encode() + b"<title>bomb</title>"


def test_a_gzip_bomb_is_injected_streaming_and_stays_compressed(upstream_and_proxy: tuple[str, str]) -> None:
    fetched = fetch_measured(upstream_and_proxy[1] + "/bomb", "gzip")
    assert fetched.headers["content-encoding"] == "gzip"
    assert fetched.head.startswith(BOMB_HEAD + TAG.encode() + b"</head>")
    assert fetched.size < 2 * MiB  # it inflates to 64 MiB
    assert fetched.peak < 8 * MiB


def test_a_gzip_bomb_for_a_visitor_without_gzip_streams_decoded_in_bounded_memory(
    upstream_and_proxy: tuple[str, str],
) -> None:
    fetched = fetch_measured(upstream_and_proxy[1] + "/bomb", "identity")
    assert "content-encoding" not in fetched.headers
    assert fetched.head.startswith(BOMB_HEAD + TAG.encode() + b"</head>")
    assert fetched.size == BOMB_BYTES + len(STUB) + len(TAG)
    assert fetched.peak < 8 * MiB


def test_html_without_an_injection_point_near_the_start_passes_unchanged(
    upstream_and_proxy: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    upstream, proxy = upstream_and_proxy
    with caplog.at_level(logging.WARNING, logger="samtycke.proxy"):
        fetched = fetch_measured(proxy + "/headless-bomb", "gzip")
    direct = fetch_measured(upstream + "/headless-bomb", "gzip")
    assert HEADLESS_BYTES > SCAN_LIMIT
    assert (fetched.digest, fetched.headers["content-length"]) == (
        direct.digest,
        direct.headers["content-length"],
    )
    assert fetched.peak < 8 * MiB
    [record] = [r for r in caplog.records if r.name == "samtycke.proxy"]
    assert record.getMessage() == "HTML passed through without the banner"


def scanned(page: bytes, coding: str) -> Plan:
    async def body() -> AsyncIterator[bytes]:
        yield gzip.compress(page) if coding == "gzip" else page

    return asyncio.run(scan(coding, body(), banner_tag(1)))


@pytest.mark.parametrize("coding", ["identity", "gzip"])
def test_a_page_is_injected_once_only(coding: str) -> None:
    once = scanned(b"<html><head></head><body>page</body></html>", coding)
    assert once.injected
    assert once.html == (
        b'<html><head><script src="/_samtycke/banner.js" data-site="1" defer></script></head>'
        b"<body>page</body></html>"
    )
    again = scanned(once.html, coding)
    assert (again.injected, again.reason) == (False, "")


# -- in Chromium ----------------------------------------------------------------------------------------


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def choose(page: Page, action: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/api/v1/consent") and r.request.method == "POST"):
        page.click(f'[data-samtycke-action="{action}"]')


@pytest.mark.browser
def test_proxy_in_chromium(stack: Stack, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context()
    page = context.new_page()
    page.goto(stack.public("/"))
    page.wait_for_selector('[data-samtycke-action="reject-all"]', state="visible")
    page.screenshot(path=str(ARTIFACTS / "proxy-banner.png"))
    assert cookie_names(page) == {"demo_session"}

    choose(page, "accept-all")
    page.goto(stack.public("/elpris"))
    page.wait_for_function("window.samtycke && window.samtycke.get().decided")
    cookies = {c["name"]: c for c in context.cookies()}
    assert {"demo_lang", "_pk_id.1.abcd", "demo_ads", "demo_stats", "samtycke_consent"} <= set(cookies)
    assert cookies["demo_ads"]["domain"] == ".demo.localhost" and cookies["demo_ads"]["httpOnly"]
    assert "tracker_uid" not in cookies  # never declared, never allowed

    # Withdraw everything through the banner's settings layer.
    page.evaluate("window.samtycke.open()")
    page.wait_for_selector('[data-samtycke-action="settings"]', state="visible")
    page.click('[data-samtycke-action="settings"]')
    for box in page.query_selector_all(".stk-sw:not(:disabled)"):
        if box.is_checked():
            box.click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/consent")) as withdrawal:
        page.click('[data-samtycke-action="save"]')
    assert withdrawal.value.all_headers().get("clear-site-data") == '"storage"'
    page.goto(stack.public("/"))
    page.wait_for_function("window.samtycke && window.samtycke.get().decided")
    left = cookie_names(page)
    assert not left & {"demo_lang", "_pk_id.1.abcd", "demo_ads", "demo_stats"}
    assert "samtycke_consent" in left  # the withdrawal itself is remembered
    page.screenshot(path=str(ARTIFACTS / "proxy-after-withdrawal.png"))

    # Erasure forgets the choice too: everything goes.
    with page.expect_response(lambda r: r.request.method == "DELETE") as erasure:
        page.evaluate("fetch('/_samtycke/api/v1/consent', {method: 'DELETE'})")
    headers = erasure.value.all_headers()
    assert erasure.value.status == 200, headers
    assert headers.get("clear-site-data") == '"cookies", "storage"', headers
    page.goto(stack.public("/kundservice"))
    assert not cookie_names(page) & {"samtycke_consent", "demo_lang", "demo_ads"}
    context.close()


def test_public_host_is_the_demo_site(stack: Stack) -> None:
    assert WWW in stack.public()
