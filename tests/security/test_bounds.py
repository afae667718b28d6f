"""Resource bounds at the edge: every request costs a bounded amount, and bad input is a 4xx.

The app runs in-process on a real embedded ClickHouse; each abuse case is sent as a
client would send it and must get a clear 4xx (never a 500), one log line and no lasting
memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from analytics.ingestion import devices, sources
from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.storage import QueryLimitExceeded, Storage
from samtycke.storage.budget import QueryBudget
from samtycke.web import cors
from samtycke.web.app import create_app
from tests.support.config import DEMO_CHOICE
from tests.support.live import LiveServer, wait_ready
from tests.support.tokens import MARKETER, TOKENS

QUERY = {"site_id": 1, "metrics": ["visitors"], "date_range": "7d"}
FUNNEL = {"site_id": 1, "date_range": "7d", "within": "visit", "steps": [{"page": "/"}, {"page": "/tack"}]}
HIT: dict[str, Any] = {"idsite": 1, "rec": 1, "url": "http://localhost/bounds"}


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, chdb_path: Any) -> Settings:
    from samtycke.settings import loading
    from tests.support.config import deep_merge, demo_raw, unique_database

    data_dir = tmp_path_factory.mktemp("bounds")
    raw = deep_merge(
        demo_raw(tokens=TOKENS),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(data_dir),
            },
            "journal": {"ship_interval": 0.1},
            "server": {"secret_keys": ["bounds-key"]},
        },
    )
    return loading.from_mapping(raw)


@pytest.fixture(scope="module")
def client(module_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(module_settings), base_url="http://localhost") as test_client:
        wait_ready(test_client, timeout=120)
        yield test_client


# -- JSON bodies --------------------------------------------------------------------------------------

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000
HUGE_INT = "9" * 5000  # past Python's 4300-digit limit for int from text
BIG_INT = "9" * 4000  # within it, but past every integer the fields take
HUGE_FLOAT = "1e999999"
LONE_SURROGATE = '"a\\udc80b"'  # a valid JSON escape that is no UTF-8 text


def with_value(document: dict[str, Any], key: str, raw: str) -> str:
    """``document`` as JSON text with ``key``'s value replaced by the raw JSON ``raw``."""
    import json

    marker = "__replaced__"
    text = json.dumps({**document, key: marker})
    return text.replace(f'"{marker}"', raw)


def json_cases(document: dict[str, Any]) -> list[str]:
    cases = [DEEP_ARRAY, DEEP_OBJECT, HUGE_INT, HUGE_FLOAT, '"\\ud800"']
    for key in document:
        for raw in (DEEP_ARRAY, HUGE_INT, BIG_INT, HUGE_FLOAT, "-" + BIG_INT, "1e308", LONE_SURROGATE):
            cases.append(with_value(document, key, raw))
    return cases


JSON_ENDPOINTS: dict[str, tuple[str, dict[str, str], list[str]]] = {
    "consent": ("/api/v1/consent", {}, json_cases(DEMO_CHOICE)),
    "withdraw": ("/api/v1/consent/withdraw", {}, json_cases({"lang": "sv"})),
    "stats": ("/api/v1/stats/query", MARKETER, json_cases(QUERY)),
    "stats_filter": (
        "/api/v1/stats/query",
        MARKETER,
        [with_value(QUERY, "filters", f'[["is", "event:page", [{LONE_SURROGATE}]]]')],
    ),
    "funnel": ("/api/v1/stats/funnel", MARKETER, json_cases(FUNNEL)),
    "bulk": ("/matomo.php", {}, json_cases({"requests": ["?idsite=1&rec=1"]})),
    "goal": ("/api/v1/sites/1/goals", MARKETER, json_cases({"name": "Tack", "page": "/tack*"})),
    "saved_funnel": (
        "/api/v1/sites/1/funnels",
        MARKETER,
        json_cases({"name": "Köp", "steps": FUNNEL["steps"]}),
    ),
}


