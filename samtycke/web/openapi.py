"""The API description: each handler's own docstring, plus the answers no docstring should repeat.

A handler documents what it does: its parameters and the answers particular to it.  Some
answers come from the layers every request passes, and a description that leaves them out
is wrong, because clients (and the fuzzing in the test suite) take it at its word:

- 431 for headers over the limit (``samtycke.web.headerlimit``), on every operation;
- 413 for a body over the limit (the app's ``BodyLimit``), on every method that has a body;
- 400 and 422 for input that cannot be read or makes no sense, wherever there is input;
- 401 and 403 wherever credentials are required;
- 503 wherever storage or the consent log is needed: the API and the collector.

Every error is an ``Error`` document (``samtycke.web.errors``): JSON under ``/api/``, and
elsewhere JSON or the error page, whichever the request's ``Accept`` asks for.

A shape several docstrings share (a request body, an answer worded the same) is declared
once under ``components`` and referenced with ``$ref``: plumbing's here, a domain's in its
``Component.api_components``, merged into the description when the app is assembled.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "details": {},
            },
        }
    },
}
READINESS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ready", "checks", "reasons"],
    "properties": {
        "ready": {"type": "boolean"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}},
            },
        },
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}
INFO: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "samtycke",
        "version": "1",
        "description": "Cookie consent receipts, a verifiable consent log and anonymous statistics.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            # A site's customer portal: an HS256 JWT signed with the site's accounts.secret.
            "account_token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        },
        "schemas": {"Error": ERROR_SCHEMA, "Readiness": READINESS_SCHEMA},
    },
}

BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
COMMON: dict[str, str] = {
    "400": "The request cannot be read.",
    "401": "Credentials are required.",
    "403": "These credentials may not do this, or a cookie-authenticated change came from another origin.",
    "413": "The request body is over the limit.",
    "422": "A parameter or the body makes no sense.",
    "431": "The request's headers are over the limit.",
    "503": "Storage or the consent log cannot answer now; Retry-After says when to try again.",
}
JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
PAGE_OR_JSON_ERROR = {**JSON_ERROR, "text/html": {"schema": {"type": "string"}}}


def common_answers(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The statuses the layers around this operation can answer with."""
    statuses = ["431"]
    if method in BODY_METHODS:
        statuses.append("413")
    if operation.get("parameters") or operation.get("requestBody") or method in BODY_METHODS:
        statuses += ["400", "422"]
    if operation.get("security"):
        statuses += ["401", "403"]
    if path.startswith("/api/") or path.endswith(".php"):
        statuses.append("503")
    return statuses


def error_answer(description: str) -> dict[str, Any]:
    """A shared answer of the API (under ``/api/``): its wording and the ``Error`` document."""
    return {"description": description, "content": copy.deepcopy(JSON_ERROR)}


def with_components(
    document: dict[str, Any], contributed: Iterable[Mapping[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    """``document`` with each contribution's components added; a name is declared once."""
    merged = copy.deepcopy(document)
    components = merged.setdefault("components", {})
    for contribution in contributed:
        for section, named in contribution.items():
            declared = components.setdefault(section, {})
            for name, shape in named.items():
                if name in declared:
                    raise ValueError(f"the API component {section}/{name} is declared twice")
                declared[name] = copy.deepcopy(shape)
    return merged


def complete(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = {
        str(status): answer for status, answer in operation.get("responses", {}).items()
    }
    for status in common_answers(path, method, operation):
        responses.setdefault(status, {"description": COMMON[status]})
    errors = JSON_ERROR if path.startswith("/api/") else PAGE_OR_JSON_ERROR
    for status, answer in responses.items():
        # A shared answer (a ``$ref``) carries its own content; a sibling of ``$ref`` is ignored.
        if status >= "400" and "content" not in answer and "$ref" not in answer:
            answer["content"] = copy.deepcopy(errors)
    operation["responses"] = responses


class Description(SchemaGenerator):
    def __init__(self, contributed: Iterable[Mapping[str, Mapping[str, Any]]] = ()) -> None:
        super().__init__(with_components(INFO, contributed))

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        document = super().get_schema(routes)
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                complete(path, method, operation)
        return document
