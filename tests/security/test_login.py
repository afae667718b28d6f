"""Logging in cannot stall the server, and guessing is throttled per network, per account and overall."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from samtycke.clientip import network, parse
from samtycke.settings import Settings
from samtycke.web.app import create_app
from samtycke.web.login import EVERYONE, PER_ACCOUNT, PER_NETWORK, Login
from tests.support.live import wait_ready
from tests.support.tokens import TOKENS

PASSWORD = "correct horse battery"
HIT = "/matomo.php?idsite=1&rec=1&url=http%3A%2F%2Flocalhost%2F&send_image=0"


@pytest.fixture
def login_settings(make_settings: Callable[..., Settings]) -> Settings:
    hashed = PasswordHasher().hash(PASSWORD)
    return make_settings(tokens=TOKENS, users=[{"name": "anna", "role": "admin", "password_argon2": hashed}])


@pytest.fixture
def app(login_settings: Settings) -> Starlette:
    return create_app(login_settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    # From the loopback address, a trusted proxy by default: X-Forwarded-For is believed.
    with TestClient(app, base_url="http://localhost", client=("127.0.0.1", 50000)) as test_client:
        wait_ready(test_client)
        yield test_client


def attempt(client: TestClient, address: str, name: str = "anna", password: str = "wrong") -> int:
    response = client.post(
        "/login", data={"name": name, "password": password}, headers={"x-forwarded-for": address}
    )
    return response.status_code


def test_a_collector_hit_is_answered_while_concurrent_logins_are_still_hashing(app: Starlette) -> None:
    finished: list[str] = []

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
        ):

            async def login(i: int) -> None:
                await client.post(
                    "/login",
                    data={"name": f"user{i}", "password": PASSWORD},
                    headers={"x-forwarded-for": f"198.51.100.{i + 1}"},
                )
                finished.append(f"login {i}")

            async def hit() -> None:
                response = await client.get(HIT)
                assert response.status_code < 300, response.text
                finished.append("hit")

            logins = [asyncio.create_task(login(i)) for i in range(12)]
            await asyncio.sleep(0)  # every login has started before the hit is sent
            await hit()
            await asyncio.gather(*logins)

    asyncio.run(scenario())
    # On the event loop, each argon2 check holds every other request up: the hit would come last.
    assert finished.index("hit") < 11, finished


def test_addresses_of_one_ipv6_64_are_throttled_as_one_client(client: TestClient) -> None:
    limit = PER_NETWORK[0]
    statuses = [attempt(client, f"2001:db8:7:7::{i + 1:x}", name=f"user{i}") for i in range(limit + 2)]
    assert statuses == [401] * limit + [429, 429]


def test_ipv4_neighbours_are_separate_clients(client: TestClient) -> None:
    limit = PER_NETWORK[0]
    statuses = [attempt(client, "192.0.2.1", name=f"user{i}") for i in range(limit + 1)]
    assert statuses[-1] == 429
    assert attempt(client, "192.0.2.2", name="someone") == 401


def test_one_account_is_throttled_across_networks(client: TestClient) -> None:
    limit = PER_ACCOUNT[0]
    statuses = [attempt(client, f"2001:db8:{i + 1:x}::1") for i in range(limit + 2)]
    assert statuses == [401] * limit + [429, 429]
    response = client.post(
        "/login", data={"name": "anna", "password": PASSWORD}, headers={"x-forwarded-for": "2001:db8:ff::1"}
    )
    assert response.status_code == 429, "the right password waits too: the throttle comes first"
    assert int(response.headers["retry-after"]) > 0
    assert attempt(client, "2001:db8:ff::1", name="bo") == 401, "other accounts still log in"


def test_all_logins_together_are_throttled(client: TestClient) -> None:
    # Tokens are checked without argon2, so the overall limit is reached quickly.
    limit = EVERYONE[0]
    statuses = [
        client.post(
            "/login", data={"token": f"guess-{i}"}, headers={"x-forwarded-for": f"2001:db8:{i + 1:x}::1"}
        ).status_code
        for i in range(limit + 1)
    ]
    assert statuses == [401] * limit + [429]


def test_forwarded_addresses_from_an_untrusted_peer_are_not_believed(app: Starlette) -> None:
    with TestClient(app, base_url="http://localhost", client=("203.0.113.9", 50000)) as outsider:
        wait_ready(outsider)
        statuses = [
            attempt(outsider, f"198.51.100.{i + 1}", name=f"user{i}") for i in range(PER_NETWORK[0] + 1)
        ]
    assert statuses[-1] == 429


def test_the_throttle_holds_keyed_hashes_not_addresses(app: Starlette, client: TestClient) -> None:
    attempt(client, "2001:db8:5:5::1")
    attempt(client, "192.0.2.77")
    login = next(
        route.endpoint.__self__
        for route in app.routes
        if isinstance(route, Route) and route.path == "/login" and "POST" in (route.methods or ())
    )
    assert isinstance(login, Login)
    keys = {key for limiter in login.throttle.limiters.values() for key in limiter._hits}
    assert keys and all("2001" not in key and "192.0" not in key and "anna" not in key for key in keys)


def test_the_network_of_an_address() -> None:
    assert (
        network(parse("2001:db8:1:2:3:4:5:6")) == network(parse("2001:db8:1:2::ffff")) == "2001:db8:1:2::/64"
    )
    assert network(parse("2001:db8:1:3::1")) != network(parse("2001:db8:1:2::1"))
    assert network(parse("::ffff:192.0.2.1")) == network(parse("192.0.2.1")) == "192.0.2.1"
    assert network(parse("192.0.2.1")) != network(parse("192.0.2.2"))