@pytest.mark.parametrize("endpoint", sorted(JSON_ENDPOINTS))
def test_deep_or_huge_json_is_a_4xx_on_every_endpoint_that_reads_json(
    client: TestClient, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, headers, bodies = JSON_ENDPOINTS[endpoint]
    for body in bodies:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="samtycke"):
            response = client.post(
                path, content=body.encode(), headers={**headers, "content-type": "application/json"}
            )
        assert 400 <= response.status_code < 500, (endpoint, body[:80], response.status_code, response.text)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], body[:80]


STATS_ROUTES = {"query": "/api/v1/stats/query", "funnel": "/api/v1/stats/funnel"}


def padded(document: dict[str, Any], size: int) -> bytes:
    """``document`` as JSON, padded with whitespace to ``size`` bytes: valid, only too large."""
    import json

    text = json.dumps(document).encode()
    return text + b" " * (size - len(text))


def streamed(body: bytes) -> Iterator[bytes]:
    """The body in 4 KiB pieces with no content-length: the limit must hold while reading."""
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


def stats_answer(client: TestClient, route: str, content: Any) -> tuple[int, str, str | None]:
    response = client.post(
        STATS_ROUTES[route], content=content, headers={**MARKETER, "content-type": "application/json"}
    )
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


@pytest.mark.parametrize("route", sorted(STATS_ROUTES))
def test_stats_bodies_over_their_limit_are_413_while_a_smaller_one_is_read(
    client: TestClient, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A body well under the app's 1 MiB limit but over the statistics routes' own.
    body = padded(QUERY if route == "query" else FUNNEL, 200 * 1024)
    with caplog.at_level(logging.INFO, logger="samtycke"):
        assert stats_answer(client, route, body) == (413, "payload_too_large", None)
        assert stats_answer(client, route, streamed(body)) == (413, "payload_too_large", None)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    small = padded(QUERY if route == "query" else FUNNEL, 8 * 1024)
    response = client.post(
        STATS_ROUTES[route], content=small, headers={**MARKETER, "content-type": "application/json"}
    )
    assert response.status_code == 200, response.text


def test_the_stats_query_refuses_bad_bodies_as_the_funnel_route_does(client: TestClient) -> None:
    # Within both routes' limits (the funnel's is 16 KiB), apart from the last.
    deep_object = '{"a":' * 2000 + "1" + "}" * 2000
    bodies = [DEEP_ARRAY, deep_object, "{", "[1, 2", padded({}, 100 * 1024).decode()]
    for body in bodies:
        query, funnel = (stats_answer(client, route, body.encode()) for route in ("query", "funnel"))
        assert query == funnel, body[:40]
        assert 400 <= query[0] < 500, body[:40]


@pytest.mark.parametrize(
    "uadata",
    ["[" * 3000 + "]" * 3000, '{"a":' * 1200 + "1" + "}" * 1200, HUGE_INT[:4500]],
    ids=["deep array", "deep object", "huge int"],
)
def test_client_hints_too_deep_or_huge_count_as_none(client: TestClient, uadata: str) -> None:
    response = client.get("/matomo.php", params={**HIT, "uadata": uadata})
    assert response.status_code == 200, response.text


# -- caches keyed on what clients send ----------------------------------------------------------------


def retained_bytes(action: Callable[[], None]) -> int:
    """Bytes still allocated after ``action`` and a full collection: what it left behind."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        action()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def long_values(count: int, length: int, prefix: str = "") -> Iterator[str]:
    """``count`` distinct strings of ``length`` characters, made one at a time."""
    for n in range(count):
        yield (f"{prefix}{n}-" + "x" * length)[:length]


CACHES: dict[str, Callable[[str], object]] = {
    "user agent": lambda text: devices.detect("Mozilla/5.0 " + text),
    "origin": lambda text: cors.origin_host(f"https://{text}.example.se"),
    "page and referrer": lambda text: sources.classify(
        f"https://example.se/{text}", f"https://other.se/{text}", frozenset({"example.se"})
    ),
    "referrer host": lambda text: sources.classify("https://example.se/", f"https://{text}.se/", frozenset()),
}


@pytest.mark.parametrize("cache", sorted(CACHES))
def test_caches_keep_no_long_client_values(cache: str) -> None:
    """2,000 distinct 8 KB values (each within the header limit) leave next to nothing behind.

    The allowance is the standard library's own ``urlsplit`` cache: 128 entries, at most
    2 MiB of values this long; the header limit is what bounds it.
    """
    call = CACHES[cache]

    def send_all() -> None:
        for value in long_values(2000, 8 * 1024, prefix=cache.replace(" ", "")):
            call(value)

    assert retained_bytes(send_all) < 4 * 1024 * 1024


def test_accept_language_and_user_agent_caches_are_bounded_through_the_collector(client: TestClient) -> None:
    """800 hits with distinct 7 KB values (5.6 MB in all), each within the header line limit, so
    the collector parses every one; what they leave behind is far less than themselves."""
    statuses: set[int] = set()

    def send_all() -> None:
        for n, value in enumerate(long_values(800, 7 * 1024)):
            header = "accept-language" if n % 2 else "user-agent"
            statuses.add(client.get("/matomo.php", params=HIT, headers={header: f"sv-{value}"}).status_code)

    assert retained_bytes(send_all) < 2 * 1024 * 1024
    assert statuses == {200}  # served, not refused at the header limit before any cache saw them


# -- request headers ------------------------------------------------------------------------------------


def test_a_multi_megabyte_header_is_refused_with_431_and_one_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get(
            "/matomo.php", params=HIT, headers={"user-agent": "Mozilla/5.0 " + "x" * 4_000_000}
        )
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    assert response.json()["error"]["field"] == "user-agent"
    lines = [r for r in caplog.records if r.name.startswith("samtycke")]
    assert [r.getMessage() for r in lines] == ["request headers too large"]
    assert "x" * 100 not in caplog.text and "testclient" not in caplog.text


def test_many_headers_within_the_line_limit_are_refused_past_the_block_limit(client: TestClient) -> None:
    headers = {f"x-pad-{n}": "y" * 4000 for n in range(5)}
    assert client.get("/healthz", headers=headers).status_code == 431


def test_headers_of_a_real_browser_size_are_served(client: TestClient) -> None:
    cookies = "; ".join(f"cookie{n}={'v' * 60}" for n in range(80))  # about 5.8 KB
    response = client.get("/api/v1/consent", headers={"cookie": cookies, "accept-language": "sv-SE,sv;q=0.9"})
    assert response.status_code == 200


def test_header_memory_stays_bounded_for_multi_megabyte_headers(client: TestClient) -> None:
    """30 requests with distinct 4 MB User-Agent, Accept-Language and Origin headers."""

    def send_all() -> None:
        for n, value in enumerate(long_values(30, 4 * 1024 * 1024)):
            if n % 3 == 0:
                client.get("/matomo.php", params=HIT, headers={"user-agent": value})
            elif n % 3 == 1:
                client.get("/matomo.php", params=HIT, headers={"accept-language": "sv-" + value})
            else:
                client.get("/api/v1/sites/1/consent-config", headers={"origin": f"https://{value}.se"})

    assert retained_bytes(send_all) < 4 * 1024 * 1024


def test_samtycke_serve_refuses_a_huge_header_block_before_buffering_it(live_server: LiveServer) -> None:
    """Against the real server: the head is cut off at the limit, not read to its end, while a
    tracking hit with a long query string (which has its own, larger limit) still counts."""
    long_hit = {
        **HIT,
        "url": "http://localhost/" + "p" * 7000,
        "urlref": "https://example.se/?q=" + "r" * 7000,
    }
    assert httpx.get(f"{live_server.url}/matomo.php", params=long_hit, timeout=30).status_code == 200
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=30) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ")
        sent = 0
        try:
            while sent < 64 * 1024 * 1024:
                conn.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # the server closed the connection: what this test wants
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert sent < 8 * 1024 * 1024


# -- consent writes per client network ---------------------------------------------------------------------


def test_consent_writes_are_limited_per_client_network(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """Five writes a minute here; an IPv4 address is one network, and so is an IPv6 /64."""
    settings = make_settings(consent={"writes_per_minute": 5})
    # From a trusted proxy (loopback), which names each client in X-Forwarded-For.
    with TestClient(
        create_app(settings), base_url="http://localhost", client=("127.0.0.1", 50000)
    ) as proxied:
        wait_ready(proxied, timeout=120)

        def write(client_address: str, path: str = "/api/v1/consent") -> Any:
            return proxied.post(path, json=DEMO_CHOICE, headers={"x-forwarded-for": client_address})

        with caplog.at_level(logging.INFO):
            assert [write("203.0.113.7").status_code for _ in range(5)] == [201] * 5
            refused = write("203.0.113.7")
            withdraw = write("203.0.113.7", "/api/v1/consent/withdraw")
            assert [write(f"2001:db8:1:2::{n}").status_code for n in range(1, 7)] == [201] * 5 + [429]
            assert write("203.0.113.8").status_code == 201
            assert write("2001:db8:1:3::1").status_code == 201
    assert refused.status_code == 429 and withdraw.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "203.0.113" not in caplog.text and "2001:db8" not in caplog.text


# -- statistics queries --------------------------------------------------------------------------------------

HEAVY = "SELECT count(), uniqExact(number) FROM numbers(100000000)"


def budget(storage: Storage, **limits: Any) -> QueryBudget:
    defaults: dict[str, Any] = {
        "concurrency": 2,
        "queue_seconds": 5.0,
        "max_execution_time": 30.0,
        "max_memory_usage": 1024**3,
    }
    return QueryBudget(storage, **{**defaults, **limits})


@pytest.mark.parametrize(
    ("limits", "limit", "setting"),
    [
        ({"max_execution_time": 0.05}, "time", "stats_max_execution_time"),
        ({"max_memory_usage": 1024 * 1024}, "memory", "stats_max_memory_bytes"),
    ],
    ids=["time", "memory"],
)
def test_report_queries_carry_clickhouse_limits_and_name_the_one_they_hit(
    storage: Storage, limits: dict[str, Any], limit: str, setting: str
) -> None:
    with pytest.raises(QueryLimitExceeded) as caught:
        asyncio.run(budget(storage, **limits).aquery(HEAVY))
    assert caught.value.limit == limit and setting in caught.value.message
    assert caught.value.retry_after
    assert asyncio.run(budget(storage).aquery("SELECT 1")) == [(1,)]  # the pooled client still serves


def test_a_stats_query_past_its_limit_is_a_503_naming_the_limit(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(tokens=TOKENS, analytics={"stats_max_memory_bytes": 1024 * 1024})
    with TestClient(create_app(settings), base_url="http://localhost") as limited:
        wait_ready(limited, timeout=120)
        services: Services = limited.app.state.services  # type: ignore[attr-defined]
        # Enough distinct visitors that counting them needs more than a mebibyte.
        services.storage.command(
            "INSERT INTO events (site_id, timestamp, kind, visitor_id, visit_id, pathname) "
            "SELECT 1, now() - number % 86400, 'pageview', number, number, "
            "concat('/p', toString(number % 5000)) FROM numbers(300000)"
        )
        response = limited.post(
            "/api/v1/stats/query",
            json={**QUERY, "metrics": ["visitors"], "dimensions": ["event:page"], "date_range": "7d"},
            headers=MARKETER,
        )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "query_limit_exceeded"
    assert "stats_max_memory_bytes" in response.json()["error"]["message"]
    assert response.headers["retry-after"]


def test_stats_queries_past_the_concurrency_cap_wait_briefly_then_get_503(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(tokens=TOKENS, analytics={"stats_concurrency": 1, "stats_queue_seconds": 0.2})
    with TestClient(create_app(settings), base_url="http://localhost") as capped:
        wait_ready(capped, timeout=120)
        services: Services = capped.app.state.services  # type: ignore[attr-defined]
        assert capped.portal is not None
        with capped.portal.wrap_async_context_manager(services.reports.turn()):  # another marketer's query
            busy = capped.post("/api/v1/stats/query", json=QUERY, headers=MARKETER)
            realtime = capped.get("/api/v1/stats/realtime", params={"site_id": 1}, headers=MARKETER)
            hit = capped.get("/matomo.php", params=HIT)
        served = capped.post("/api/v1/stats/query", json=QUERY, headers=MARKETER)
    assert busy.status_code == realtime.status_code == 503
    assert busy.json()["error"]["code"] == "too_many_queries" and busy.headers["retry-after"] == "2"
    assert hit.status_code == 200  # the collector does not wait for statistics
    assert served.status_code == 200
