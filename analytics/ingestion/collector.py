"""The Matomo tracking endpoints: ``/matomo.php`` (and ``/piwik.php``) and the tracker script.

A request is GET parameters, a POST form, or a bulk JSON POST
(``{"requests": ["?idsite=1&...", ...], "token_auth": "..."}``).  Each hit is parsed,
run through the pipeline, and acknowledged only after its record is in the journal.
Answers are Matomo's: a 1x1 GIF (``Cache-Control: no-store``), 204 with
``send_image=0``, the bulk summary JSON, 400 for invalid input, an unknown site or a bulk
mostly of invalid hits, and 503 when recording is off or the journal cannot take more.
Pages on the sites' own domains may read the answers, with credentials; other origins may
not (``samtycke.web.cors``).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from analytics.ingestion.pipeline import Context, Pipeline
from analytics.ingestion.request import Hit, InvalidHit, Params, parse_hit, parse_query
from consent import cookies as consent_cookies
from consent.cookies import CONSENT_COOKIE
from samtycke import jsontext
from samtycke.journal import Record
from samtycke.services import Services
from samtycke.web import assets, cors
from samtycke.web.asgi import headers_named
from samtycke.web.errors import BadRequest, ServiceUnavailable
from samtycke.web.routing import DirectRoute

# The built tracker (static/build-tracker.mjs writes it here), served at /matomo.js and /piwik.js.
STATIC = Path(__file__).resolve().parent / "static"
TRACKER = STATIC / "matomo.js"

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache"}
NO_CONTENT_HEADERS = [(name.lower().encode(), value.encode()) for name, value in NO_STORE.items()]
GIF_HEADERS = [
    *NO_CONTENT_HEADERS,
    (b"content-type", b"image/gif"),
    (b"content-length", str(len(GIF)).encode()),
]
MATOMO_NOTE = (
    "This resource is part of samtycke, a Matomo-compatible collector. "
    "Send tracking requests with idsite and rec=1."
)
MAX_BULK = 1000
# Matomo's trackers send bulks of hits they built themselves, all valid but for the odd one;
# a bulk with more invalid entries than this is refused whole, unprocessed.
MAX_BULK_INVALID = 100
TRACKING_PATHS = ("/matomo.php", "/piwik.php")
TRACKING_DOC = """
summary: Matomo tracking request
description: >
  Matomo's tracking API. Parameters (idsite, rec, url, action_name, urlref, _id,
  e_c/e_a/e_n/e_v, idgoal, search, ping, send_image ...) arrive {where}.
  Ecommerce: an order is idgoal=0 with ec_id, revenue, ec_st, ec_tx, ec_sh, ec_dt and
  ec_items (JSON [[sku, name, category, price, quantity], ...], at most 100 items); without
  ec_id it is a cart update; _pks, _pkn, _pkc and _pkp on a pageview name the product it
  shows. A malformed ecommerce value drops the hit (counted as invalid_ecommerce).
parameters:
  - {{name: idsite, in: query, required: false, schema: {{type: integer, minimum: 1}}}}
  - {{name: rec, in: query, required: false, schema: {{type: integer, enum: [0, 1]}}}}
  - {{name: url, in: query, required: false, schema: {{type: string}}}}
  - {{name: action_name, in: query, required: false, schema: {{type: string}}}}
  - {{name: urlref, in: query, required: false, schema: {{type: string}}}}
  - {{name: _id, in: query, required: false, schema: {{type: string}}}}
  - {{name: e_v, in: query, required: false, schema: {{type: number}}}}
  - {{name: idgoal, in: query, required: false, schema: {{type: integer}}}}
  - {{name: ping, in: query, required: false, schema: {{type: integer, enum: [0, 1]}}}}
  - {{name: send_image, in: query, required: false, schema: {{type: integer, enum: [0, 1]}}}}
responses:
  200: {{description: "A 1x1 GIF, or the bulk summary `{{status, tracked, invalid}}`."}}
  204: {{description: Tracked; `send_image=0` asked for no body.}}
  400: {{description: Invalid parameters or an unknown site.}}
  413: {{description: Body too large.}}
  503: {{description: Recording is off or the journal is full.}}
