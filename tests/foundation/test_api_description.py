"""The API description is a well-formed OpenAPI 3.0 document whose shared shapes are declared once.

Clients and the fuzzing in ``tests/test_openapi_fuzz.py`` take the document at its word, and a
YAML slip in a docstring (an unquoted comma inside ``{description: ...}`` makes more keys)
still parses: these checks read the served document the way a validator would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from samtycke.web.openapi import with_components

RESPONSE_KEYS = {"description", "content", "headers", "links"}
# The Schema Object of OpenAPI 3.0.3 (JSON Schema's ``examples`` is not one of them).
SCHEMA_KEYS = {
    "type", "format", "title", "description", "default", "enum", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required",
    "properties", "items", "additionalProperties", "allOf", "oneOf", "anyOf", "not", "nullable",
    "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated", "$ref",
}  # fmt: skip


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    # The description needs no storage, so the app's lifespan need not run.
    served: dict[str, Any] = TestClient(create_app(settings)).get("/openapi.json").json()
    return served


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def schemas(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Schema Object in ``schema``, itself included, with where it stands."""
    assert isinstance(schema, dict), where
    yield where, schema
    for name, member in schema.get("properties", {}).items():
        yield from schemas(member, f"{where}.{name}")
    for key in ("items", "not", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from schemas(schema[key], f"{where}.{key}")
    for key in ("allOf", "oneOf", "anyOf"):
        for i, member in enumerate(schema.get(key, [])):
            yield from schemas(member, f"{where}.{key}[{i}]")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_reference_is_declared_and_every_declaration_referenced(document: dict[str, Any]) -> None:
    referenced = set(refs(document))
    declared = {
        f"#/components/{section}/{name}"
        for section in ("schemas", "responses")
        for name in document["components"].get(section, {})
    }
    assert referenced - declared == set()
    assert declared - referenced == set()


def test_every_answer_is_a_reference_or_a_described_response(document: dict[str, Any]) -> None:
    answers = [
        (f"{where} {status}", answer)
        for where, operation in operations(document)
        for status, answer in operation["responses"].items()
    ]
    answers += [(name, answer) for name, answer in document["components"]["responses"].items()]
    wrong = [
        where
        for where, answer in answers
        if set(answer) != {"$ref"}
        and (not isinstance(answer.get("description"), str) or not set(answer) <= RESPONSE_KEYS)
    ]
    assert wrong == []


def test_every_schema_uses_only_openapi_3_0_keywords(document: dict[str, Any]) -> None:
    found: list[tuple[str, dict[str, Any]]] = []
    for name, schema in document["components"]["schemas"].items():
        found += schemas(schema, name)
    for where, operation in operations(document):
        for parameter in operation.get("parameters", []):
            found += schemas(parameter["schema"], f"{where} {parameter['name']}")
        for media, body in operation.get("requestBody", {}).get("content", {}).items():
            found += schemas(body["schema"], f"{where} {media}")
        for status, answer in operation["responses"].items():
            for media, body in answer.get("content", {}).items():
                found += schemas(body["schema"], f"{where} {status} {media}")
    assert len(found) > 100
    wrong = [
        f"{where}: {sorted(set(schema) - SCHEMA_KEYS)}"
        for where, schema in found
        if not set(schema) <= SCHEMA_KEYS
    ]
    assert wrong == []


def test_a_saved_funnel_has_the_steps_and_window_the_funnel_query_takes(document: dict[str, Any]) -> None:
    paths = document["paths"]
    query = paths["/api/v1/stats/funnel"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    saved = document["components"]["schemas"]["FunnelDefinition"]
    for member in ("steps", "within"):
        assert query["properties"][member] == saved["properties"][member]
    for route in (
        ("/api/v1/sites/{site_id}/funnels", "post"),
        ("/api/v1/sites/{site_id}/funnels/{funnel_id}", "put"),
    ):
        body = paths[route[0]][route[1]]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/FunnelDefinition"}


def test_shared_answers_carry_the_error_document(document: dict[str, Any]) -> None:
    for name, answer in document["components"]["responses"].items():
        assert answer["content"] == {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        }, name


def test_a_component_name_is_declared_once() -> None:
    base = {"components": {"schemas": {"Error": {"type": "object"}}}}
    merged = with_components(base, [{"schemas": {"Goal": {"type": "object"}}, "responses": {"Busy": {}}}])
    assert set(merged["components"]["schemas"]) == {"Error", "Goal"}
    assert set(merged["components"]["responses"]) == {"Busy"}
    assert set(base["components"]["schemas"]) == {"Error"}  # the base is not changed
    with pytest.raises(ValueError, match="schemas/Error"):
        with_components(base, [{"schemas": {"Error": {"type": "string"}}}])
