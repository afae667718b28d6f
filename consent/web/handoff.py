"""Handoff between the sites of a group: a one-time code that carries a visitor's choice by a link.

The banner on the source site asks for a code when the visitor follows a link to another
site of the group, and adds it to the link; the banner on the target site redeems it, and
the choice is recorded there under its own receipt (method ``handoff``, naming the source
receipt).  The source is the signed consent cookie for the source site, so there is a code
only for a choice samtycke itself recorded.  Both calls are consent writes: same origin
rules, same write limit per client network.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from consent import cookies
from consent.groups import share_choices
from consent.handoff import CODE, HandoffCodes, HandoffRefused
from consent.recording.adoption import HANDOFF, SourceChoice
from consent.recording.choice import MAX_BODY
from consent.web.api import ConsentAPI, default_language, json_response, sec_gpc
from samtycke.settings import Site
from samtycke.web.asgi import header
from samtycke.web.bodies import read_json
from samtycke.web.errors import Forbidden, Unprocessable


class HandoffAPI:
    def __init__(self, api: ConsentAPI, codes: HandoffCodes) -> None:
        self.api = api
        self.codes = codes
        self.settings = api.settings

    def _site(self, body: dict[str, Any], key: str) -> Site:
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Unprocessable(f"{key} must be a whole number", field=key)
        site = self.settings.site(value)
        if site is None:
            raise Unprocessable(f"there is no site {value}", field=key)
        return site

    def _from_site(self, request: Request, site: Site) -> None:
        origin = header(request.scope, b"origin")
        if origin and not self.api.site_origins[site.id].allows(origin, request.scope):
            raise Forbidden("this origin is not one of the site's domains", field="origin")

    async def issue(self, request: Request) -> Response:
        """
        summary: A one-time code that carries the visitor's choice to another site of the group
        description: >-
          Body `{"site_id", "target_site_id"}`: the site the visitor is on, with a choice recorded
          (the `samtycke_consent` cookie), and the site of the same group a link leads to. The code
          is random, valid once, for two minutes, and only on the target site.
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [site_id, target_site_id]
                properties:
                  site_id: {type: integer}
                  target_site_id: {type: integer}
        responses:
          201:
            description: The code.
            content:
              application/json:
                schema:
                  type: object
                  required: [code, expires_in]
                  properties:
                    code: {type: string, pattern: '^[A-Za-z0-9_-]{22}$'}
                    expires_in: {type: integer}
          400: {$ref: "#/components/responses/NotJSON"}
          403: {$ref: "#/components/responses/NotTheSiteOrigin"}
          413: {$ref: "#/components/responses/ConsentBodyTooLarge"}
          422: {description: 'Unknown site, sites not of one group, or no choice recorded on the site.'}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
        """
        body = await read_json(request, MAX_BODY)
        if not isinstance(body, dict):
            raise Unprocessable("the body must be a JSON object")
        source, target = self._site(body, "site_id"), self._site(body, "target_site_id")
        if not share_choices(self.settings, source, target):
            raise Unprocessable(
                f"site {target.id} shares no choices with site {source.id}", field="target_site_id"
            )
        self._from_site(request, source)
        current = cookies.for_site(self.api.current(request), source.id)
        if current is None or not current.receipt_id:
            raise Unprocessable("there is no choice recorded on this site to carry", field="cookie")
        code = self.codes.issue(SourceChoice.of_cookie(current), target.id)
        expires_in = int(self.codes.lifetime.total_seconds())
        return json_response({"code": code, "expires_in": expires_in}, 201, {"Cache-Control": "no-store"})

    async def redeem(self, request: Request) -> Response:
        """
        summary: Adopt the choice a handoff code carries
        description: >-
          Body `{"code", "site_id", "lang"}`. Records the choice on this site under a receipt of its
          own (method `handoff`, `source_receipt_id` naming the receipt it came from) and sets the
          `samtycke_consent` and `samtycke_state` cookies. The code is gone afterwards, whether it
          was accepted or not.
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [code, site_id]
                properties:
                  code: {type: string}
                  site_id: {type: integer}
                  lang: {type: string, enum: [sv, en]}
        responses:
          201:
            description: The receipt, durable in the log.
            content:
              application/json:
                schema:
                  type: object
                  required: [receipt, jws]
                  properties:
                    receipt: {type: object, required: [receipt_id, source_receipt_id, subject, event, method]}
                    jws: {type: string, pattern: '^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$'}
          400: {$ref: "#/components/responses/NotJSON"}
          403: {$ref: "#/components/responses/NotTheSiteOrigin"}
          413: {$ref: "#/components/responses/ConsentBodyTooLarge"}
          422: {description: 'Malformed, unknown, used or expired code, or a code for another site.'}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
          503: {$ref: "#/components/responses/LogNotReady"}
        """
        body = await read_json(request, MAX_BODY)
        if not isinstance(body, dict):
            raise Unprocessable("the body must be a JSON object")
        code = body.get("code")
        if not isinstance(code, str) or not CODE.fullmatch(code):
            raise Unprocessable("code must be a handoff code of 22 characters", field="code")
        site = self._site(body, "site_id")
        lang = body.get("lang") or default_language(body, request) or "en"
        if lang not in ("sv", "en"):
            raise Unprocessable("lang must be sv or en", field="lang")
        self._from_site(request, site)
        try:
            source = self.codes.redeem(code, site.id)
        except HandoffRefused as exc:
            raise Unprocessable(str(exc), field="code") from exc
        issued = await self.api.service.adopt(
            source, site, HANDOFF, lang, sec_gpc(request), self.api.current(request)
        )
        return self.api.respond(issued, request)


def routes(api: ConsentAPI) -> list[BaseRoute]:
    handoff = HandoffAPI(api, HandoffCodes(api.services.now))
    return [
        Route("/api/v1/consent/handoff", api.with_cors(handoff.issue, writes=True), methods=["POST"]),
        Route("/api/v1/consent/handoff", api.preflight, methods=["OPTIONS"], include_in_schema=False),
        Route("/api/v1/consent/handoff/redeem", api.with_cors(handoff.redeem, writes=True), methods=["POST"]),
        Route("/api/v1/consent/handoff/redeem", api.preflight, methods=["OPTIONS"], include_in_schema=False),
    ]
