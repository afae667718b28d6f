"""schemathesis against the OpenAPI document of a running samtycke: every answer is one it describes.

The document is the one the service serves at /openapi.json, so every endpoint described
there is fuzzed.  No input gets a 500, and every answer has a status, a media type and a
body the document gives for that operation.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live import LiveServer
from tests.support.tokens import ADMIN, token_entries


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:

    from tests.support.config import demo_raw

    base = tmp_path_factory.mktemp("fuzz")
    raw = demo_raw(
        tokens=token_entries("admin"),
        # Fuzzing is one client sending little but bad input: no budget of refusals would last.
        server={"secret_keys": ["fuzz-key"], "refusals_per_minute": 0},
    )
    server = LiveServer.of(base, raw).start()
    yield server
    assert server.stopped_gracefully()
    assert '"level": "error"' not in server.logs(), "fuzzing logged an unexpected error"


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: LiveServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")

# Every answer is one the document describes: a status it lists, of the media type it names,
# whose body has the shape it gives; and none is a server error.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_one_the_description_gives(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=ADMIN, checks=CHECKS)