"""
_LIST_HEADERS = frozenset({b"forwarded", b"x-forwarded-for"})
_CONTEXT_HEADERS = frozenset(
    {b"user-agent", b"accept-language", b"dnt", b"sec-gpc", b"cookie", b"origin", *_LIST_HEADERS}
)


class Collector:
    def __init__(self, services: Services, pipeline: Pipeline) -> None:
        self.services = services
        self.pipeline = pipeline
        self.origins = cors.Origins(services.settings.sites)

    def context(self, scope: Scope, headers: Mapping[bytes, str]) -> Context:
        consent = None
        if CONSENT_COOKIE in headers.get(b"cookie", ""):  # parse cookies only when ours is there
            consent = consent_cookies.read(HTTPConnection(scope), self.services.signer, time.time())
        client = scope.get("client")
        return Context(
            address=self.services.client_ip.resolve(
                client[0] if client else "",
                headers.get(b"forwarded", ""),
                headers.get(b"x-forwarded-for", ""),
            ),
            user_agent=headers.get(b"user-agent", ""),
            accept_language=headers.get(b"accept-language", ""),
            dnt=headers.get(b"dnt", "").strip() == "1",
            gpc=headers.get(b"sec-gpc", "").strip() == "1",
            consent=consent,
            received=self.services.now(),
        )

    async def track(self, scope: Scope, body: bytes, send: Send) -> None:
        if not self.services.settings.analytics.recording:
            raise ServiceUnavailable("recording is switched off", code="recording_disabled")
        headers = headers_named(scope, _CONTEXT_HEADERS, _LIST_HEADERS)
        params = parse_query(scope.get("query_string", b""))
        if body.lstrip()[:1] == b"{":
            summary = await self.bulk(scope, headers, params, body)
            await summary(scope, _no_body, send)
            return
        if body:
            params.update(parse_query(body, "body"))
        if not params:
            note = PlainTextResponse(MATOMO_NOTE, headers=self.cors_headers(scope, headers))
            await note(scope, _no_body, send)
            return
        hit = parse_hit(params)
        found = await self.pipeline.process(hit, self.context(scope, headers))
        if found is not None:
            await self.services.append([found])
        await _acknowledge(send, self.cors_raw_headers(scope, headers), hit.send_image)

    async def bulk(self, scope: Scope, headers: Mapping[bytes, str], params: Params, body: bytes) -> Response:
        entries, shared = _bulk_entries(body)
        hits, invalid = self.validated(entries, shared)
        context = self.context(scope, headers)
        records: list[Record] = []
        for index, hit in hits:
            try:
                found = await self.pipeline.process(hit, context)
            except InvalidHit:
                invalid.append(index)
                continue
            if found is not None:
                records.append(found)
        if records:
            await self.services.append(records)
        if params.get("send_image") == "0" or shared.get("send_image") == "0":
            return Response(status_code=204, headers={**NO_STORE, **self.cors_headers(scope, headers)})
        summary = {
            "status": "success",
            "tracked": len(entries) - len(invalid),
            "invalid": len(invalid),
            "invalid_indices": sorted(invalid),
        }
        return JSONResponse(summary, headers={**NO_STORE, **self.cors_headers(scope, headers)})

    def validated(
        self, entries: list[Any], shared: Mapping[str, str]
    ) -> tuple[list[tuple[int, Hit]], list[int]]:
        """The bulk's hits by index, and the indices of invalid entries; 400 past ``MAX_BULK_INVALID``.

        Every entry is checked before any is processed, so a refused bulk leaves no trace
        (no visit is extended by a hit that is then not stored), and checking stops at the
        limit: a bulk of invalid hits costs what its first ``MAX_BULK_INVALID`` cost.
        """
        hits: list[tuple[int, Hit]] = []
        invalid: list[int] = []
        for index, entry in enumerate(entries):
            try:
                hit_params = _entry_params(entry, index)
                for name, value in shared.items():
                    hit_params.setdefault(name, value)
                hit = parse_hit(hit_params)
                self.pipeline.policy(hit)  # an unknown site
            except InvalidHit:
                invalid.append(index)
                if len(invalid) > MAX_BULK_INVALID:
                    raise BadRequest(
                        f"a bulk request holds at most {MAX_BULK_INVALID} invalid requests; "
                        f"entry {index} is invalid too",
                        field="requests",
                        details={"invalid_indices": invalid},
                    ) from None
                continue
            hits.append((index, hit))
        return hits, invalid

    async def preflight(self, request: Request) -> Response:
        """
        summary: CORS preflight for tracking requests
        responses:
          204: {description: Allowed.}
        """
        return cors.preflight(
            self.origins.allowed(request.scope),
            methods="GET, POST, OPTIONS",
            headers="Content-Type",
            max_age=86400,
        )

    def cors_headers(self, scope: Scope, headers: Mapping[bytes, str]) -> dict[str, str]:
        """Trackers post from the site's own pages, with credentials so the consent cookie comes along."""
        origin = headers.get(b"origin")
        if not origin:
            return {}
        allowed = cors.allow(origin) if self.origins.allows(origin, scope) else {}
        return {**allowed, "Vary": "Origin"}

    def cors_raw_headers(self, scope: Scope, headers: Mapping[bytes, str]) -> list[tuple[bytes, bytes]]:
        """``cors_headers()`` as raw ASGI headers."""
        origin = headers.get(b"origin")
        if not origin:
            return []
        allowed = cors.allow_raw(origin) if self.origins.allows(origin, scope) else []
        return [*allowed, (b"vary", b"Origin")]


