"""A network that keeps sending what is refused is answered 429 at once, unread; others are not.

The live test runs a real ``samtycke serve``; its client is on the loopback, which is a
trusted proxy by default, so the address each request forwards for is its network.
"""

from __future__ import annotations

import contextlib
import re
import socket
import tracemalloc
from collections.abc import Callable

import httpx
import pytest

from samtycke.refusals import RefusalBudget
from tests.support.live import LiveServer, read_log

BUDGET = 5
# Addresses in one IPv6 /64 are one network, however many the client rotates through.
ABUSER = [f"2001:db8:47:11::{i:x}" for i in range(1, 100)]
NEIGHBOUR = "2001:db8:47:12::1"  # the next /64: another holder
HIT = "/matomo.php?idsite=1&rec=1&url=http%3A%2F%2Flocalhost%2F"


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def head(server: LiveServer, raw: bytes, source: str = "127.0.0.1") -> tuple[int, dict[str, str]]:
    """The status and headers of the answer to ``raw``, sent as it is on a new connection from ``source``."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=60, source_address=(source, 0)) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused before all was read
            conn.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line, *lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return int(status_line[9:12]), {name.lower(): value for name, value in fields.items()}


def get(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def test_a_network_over_its_budget_is_answered_429_unread_and_others_are_not(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(server={"refusals_per_minute": BUDGET})
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for address in ABUSER[:BUDGET]:
            refused = client.post("/matomo.php", json={"requests": 5}, headers={"x-forwarded-for": address})
            assert refused.status_code == 400

        # A body announced and never sent: the answer cannot have waited for it.
        status, fields = head(
            server,
            b"POST /api/v1/consent HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\nX-Forwarded-For: " + ABUSER[50].encode() + b"\r\n\r\n",
        )
        assert status == 429
        assert 1 <= int(fields["retry-after"]) <= 60
        assert fields["connection"] == "close"

        # Whatever the network sends now is refused, a valid hit too ...
        penalised = client.get(HIT, headers={"x-forwarded-for": ABUSER[60]})
        assert penalised.status_code == 429
        assert penalised.json()["error"]["code"] == "too_many_requests"
        assert "connection" not in penalised.headers
        # ... and once it has kept going past its budget again, it loses the connection each time.
        for address in ABUSER[61 : 61 + BUDGET]:
            penalised = client.get(HIT, headers={"x-forwarded-for": address})
        assert (penalised.status_code, penalised.headers["connection"]) == (429, "close")

        # The next network, and the loopback itself, are served as before.
        assert client.get(HIT, headers={"x-forwarded-for": NEIGHBOUR}).status_code == 200
        assert client.get(HIT).status_code == 200
        posted = client.post("/api/v1/consent", json={}, headers={"x-forwarded-for": NEIGHBOUR})
        assert posted.status_code == 422

    log = read_log(server.log_path)
    # One line per penalised request (the POST, the first GET, the GETs after it), and no address.
    assert len(re.findall("too many refused requests", log)) == 2 + BUDGET
    assert "2001:db8" not in log


def test_the_server_counts_its_own_refusals_and_answers_a_network_over_budget_before_parsing(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # No trusted proxy: the loopback peer is the client, known before a byte is parsed.
    server = live_server_factory(server={"refusals_per_minute": BUDGET, "trusted_proxies": []})
    too_long = (
        b"GET " + HIT.encode() + b"&pad=" + b"x" * 1024 * 1024 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    for _ in range(BUDGET):
        assert head(server, too_long)[0] == 431  # refused by the server before the app sees it
    # Not even HTTP: answered without being parsed.
    status, fields = head(server, b"\x00\x01 not a request\r\n\r\n")
    assert (status, fields["connection"]) == (429, "close")
    assert head(server, get(HIT))[0] == 429
    # Another address is another network.
    assert head(server, get(HIT), "127.0.0.2")[0] == 200
    assert len(re.findall("too many refused requests", read_log(server.log_path))) == 2


def test_refusals_count_over_a_sliding_window() -> None:
    clock = Clock()
    budget = RefusalBudget(3, window=60.0, clock=clock)
    for _ in range(2):
        budget.refused(b"a")
    budget.refused(b"b")
    assert not budget.anyone_over()
    budget.refused(b"a")
    assert budget.anyone_over() and budget.over(b"a") and not budget.over(b"b")
    # Ten seconds into the next window, five sixths of the previous one are within the last minute.
    clock.now += 70
    assert not budget.over(b"a")
    budget.refused(b"a")
    assert budget.over(b"a") and not budget.over(b"b")
    clock.now += 120
    assert not budget.anyone_over()


def test_a_budget_of_zero_counts_nothing() -> None:
    budget = RefusalBudget(0, clock=Clock())
    budget.refused(b"a")
    assert not budget.anyone_over()


def test_memory_is_bounded_under_a_flood_of_networks() -> None:
    clock = Clock()
    budget = RefusalBudget(2, clock=clock, max_keys=1000)
    tracemalloc.start()
    try:
        for window in range(3):
            for i in range(20_000):
                budget.refused(i.to_bytes(8, "big") + bytes([window]))
            clock.now += 60
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two windows of 1,000 networks each, not 60,000 networks.
    assert peak < 1024 * 1024
    # A network first seen while the table was full went uncounted; the earlier ones are counted.
    clock.now += 120
    budget.refused(b"early")
    for i in range(2000):
        budget.refused(i.to_bytes(8, "big"))
    for _ in range(2):
        budget.refused(b"late")
    budget.refused(b"early")
    assert budget.over(b"early") and not budget.over(b"late")


@pytest.mark.parametrize("limit", [1, 50])
def test_retry_after_is_when_the_network_is_under_its_budget_again(limit: int) -> None:
    clock = Clock()
    budget = RefusalBudget(limit, clock=clock)
    for _ in range(limit * 7):
        budget.refused(b"a")
    clock.now += 45
    wait = budget.retry_after(b"a")
    clock.now += wait - 1
    assert budget.over(b"a")
    clock.now += 1
    assert not budget.over(b"a")
