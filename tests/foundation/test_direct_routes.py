"""Direct routes answer errors exactly as the router does, at the root and under the proxy's prefix.

``/matomo.php`` and ``POST /api/v1/consent`` are dispatched ahead of Starlette's router
(``samtycke.web.routing.DirectRoute``).  Every kind of bad request to them is sent once
straight and once through the router of the same app, and the answers must be the same:
status, JSON body, content type, the headers a client acts on, and the page a browser
gets.  Behind ``samtycke proxy`` the app is mounted under ``/_samtycke`` (and the
banner's own paths are answered at the root too); the answers are the same there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics.ingestion.collector import Collector
from consent.enforcement.proxy import BANNER_PATHS, PREFIX, create_proxy
from consent.recording.choice import InvalidChoice
from consent.web import api as consent_api
from samtycke.logs import request_id
from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.web.app import create_app
from tests.support.config import DEMO_CHOICE, deep_merge, demo_raw, unique_database
from tests.support.ports import free_port

LIMIT = 64 * 1024  # the app's body limit, kept small to keep the requests small
JSON = {"content-type": "application/json"}
WANTS_JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SITE_ORIGIN = {"origin": "https://www.samtycke.test"}
# What a client acts on; the proxy's own Vary additions are compared separately.
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "allow",
    "retry-after",
    "cache-control",
    "access-control-allow-origin",
    "access-control-allow-credentials",
)


@dataclass(frozen=True)
class Bad:
    method: str
    path: str
    status: int
    options: Callable[[], dict[str, Any]] = field(default=dict)  # fresh for each request (streams)


def streamed(size: int) -> Iterator[bytes]:
    """A body sent in chunks without Content-Length, so only reading it finds it too large."""
    for _ in range(size // 8192 + 1):
        yield b"x" * 8192


BAD = {
    "consent not JSON": Bad("POST", "/api/v1/consent", 400, lambda: {"content": b"{nope", "headers": JSON}),
    "consent unknown site": Bad(
        "POST", "/api/v1/consent", 422, lambda: {"json": {**DEMO_CHOICE, "site_id": 99}}
    ),
    "consent foreign origin": Bad(
        "POST",
        "/api/v1/consent",
        403,
        lambda: {"json": DEMO_CHOICE, "headers": {"origin": "https://evil.example"}},
    ),
    "consent error to the site's origin": Bad(
        "POST",
        "/api/v1/consent",
        422,
        lambda: {"json": {**DEMO_CHOICE, "method": "x"}, "headers": SITE_ORIGIN},
    ),
    "consent over the choice limit": Bad(
        "POST", "/api/v1/consent", 413, lambda: {"content": b" " * 17_000 + b"{}", "headers": JSON}
    ),
    "consent over the body limit": Bad(
        "POST", "/api/v1/consent", 413, lambda: {"content": b"x" * (LIMIT + 1)}
    ),
    "consent streamed over the body limit": Bad(
        "POST", "/api/v1/consent", 413, lambda: {"content": streamed(LIMIT), "headers": JSON}
    ),
    "consent log not ready": Bad(
        "POST", "/api/v1/consent", 503, lambda: {"json": DEMO_CHOICE, "headers": SITE_ORIGIN}
    ),
    "consent page asked for": Bad(
        "POST", "/api/v1/consent", 400, lambda: {"content": b"[", "headers": {**JSON, **BROWSER}}
    ),
    "consent wrong method": Bad("PUT", "/api/v1/consent", 405),
    "tracking bad idsite": Bad("GET", "/matomo.php?idsite=abc&rec=1", 400, lambda: {"headers": WANTS_JSON}),
    "tracking page for a browser": Bad(
        "GET", "/matomo.php?idsite=abc&rec=1", 400, lambda: {"headers": BROWSER}
    ),
    "tracking bad bulk": Bad(
        "POST", "/matomo.php", 400, lambda: {"content": b'{"requests": 5}', "headers": WANTS_JSON}
    ),
    "tracking streamed over the body limit": Bad(
        "POST", "/matomo.php", 413, lambda: {"content": streamed(LIMIT), "headers": BROWSER}
    ),
    "tracking wrong method": Bad("DELETE", "/piwik.php", 405, lambda: {"headers": BROWSER}),
}


def through_router(app: Starlette) -> ASGIApp:
    """The same app with every request left to Starlette's router, direct routes included."""

    async def routed(scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(app, scope, receive, send)

    return routed


@dataclass
class Clients:
    direct: TestClient  # the app as it runs
    router: TestClient  # the same app, through Starlette's router
    proxy: TestClient  # samtycke proxy: the app under /_samtycke, the banner's paths also at the root


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory, chdb_path: Path) -> Clients:
    """Apps that are never started: nothing here needs storage, and the consent log stays not ready."""
    raw = deep_merge(
        demo_raw(),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(tmp_path_factory.mktemp("direct") / "data"),
            },
            "server": {"secret_keys": ["test-key-1"], "max_body_bytes": LIMIT},
        },
    )
    settings: Settings = configfile.from_mapping(raw)
    app = create_app(settings)
    proxy = create_proxy(settings, f"http://127.0.0.1:{free_port()}", 1)  # no upstream is asked
    return Clients(
        direct=TestClient(app, base_url="http://localhost"),
        router=TestClient(through_router(app), base_url="http://localhost"),
        proxy=TestClient(proxy, base_url="http://localhost"),
    )


