"""Abuse cases against every endpoint anyone may call without logging in.

Each public endpoint (taken from the route matrix: every route an anonymous caller is
served by) gets oversized and malformed headers, query strings and bodies, bulk tracking
requests and deep JSON, as a hostile client would send them.  Each case must be answered
with a 4xx when the request is refused, never a 500; it must cost a bounded amount of
memory; and it must leave exactly one log line, which names neither the client's address
nor the one it claims to forward for.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import re
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from samtycke.logs import JSONFormatter
from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.security.test_route_matrix import MATRIX, Row
from tests.support.live import LiveServer, wait_ready

PEER = "203.0.113.77"  # the client's own address
FORWARDED = "2001:db8:4711::9"  # the address it claims a proxy forwarded for
MEMORY_BOUND = 32 * 1024 * 1024  # generous: the largest case sends about 2 MiB

# Public: an anonymous caller is served, not refused for lack of credentials (401) or sent to
# the login form (a page's 303); the login form and logout themselves are public.
PUBLIC = sorted(
    (method, path)
    for (method, path), row in MATRIX.items()
    if row.anonymous != 401 and not (method == "GET" and row.anonymous == 303)
)
# Of those, the endpoints that read a request body; the others never look at one.
BODY_READERS = {
    ("POST", "/matomo.php"),
    ("POST", "/piwik.php"),
    ("POST", "/api/v1/consent"),
    ("POST", "/api/v1/consent/withdraw"),
    ("POST", "/login"),
}
BULK = [key for key in PUBLIC if key in BODY_READERS and key[1].endswith(".php")]


@dataclass(frozen=True)
class Case:
    """A hostile request: what to add to a valid one, and whether it must be refused."""

    name: str
    build: Callable[[Row], dict[str, Any]]
    refused: Callable[[tuple[str, str]], bool]


def always(_: tuple[str, str]) -> bool:
    return True


def never(_: tuple[str, str]) -> bool:
    return False


def reads_body(key: tuple[str, str]) -> bool:
    return key in BODY_READERS


def tracks(key: tuple[str, str]) -> bool:
    return key[0] in ("GET", "POST") and key[1].endswith(".php")


def headers(**extra: str) -> Callable[[Row], dict[str, Any]]:
    return lambda row: {"headers": extra}


DEEP = "[" * 100_000 + "]" * 100_000

CASES = [
    # Oversized: refused whatever the endpoint.
    Case("one huge header", headers(**{"x-filler": "a" * 64 * 1024}), always),
    Case(
        "a huge header block",
        lambda row: {"headers": {f"x-filler-{i}": "a" * 1000 for i in range(200)}},
        always,
    ),
    Case(
        "a cookie of five thousand names", headers(cookie="; ".join(f"c{i}=1" for i in range(5000))), always
    ),
    Case("a huge User-Agent", headers(**{"user-agent": "Mozilla/5.0 " * 10_000}), always),
    # A query string is read where it is used: a tracking hit may carry up to 64 KiB (longer
    # ones are refused at the server's edge, below) but not thousands of parameters.
    Case("a long query string", lambda row: {"params": {**row.params, "pad": "x" * 60_000}}, never),
    Case(
        "thousands of query parameters",
        lambda row: {"params": {**row.params, **{f"p{i}": "1" for i in range(5000)}}},
        tracks,
    ),
    # Malformed: an optional header or parameter that makes no sense is ignored or refused, never a 500.
    Case(
        "malformed headers",
        headers(
            cookie="samtycke_consent=%%%.;samtycke_state={[; samtycke_session=..; =; ;;",
            **{
                "accept-language": "*;q=NaN,,;q=,xx-99999999999;q=1e999",
                "user-agent": "\t(\x7f",
                "sec-ch-ua": '"\\"; v="9' + "9" * 500,
                "sec-ch-ua-full-version-list": "((((((((",
                "if-none-match": 'W/"' * 50,
                "x-forwarded-for": "not-an-address, , 999.1.1.1",
                "forwarded": "for=;proto=gopher;;by",
                "x-forwarded-proto": "gopher",
                "sec-gpc": "yes please",
                "x-request-id": "../../etc/passwd\x01",
                "accept": "*/*;q=\x01",
            },
        ),
        never,
    ),
    Case(
        "malformed query parameters",
        lambda row: {
            "params": {
                **row.params,
                "site_id": "1e999",
                "idsite": "-0x1",
                "leaf_index": "99999999999999999999999",
                "tree_size": "-1",
                "first": "%",
                "start": "NaN",
                "format": "\x00",
                "lang": "xx" * 100,
                "url": "http://[::1",
                "_cvar": "{" * 2000,
                "uadata": "[" * 5000,
                "res": "9" * 5000 + "x1",
                "h": "99",
                "cdt": "-99999999999999",
            }
        },
        never,
    ),
    # Bodies: refused by every endpoint that reads one; the others do not read it at all.
    Case("a body over the limit", lambda row: {"content": b"a" * (2 * 1024 * 1024)}, always),
    Case(
        "a body that is not what it says",
        lambda row: {"content": b"\xff\xfe{[\x00%", "headers": {"content-type": "application/json"}},
        reads_body,
    ),
    Case(
        "deep JSON",
        lambda row: {"content": DEEP, "headers": {"content-type": "application/json"}},
        reads_body,
    ),
    Case(
        "a form of thousands of fields",
        lambda row: {"content": "&".join(f"f{i}=1" for i in range(50_000))},
        reads_body,
    ),
]


def bulk(entries: Any, **document: Any) -> Callable[[Row], dict[str, Any]]:
    body = json.dumps({"requests": entries, **document})
    return lambda row: {"content": body, "headers": {"content-type": "application/json"}}


HIT = "?idsite=1&rec=1&url=http%3A%2F%2Flocalhost%2F"
INVALID_HITS = ["?idsite=abc&rec=1", "?rec=1", "%%%", {"idsite": {"a": [1]}, "rec": 1}, "?idsite=999&rec=1"]
BULK_CASES = [
    Case("more bulk requests than allowed", bulk([HIT] * 5000), always),
    Case("bulk requests that are not requests", bulk([1, None, [], True, 2.5]), always),
    # Entries that are not hits leave the bulk well-formed: its summary counts them as invalid.
    Case("bulk requests of nested objects", bulk([{"idsite": {"a": [1]}, "rec": 1}]), never),
    Case("bulk requests not in a list", bulk({"0": HIT}), always),
    Case("bulk requests of deep JSON", lambda row: {"content": '{"requests": ' + DEEP + "}"}, always),
    Case(
        "bulk requests with a huge number",
        lambda row: {"content": '{"requests": [' + "9" * 5000 + "]}"},
        always,
    ),
    Case("bulk requests of invalid hits", bulk(INVALID_HITS), never),
    Case("a bulk request of a thousand invalid hits", bulk(["?rec=1"] * 1000), always),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, chdb_path: Any) -> Starlette:
    from samtycke.settings import loading
    from tests.support.config import deep_merge, demo_raw, unique_database

    raw = deep_merge(
        demo_raw(),
        {
            "storage": {
                "clickhouse_url": f"chdb://{chdb_path}",
                "database": unique_database(),
                "data_dir": str(tmp_path_factory.mktemp("abuse")),
            },
            "journal": {"ship_interval": 0.1},
            # The client is a trusted proxy, so the address it forwards is one samtycke would use.
            # Every case comes from that one network: its budget of refusals must outlast them
            # all, or later cases would meet the penalty (tests/security/test_penalty.py) instead.
            "server": {
                "secret_keys": ["abuse-key"],
                "trusted_proxies": [f"{PEER}/32"],
                "refusals_per_minute": 1_000_000,
            },
        },
    )
    settings: Settings = loading.from_mapping(raw)
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://localhost", client=(PEER, 50000)) as test_client:
        wait_ready(test_client, timeout=120)
        yield test_client


def send(
    client: TestClient, caplog: pytest.LogCaptureFixture, key: tuple[str, str], case: Case
) -> tuple[int, int, list[logging.LogRecord]]:
    """The status, the peak of traced memory while it was answered, and what was logged."""
    method, path = key
    row = MATRIX[key]
    request: dict[str, Any] = {"params": row.params, "headers": {}}
    if row.json is not None:
        request["json"] = row.json
    if row.data is not None:
        request["data"] = row.data
    built = case.build(row)
    if "content" in built:
        request.pop("json", None)
        request.pop("data", None)
    request.update({k: v for k, v in built.items() if k != "headers"})
    request["headers"] = {"x-forwarded-for": FORWARDED, **row.headers, **built.get("headers", {})}
    gc.collect()
    with caplog.at_level(logging.INFO):
        caplog.clear()
        tracemalloc.start()
        try:
            response = client.request(method, row.path or path, follow_redirects=False, **request)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            client.cookies.clear()
        records = list(caplog.records)
    return response.status_code, peak, records


def judge(key: tuple[str, str], case: Case, status: int, peak: int, records: list[logging.LogRecord]) -> None:
    if case.refused(key):
        assert 400 <= status < 500, f"{case.name} against {key}: {status}, not a 4xx"
    else:
        assert status < 500, f"{case.name} against {key}: {status}"
    assert peak < MEMORY_BOUND, f"{case.name} against {key}: {peak / 2**20:.1f} MiB traced"
    # The shipper logs on its own schedule and the test client logs what it sent; neither is the request's.
    lines = [
        JSONFormatter().format(r)
        for r in records
        if r.name.startswith("samtycke") and r.name != "samtycke.shipper"
    ]
    assert len(lines) == 1, f"{case.name} against {key}: {len(lines)} log lines:\n" + "\n".join(lines)
    for address in (PEER, FORWARDED, "2001:db8:4711:"):
        assert address not in lines[0], f"{case.name} against {key} logged an address: {lines[0]}"
    assert not re.search(r"\b203\.0\.113\.\d+\b", lines[0])


def carries_body(case: Case) -> bool:
    return "content" in case.build(MATRIX[PUBLIC[0]])


# Bodies go to the endpoints whose method has one; GET, HEAD and OPTIONS bodies nothing reads.
ABUSES = [
    (key, case)
    for key in PUBLIC
    for case in CASES
    if not carries_body(case) or key[0] in ("POST", "PUT", "PATCH", "DELETE")
]


@pytest.mark.parametrize(("key", "case"), ABUSES, ids=[f"{m} {p}: {case.name}" for (m, p), case in ABUSES])
def test_abuse_of_every_public_endpoint_is_answered_cheaply(
    client: TestClient, caplog: pytest.LogCaptureFixture, key: tuple[str, str], case: Case
) -> None:
    judge(key, case, *send(client, caplog, key, case))


@pytest.mark.parametrize("case", BULK_CASES, ids=[c.name for c in BULK_CASES])
@pytest.mark.parametrize("key", BULK, ids=[p for _, p in BULK])
def test_abusive_bulk_tracking_is_a_4xx(
    client: TestClient, caplog: pytest.LogCaptureFixture, key: tuple[str, str], case: Case
) -> None:
    judge(key, case, *send(client, caplog, key, case))


def test_every_public_endpoint_is_abused() -> None:
    # The public endpoints include the tracking endpoints, the consent API and the login form.
    assert {("POST", "/matomo.php"), ("POST", "/api/v1/consent"), ("POST", "/login")} <= set(PUBLIC)
    assert set(PUBLIC) >= BODY_READERS


@pytest.mark.parametrize("key", BULK, ids=[p for _, p in BULK])
def test_bulk_entries_that_are_not_hits_are_counted_invalid(client: TestClient, key: tuple[str, str]) -> None:
    response = client.post(key[1], json={"requests": [HIT, *INVALID_HITS]})
    summary = response.json()
    assert (response.status_code, summary["tracked"], summary["invalid"]) == (200, 1, len(INVALID_HITS))
    assert summary["invalid_indices"] == list(range(1, len(INVALID_HITS) + 1))


def raw_status(server: LiveServer, path: str, query_bytes: int) -> int:
    """The status of a GET with a query string of ``query_bytes``, sent to the real server."""
    head = f"GET {path}?idsite=1&rec=1&pad=".encode() + b"x" * query_bytes
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused mid-line
            conn.sendall(head + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return int(conn.recv(64)[9:12])


def test_request_lines_past_every_limit_are_refused_by_the_server(live_server: LiveServer) -> None:
    # Past what the collector reads (64 KiB) but within the edge's allowance: the collector refuses it.
    assert raw_status(live_server, "/matomo.php", 66 * 1024) == 400
    # Past the edge's allowance for the request line: refused whatever the path.
    statuses = {
        path: raw_status(live_server, path, 1024 * 1024)
        for path in ("/matomo.php", "/api/v1/consent", "/banner.js", "/healthz")
    }
    assert statuses == dict.fromkeys(statuses, 431)
    assert live_server.process is not None and live_server.process.poll() is None
