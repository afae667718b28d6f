from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.tokens import TOKENS


@pytest.fixture
def open_client() -> Iterator[Callable[[Settings], TestClient]]:
    """Start in-process apps on given settings; every one is closed afterwards."""
    opened: list[TestClient] = []

    def start(settings: Settings) -> TestClient:
        client = TestClient(create_app(settings), base_url="http://localhost")
        client.__enter__()
        opened.append(client)
        wait_ready(client, timeout=120)
        return client

    yield start
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def consent_client(
    make_settings: Callable[..., Settings], open_client: Callable[[Settings], TestClient]
) -> TestClient:
    # The fuzzing sends more choices from one address than the per-network limit lets through.
    overrides: dict[str, Any] = {"tokens": TOKENS, "consent": {"writes_per_minute": 100_000}}
    return open_client(make_settings(**overrides))
