"""Cookie enforcement cannot be turned against the site it protects.

``ConsentMiddleware`` expires the cookies a browser sends without consent.  A request
chooses its ``Host``, its path and its cookie names, so each of those must leave the
response bounded: domains come from the configuration, a response expires a bounded
share of the names, a cookie expired lately is not expired again, and one request writes
one log line.  The middleware runs in front of a real ASGI page, driven by a real
cookie jar (Starlette's TestClient is an httpx client).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from consent.enforcement import expiry
from consent.enforcement.middleware import ConsentMiddleware
from consent.enforcement.setcookie import parse
from consent.registry import MAX_PATH_DEPTH
from samtycke.settings import Secret
from samtycke.signing import Signer
from tests.enforcement.conftest import KEY, enforcement_settings

DOMAINS = ["example.se", "www.example.se", "minasidor.example.se"]
PAGE = "/faktura/2026/11"
# What a response may spend, as promised, not as configured in the module under test: at
# most 50 names, in headers that fit a reverse proxy's 4 KB buffer.
MOST_NAMES = 50
PROXY_BUFFER = 4 * 1024


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer([Secret(KEY)])


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def middleware(signer: Signer, clock: Callable[[], float] = time.time, **site: object) -> ConsentMiddleware:
    # No extra cookie paths: the counts below are those of the request path and the registry.
    settings = enforcement_settings(**{"domains": DOMAINS, "cookie_paths": [], **site})
    return ConsentMiddleware(PlainTextResponse("sida"), settings, 1, signer, clock=clock)


def expired_names(response: object) -> list[str]:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    names = []
    for header in headers:
        parsed = parse(header)
        assert parsed is not None and parsed.deletes
        names.append(parsed.name)
    return names


def unknown_cookies(count: int) -> str:
    return "; ".join(f"okand_{n:03d}=v{n}" for n in range(count))


def test_a_host_that_is_not_configured_is_refused_with_421(
    signer: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    app = middleware(signer)
    client = TestClient(app, base_url="http://example.se")
    for host in ("evil.example", "shop.example.se", "a." * 150 + "example.se", "203.0.113.9"):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="samtycke.enforcement"):
            response = client.get("/", headers={"Host": host, "Cookie": unknown_cookies(150)})
        assert response.status_code == 421
        assert response.json()["error"]["code"] == "misdirected_request"
        assert response.headers.get_list("set-cookie") == []
        assert response.text != "sida"  # the site never saw it
        assert len(caplog.records) == 1
        assert "203.0.113.9" not in caplog.text  # an address is never logged
    for host in ("example.se", "WWW.EXAMPLE.SE:8443", "minasidor.example.se."):
        assert client.get("/", headers={"Host": host}).text == "sida"


def test_a_wildcard_domain_serves_its_subdomains(signer: Signer) -> None:
    client = TestClient(middleware(signer, domains=["*.example.se"]))
    assert client.get("/", headers={"Host": "shop.example.se"}).status_code == 200
    assert client.get("/", headers={"Host": "example.se.evil"}).status_code == 421


def test_a_long_host_and_deep_path_do_not_multiply_headers(signer: Signer) -> None:
    """150 cookies, a 150-label host under a wildcard, a 50-segment path: still a bounded response."""
    client = TestClient(middleware(signer, domains=["*.example.se"]))
    headers = {"Host": "a." * 150 + "example.se", "Cookie": unknown_cookies(150)}
    path = "/x" * 50
    for _ in range(3):
        response = client.get(path, headers=headers)
        assert expired_names(response)
        assert sum(len(h) for h in response.headers.get_list("set-cookie")) <= PROXY_BUFFER
    # One name, as often as the browser sends it: "" and example.se, times "/" and the
    # first MAX_PATH_DEPTH ancestors of the path, then nothing.
    sent = []
    for _ in range(4):
        sent += client.get(path, headers={**headers, "Cookie": "ensam=1"}).headers.get_list("set-cookie")
    assert len(sent) == len(set(sent)) == 2 * (MAX_PATH_DEPTH + 1)
    assert {parse(h).attributes.get("domain", "") for h in sent} == {"", "example.se"}  # type: ignore[union-attr]


def test_each_response_expires_a_bounded_share_and_a_real_jar_loses_them_all(signer: Signer) -> None:
    client = TestClient(middleware(signer), base_url="http://minasidor.example.se")
    for n in range(150):
        client.cookies.set(f"okand_{n:03d}", f"v{n}", domain="minasidor.example.se", path="/")
    client.cookies.set("parent_wide", "p", domain=".example.se", path="/")
    client.cookies.set("deep", "d", domain="minasidor.example.se", path="/faktura/2026")
    every = {c.name for c in client.cookies.jar}
    expired: set[str] = set()
    for _ in range(10):
        response = client.get(PAGE)
        names = expired_names(response)
        size = sum(len(h) for h in response.headers.get_list("set-cookie"))
        assert len(set(names)) <= MOST_NAMES
        assert size <= PROXY_BUFFER
        expired |= set(names)
        if not list(client.cookies.jar):
            break
    assert list(client.cookies.jar) == []
    assert expired == every


def test_ten_unknown_cookies_on_a_deep_page_fit_a_proxy_buffer(signer: Signer) -> None:
    client = TestClient(middleware(signer), base_url="http://minasidor.example.se")
    response = client.get(PAGE, headers={"Cookie": unknown_cookies(10)})
    size = sum(len(h) for h in response.headers.get_list("set-cookie"))
    assert 0 < size <= PROXY_BUFFER


def test_a_cookie_expired_lately_is_not_expired_again(signer: Signer) -> None:
    clock = Clock()
    client = TestClient(middleware(signer, clock), base_url="http://minasidor.example.se")
    cookie = {"Cookie": "okand=1"}
    assert set(expired_names(client.get("/", headers=cookie))) == {"okand"}
    # The page's parallel requests still carry it: nothing to repeat.
    for _ in range(3):
        assert expired_names(client.get("/", headers=cookie)) == []
    # A different value is a different cookie (set again since): expired at once.
    assert set(expired_names(client.get("/", headers={"Cookie": "okand=2"}))) == {"okand"}
    # Later on, a cookie still sent is tried again.
    clock.now += expiry.REMEMBER_SECONDS + 1
    assert set(expired_names(client.get("/", headers=cookie))) == {"okand"}


def test_the_memory_of_expired_cookies_stays_bounded_under_a_flood(signer: Signer) -> None:
    app = middleware(signer)
    app.expired = expiry.Memory(capacity=200)
    client = TestClient(app, base_url="http://example.se")
    for round_ in range(20):
        flood = "; ".join(f"f{round_}_{n}=x" for n in range(20))
        assert len(expired_names(client.get("/", headers={"Cookie": flood}))) == 2 * 20
    assert len(app.expired) == 200
    # What was remembered last is still remembered: the oldest went first.
    first, last = ("; ".join(f"f{r}_{n}=x" for n in range(20)) for r in (0, 19))
    assert expired_names(client.get("/", headers={"Cookie": last})) == []
    assert len(expired_names(client.get("/", headers={"Cookie": first}))) == 2 * 20


def test_one_log_line_per_request_without_values(signer: Signer, caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(middleware(signer), base_url="http://minasidor.example.se")
    with caplog.at_level(logging.DEBUG, logger="samtycke.enforcement"):
        client.get(PAGE, headers={"Cookie": unknown_cookies(150)})
    assert len(caplog.records) == 1
    record = caplog.records[0]
    actions = record.actions  # type: ignore[attr-defined]
    assert actions["expired"] + actions["deferred"] == 150
    assert len(record.unknown) <= 5  # type: ignore[attr-defined]
    assert "v1" not in caplog.text