class TrackingEndpoint:
    """``/matomo.php`` as a raw ASGI app, dispatched by method the way Starlette's HTTPEndpoint is.

    It answers most of the service's requests, and Starlette's Request and Response
    objects would cost about as much as the whole pipeline, so it reads the scope and
    sends its answer itself.  Errors still propagate to the app's one error renderer.
    """

    def __init__(self, collector: Collector) -> None:
        self.collector = collector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            await self.post(scope, receive, send)
        else:
            await self.get(scope, receive, send)

    async def get(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.collector.track(scope, b"", send)

    async def post(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is not None:
            await self.collector.track(scope, body, send)

    # The API description is read from these docstrings, as for an HTTPEndpoint.
    get.__doc__ = TRACKING_DOC.format(where="in the query string")
    post.__doc__ = TRACKING_DOC.format(
        where="in the query string, a form body, or a bulk JSON body "
        '`{"requests": ["?idsite=1&rec=1&url=...", ...]}`'
    )


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or None if the client went away before sending it all."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _acknowledge(send: Send, cors_headers: list[tuple[bytes, bytes]], send_image: bool) -> None:
    """Matomo's answer to a tracked hit: the 1x1 GIF, or 204 when ``send_image=0``."""
    raw = GIF_HEADERS if send_image else NO_CONTENT_HEADERS
    if cors_headers:
        raw = [*raw, *cors_headers]
    await send({"type": "http.response.start", "status": 200 if send_image else 204, "headers": raw})
    await send({"type": "http.response.body", "body": GIF if send_image else b""})


def _bulk_entries(body: bytes) -> tuple[list[Any], dict[str, str]]:
    try:
        document = jsontext.parse(body)
    except jsontext.NotJSON as exc:
        raise BadRequest("the bulk request body is not valid JSON", field="requests") from exc
    if not isinstance(document, dict) or not isinstance(document.get("requests"), list):
        raise BadRequest('a bulk request is {"requests": [...]}', field="requests")
    entries: list[Any] = document["requests"]
    if len(entries) > MAX_BULK:
        raise BadRequest(f"a bulk request holds at most {MAX_BULK} requests", field="requests")
    malformed = [i for i, entry in enumerate(entries) if not isinstance(entry, str | dict)]
    if malformed:
        raise BadRequest(
            "bulk entries must be query strings or objects; invalid entries: "
            + ", ".join(str(i) for i in malformed[:50]),
            field="requests",
            details={"invalid_indices": malformed},
        )
    shared: dict[str, str] = {}
    for name in ("token_auth", "send_image"):
        value = document.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            shared[name] = str(value)
    return entries, shared


def _entry_params(entry: str | dict[str, Any], index: int) -> Params:
    if isinstance(entry, str):
        return parse_query(entry, f"requests[{index}]")
    params: dict[str, str] = {}
    for name, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidHit(f"requests[{index}].{name} must be a string or a number", field=name)
        params[str(name)] = str(value)
    return Params.of(params, f"requests[{index}]")


def routes(collector: Collector) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    endpoint = TrackingEndpoint(collector)
    for path in TRACKING_PATHS:
        out.append(DirectRoute(path, endpoint, methods=["GET", "POST"]))
        out.append(Route(path, collector.preflight, methods=["OPTIONS"], include_in_schema=False))
    for path in ("/matomo.js", "/piwik.js"):
        out.append(assets.script(path, TRACKER, "The first-party tracker script (`_paq` commands)"))
    return out