def send(client: TestClient, bad: Bad, path: str) -> httpx.Response:
    return client.request(bad.method, path, **bad.options())


def rendering(response: httpx.Response) -> dict[str, Any]:
    """What a client sees of an error, apart from Vary and the request id's value."""
    media = response.headers.get("content-type", "")
    return {
        "status": response.status_code,
        "body": response.json() if media.startswith("application/json") else response.text,
        "headers": {name: response.headers.get(name) for name in COMPARED_HEADERS},
        "request id": "x-request-id" in response.headers,
    }


def error_of(response: httpx.Response) -> dict[str, Any]:
    """``rendering``, with an HTML page reduced to its error: under the proxy's prefix the page
    links under the prefix and leaves out the links to samtycke's own origin."""
    seen = rendering(response)
    if isinstance(seen["body"], str) and "text/html" in (seen["headers"]["content-type"] or ""):
        seen["body"] = re.findall(r'<p class="error-message">.*?</p>', seen["body"], re.S)
        seen["headers"]["content-length"] = None
    return seen


def vary(response: httpx.Response) -> set[str]:
    return {token.strip().lower() for token in response.headers.get("vary", "").split(",") if token.strip()}


def check_same_answers(clients: Clients, bad: Bad) -> httpx.Response:
    direct = send(clients.direct, bad, bad.path)
    assert direct.status_code == bad.status, direct.text
    routed = send(clients.router, bad, bad.path)
    assert rendering(routed) == rendering(direct)
    assert vary(routed) == vary(direct)

    mounted = send(clients.proxy, bad, PREFIX + bad.path)
    assert error_of(mounted) == error_of(direct)
    assert vary(direct) <= vary(mounted)  # the proxy adds what its own decisions depend on
    if BANNER_PATHS.match(bad.path.split("?")[0]):
        at_root = send(clients.proxy, bad, bad.path)
        assert rendering(at_root) == rendering(mounted)
        assert vary(at_root) == vary(mounted)
    return direct


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_a_bad_request_gets_the_same_answer_straight_and_through_the_router(
    clients: Clients, bad: Bad
) -> None:
    direct = check_same_answers(clients, bad)
    media = direct.headers["content-type"]
    accept = bad.options().get("headers", {}).get("accept", "")
    if "/api/" in bad.path or accept == WANTS_JSON["accept"]:
        assert media == "application/json"
        assert set(direct.json()) == {"error"} and {"code", "message"} <= set(direct.json()["error"])
    else:
        assert media.startswith("text/html")
        assert f"<h1>{bad.status}</h1>" in direct.text and '<header class="top">' in direct.text


class RequestIds(logging.Handler):
    """The request id each record was logged under, read as the log formatter reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), request_id.get()))


@pytest.mark.parametrize(
    "bad",
    [
        Bad("POST", "/api/v1/consent", 500, lambda: {"json": DEMO_CHOICE}),
        Bad("GET", "/matomo.php?idsite=1&rec=1", 500, lambda: {"headers": BROWSER}),
    ],
    ids=["consent", "tracking"],
)
def test_an_unexpected_error_is_answered_alike_and_logged_under_its_request_id(
    clients: Clients, bad: Bad, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(consent_api, "read_json", fail)
    monkeypatch.setattr(Collector, "track", fail)
    handler = RequestIds()
    logger = logging.getLogger("samtycke")
    logger.addHandler(handler)
    try:
        check_same_answers(clients, bad)
        for client, path in (
            (clients.direct, bad.path),
            (clients.router, bad.path),
            (clients.proxy, PREFIX + bad.path),
        ):
            handler.seen.clear()
            response = send(client, bad, path)
            assert response.status_code == 500
            assert ("unexpected error", response.headers["x-request-id"]) in handler.seen
    finally:
        logger.removeHandler(handler)


def test_input_a_domain_refuses_outside_the_consent_api_is_answered_422(clients: Clients) -> None:
    """The app's own answer to an ``Invalid`` that no handler turned into an HTTP error."""

    async def refuse(request: Request) -> Response:
        raise InvalidChoice("lang must be sv or en", field="lang")

    app = clients.direct.app
    assert isinstance(app, Starlette)
    app.router.routes.append(Route("/api/v1/refused-for-the-test", refuse, methods=["GET"]))
    for client in (clients.direct, clients.router):
        answer = client.get("/api/v1/refused-for-the-test")
        assert answer.status_code == 422
        assert answer.json() == {
            "error": {"code": "unprocessable", "message": "lang must be sv or en", "field": "lang"}
        }
