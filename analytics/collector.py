"""The Matomo tracking endpoints: ``/matomo.php`` (and ``/piwik.php``) and the tracker script.

A request is GET parameters, a POST form, or a bulk JSON POST
(``{"requests": ["?idsite=1&...", ...], "token_auth": "..."}``).  Each hit is parsed,
run through the pipeline, and acknowledged only after its record is in the journal.
Answers are Matomo's: a 1x1 GIF (``Cache-Control: no-store``), 204 with
``send_image=0``, the bulk summary JSON, 400 for invalid input or an unknown site, and
503 when recording is off or the journal cannot take more.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from analytics.pipeline import CONSENT_COOKIE, Context, Pipeline, statistics_consent
from analytics.request import InvalidHit, parse_hit, parse_query
from samtycke import assets
from samtycke.errors import BadRequest, ServiceUnavailable
from samtycke.journal import Record
from samtycke.services import Services

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache"}
MATOMO_NOTE = (
    "This resource is part of samtycke, a Matomo-compatible collector. "
    "Send tracking requests with idsite and rec=1."
)
MAX_BULK = 1000


class Collector:
    def __init__(self, services: Services, pipeline: Pipeline) -> None:
        self.services = services
        self.pipeline = pipeline

    def context(self, request: Request) -> Context:
        headers = request.headers
        cookie = request.cookies.get(CONSENT_COOKIE)
        consent = statistics_consent(self.services.signer.loads("consent", cookie)) if cookie else False
        return Context(
            address=self.services.client_ip.of(request),
            user_agent=headers.get("user-agent", ""),
            accept_language=headers.get("accept-language", ""),
            dnt=headers.get("dnt", "").strip() == "1",
            gpc=headers.get("sec-gpc", "").strip() == "1",
            statistics_consent=consent,
            received=self.services.now(),
        )

    async def track(self, request: Request) -> Response:
        """
        summary: Matomo tracking request
        description: >
          Matomo's tracking API. Parameters (idsite, rec, url, action_name, urlref, _id,
          e_c/e_a/e_n/e_v, idgoal, search, ping, send_image ...) arrive in the query string,
          a form body, or a bulk JSON body `{"requests": ["?idsite=1&rec=1&url=...", ...]}`.
        parameters:
          - {name: idsite, in: query, required: false, schema: {type: integer, minimum: 1}}
          - {name: rec, in: query, required: false, schema: {type: integer, enum: [0, 1]}}
          - {name: url, in: query, required: false, schema: {type: string}}
          - {name: action_name, in: query, required: false, schema: {type: string}}
          - {name: urlref, in: query, required: false, schema: {type: string}}
          - {name: _id, in: query, required: false, schema: {type: string}}
          - {name: e_v, in: query, required: false, schema: {type: number}}
          - {name: idgoal, in: query, required: false, schema: {type: integer}}
          - {name: ping, in: query, required: false, schema: {type: integer, enum: [0, 1]}}
          - {name: send_image, in: query, required: false, schema: {type: integer, enum: [0, 1]}}
        responses:
          200: {description: "A 1x1 GIF, or the bulk summary `{status, tracked, invalid}`."}
          204: {description: Tracked; `send_image=0` asked for no body.}
          400: {description: Invalid parameters or an unknown site.}
          413: {description: Body too large.}
          503: {description: Recording is off or the journal is full.}
        """
        if not self.services.settings.analytics.recording:
            raise ServiceUnavailable("recording is switched off", code="recording_disabled")
        params = parse_query(request.scope.get("query_string", b""))
        body = await request.body() if request.method == "POST" else b""
        if body.lstrip()[:1] == b"{":
            return await self.bulk(request, params, body)
        if body:
            params.update(parse_query(body, "body"))
        if not params:
            return PlainTextResponse(MATOMO_NOTE, headers=_cors(request))
        hit = parse_hit(params)
        found = await self.pipeline.process(hit, self.context(request))
        if found is not None:
            await self.services.append([found])
        return self.acknowledge(request, hit.send_image)

    async def bulk(self, request: Request, params: Mapping[str, str], body: bytes) -> Response:
        entries, shared = _bulk_entries(body)
        context = self.context(request)
        records: list[Record] = []
        invalid: list[int] = []
        for index, entry in enumerate(entries):
            try:
                hit_params = _entry_params(entry, index)
                for name, value in shared.items():
                    hit_params.setdefault(name, value)
                found = await self.pipeline.process(parse_hit(hit_params), context)
            except InvalidHit:
                invalid.append(index)
                continue
            if found is not None:
                records.append(found)
        if records:
            await self.services.append(records)
        if params.get("send_image") == "0" or shared.get("send_image") == "0":
            return Response(status_code=204, headers={**NO_STORE, **_cors(request)})
        summary = {
            "status": "success",
            "tracked": len(entries) - len(invalid),
            "invalid": len(invalid),
            "invalid_indices": invalid,
        }
        return JSONResponse(summary, headers={**NO_STORE, **_cors(request)})

    def acknowledge(self, request: Request, send_image: bool) -> Response:
        headers = {**NO_STORE, **_cors(request)}
        if not send_image:
            return Response(status_code=204, headers=headers)
        return Response(GIF, media_type="image/gif", headers=headers)

    async def preflight(self, request: Request) -> Response:
        """
        summary: CORS preflight for tracking requests
        responses:
          204: {description: Allowed.}
        """
        headers = {
            **_cors(request),
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        }
        return Response(status_code=204, headers=headers)


def _cors(request: Request) -> dict[str, str]:
    """Trackers post from the site's own origin, with credentials so the consent cookie comes along."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _bulk_entries(body: bytes) -> tuple[list[Any], dict[str, str]]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
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


def _entry_params(entry: str | dict[str, Any], index: int) -> dict[str, str]:
    if isinstance(entry, str):
        return parse_query(entry, f"requests[{index}]")
    params: dict[str, str] = {}
    for name, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidHit(f"requests[{index}].{name} must be a string or a number", field=name)
        params[str(name)] = str(value)
    return params


def routes(collector: Collector) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for path in ("/matomo.php", "/piwik.php"):
        out.append(Route(path, collector.track, methods=["GET", "POST"]))
        out.append(Route(path, collector.preflight, methods=["OPTIONS"], include_in_schema=False))
    for path in ("/matomo.js", "/piwik.js"):
        out.append(assets.script(path, "matomo.js", "The first-party tracker script (`_paq` commands)"))
    return out
