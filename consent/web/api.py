"""The visitor-facing consent API: the banner's configuration, choices, history, erasure.

Pages on the sites call it with the visitor's cookies, under the one CORS policy
(``samtycke.web.cors``).  A state-changing request from any other origin is refused with
403, so a third-party page cannot record or erase a choice in the visitor's name.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from consent import cookies
from consent.accounts.service import AccountConsent
from consent.accounts.tokens import AccountTokenError, verify
from consent.banner import site_config
from consent.groups import group_sites
from consent.recording.adoption import Link
from consent.recording.choice import MAX_BODY, Choice, parse_choice
from consent.recording.dpv import as_dpv
from consent.recording.service import ConsentService
from consent.web.accounts import token_error
from samtycke.clientip import parse as parse_address
from samtycke.invalid import Invalid
from samtycke.settings import Site
from samtycke.unavailable import Unavailable
from samtycke.web import cors
from samtycke.web.asgi import header
from samtycke.web.bodies import read_json
from samtycke.web.errors import (
    Forbidden,
    HTTPError,
    NotFound,
    Unprocessable,
    as_http,
)
from samtycke.web.i18n import language
from samtycke.web.netlimit import NetworkLimit
from samtycke.web.routing import DirectRoute

Handler = Callable[[Request], Awaitable[Response]]

ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, If-None-Match"


def json_response(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A ``JSONResponse`` with the same bytes, encoded by orjson at a fraction of the cost.

    Both write compact UTF-8 JSON in insertion order; what orjson refuses (integers past 64
    bits) goes to ``JSONResponse``.
    """
    try:
        body = orjson.dumps(content)
    except TypeError:
        return JSONResponse(content, status_code=status_code, headers=headers)
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")


def default_language(body: Any, request: Request) -> str:
    """The language a choice falls back to; worked out only when the body names none."""
    if isinstance(body, dict) and "lang" in body:
        return ""  # parse_choice uses the body's own (and validates it)
    return language(request)


def sec_gpc(request: Request) -> bool:
    """The request carries the Global Privacy Control signal (``Sec-GPC: 1``)."""
    return (header(request.scope, b"sec-gpc") or "").strip() == "1"


TOKEN_FIELD = "account_token"  # noqa: S105 - the name of a body field


class ConsentAPI:
    def __init__(self, service: ConsentService, accounts: AccountConsent) -> None:
        self.service = service
        self.accounts = accounts
        self.services = service.services
        self.settings = service.services.settings
        self.origins = cors.Origins(self.settings.sites)
        self.site_origins = {site.id: cors.Origins([site]) for site in self.settings.sites}
        self.config_cache: dict[tuple[int, str, str, bool], tuple[bytes, str]] = {}
        # So that no one can flood the log: each write is a signed, permanent entry.
        self.write_limit = NetworkLimit(
            self.services.client_ip, self.settings.consent.writes_per_minute, 60.0, "consent writes"
        )

    def with_cors(self, handler: Handler, writes: bool) -> Handler:
        async def wrapped(request: Request) -> Response:
            origin = header(request.scope, b"origin")
            echo = origin if origin and self.origins.allows(origin, request.scope) else None
            try:
                if writes and origin and echo is None:
                    raise Forbidden("this origin may not record consent for the site", field="origin")
                if writes:
                    self.write_limit.check(request)
                response = await handler(request)
            except (HTTPError, Unavailable, Invalid) as caught:
                exc = as_http(caught)
                if echo:
                    exc.headers.update(cors.allow(echo))
                exc.headers.setdefault("Vary", "Origin")
                raise exc from None
            return cors.apply(response, echo)

        wrapped.__doc__ = handler.__doc__
        wrapped.__name__ = handler.__name__
        return wrapped

    def secure(self, request: Request) -> bool:
        # X-Forwarded-Proto counts only from a trusted proxy, like X-Forwarded-For.
        def trusted_proxy() -> bool:
            peer = parse_address(request.client.host if request.client else "")
            return peer is not None and self.services.client_ip.is_trusted(peer)

        return cookies.is_secure(request, trusted_proxy)

    def current(self, request: Request) -> cookies.ConsentCookie | None:
        return cookies.read(request, self.services.signer, time.time())

    def respond(self, issued: Any, request: Request) -> Response:
        state = {"v": issued.cookie.version, "exp": issued.cookie.exp, "g": issued.cookie.granted}
        response = json_response(
            {"receipt": issued.receipt, "jws": issued.jws, "state": {**state, "m": issued.cookie.method}},
            201,
            {"Cache-Control": "no-store"},
        )
        cookies.set_cookies(
            response, issued.cookie, self.services.signer, issued.max_age, self.secure(request)
        )
        return response

    async def consent_config(self, request: Request) -> Response:
        """
        summary: Everything the banner needs for a site
        parameters:
          - {name: site_id, in: path, required: true, schema: {type: integer}}
          - {name: lang, in: query, schema: {type: string, enum: [sv, en]}}
        responses:
          200: {description: 'Texts, categories, cookies, the notice version and its sha256, GPC handling.'}
          304: {description: Not modified (If-None-Match).}
          404: {description: No such site.}
        """
        try:
            site_id = int(request.path_params["site_id"])
        except ValueError as exc:
            raise NotFound("no such site") from exc
        site = self.settings.site(site_id)
        if site is None:
            raise NotFound(f"there is no site {site_id}")
        lang = language(request)
        gpc = sec_gpc(request)
        known = self.service.notices.get(site.id, site.notice.version, lang)
        deployed = known.deployed_at if known else site.notice.deployed_at
        key = (site.id, lang, deployed, gpc)
        if key not in self.config_cache:
            body = site_config(
                site,
                lang,
                deployed,
                self.settings.consent.consent_days,
                self.settings.consent.refusal_days,
                gpc,
                group_sites(self.settings, site),
            )
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            self.config_cache[key] = (data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
        data, etag = self.config_cache[key]
        # Revalidated on every load (a 304 costs a few bytes), so a new notice version or
        # cookie list reaches the next page view instead of waiting out a cache lifetime.
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Origin, Accept-Language, Sec-GPC"}
        wanted = request.headers.get("if-none-match", "")
        if etag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="application/json", headers=headers)

    async def choose(self, request: Request) -> Response:
        """
        summary: Record a consent choice
        description: >-
          Body `{"site_id", "decisions": {category: bool}, "method", "notice_version", "lang"}`.
          Answers with the receipt and its compact JWS, and sets the `samtycke_consent` and
          `samtycke_state` cookies.
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [site_id, notice_version]
                properties:
                  site_id: {type: integer}
                  decisions: {type: object, additionalProperties: {type: boolean}}
                  method: {type: string, enum: [accept_all, reject_all, custom, gpc, withdraw]}
                  notice_version: {type: string, minLength: 1, maxLength: 100}
                  lang: {type: string, enum: [sv, en]}
                  gpc: {type: boolean}
        responses:
          201:
            description: The receipt, durable in the log.
            content:
              application/json:
                schema:
                  type: object
                  required: [receipt, jws]
                  properties:
                    receipt: {type: object, required: [receipt_id, subject, event, event_time, purposes]}
                    jws: {type: string, pattern: '^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$'}
          400: {$ref: "#/components/responses/NotJSON"}
          403: {$ref: "#/components/responses/NotTheSiteOrigin"}
          413: {$ref: "#/components/responses/ConsentBodyTooLarge"}
          422: {description: 'Unknown site, category or notice version; necessary refused.'}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
          503: {$ref: "#/components/responses/LogNotReady"}
        """
        body = await read_json(request, MAX_BODY)
        choice = parse_choice(self.settings, body, sec_gpc(request), default_language(body, request))
        origin = header(request.scope, b"origin")
        if origin and not self.site_origins[choice.site.id].allows(origin, request.scope):
            raise Forbidden("this origin is not one of the site's domains", field="origin")
        link = await self.account_link(body, choice.site)
        issued = await self.service.issue(choice, self.current(request), link=link)
        return self.respond(issued, request)

    async def account_link(self, body: Any, site: Site) -> Link | None:
        """The customer account a choice is made for, when the page carries an account token.

        A token that has expired (the page stayed open) still counts for the choice, which is
        recorded without the link; anything else wrong with it refuses the choice."""
        token = body.get(TOKEN_FIELD) if isinstance(body, dict) else None
        if token is None:
            return None
        try:
            claims = verify(token, site, time.time(), allow_expired=True)
        except AccountTokenError as exc:
            raise token_error(exc, TOKEN_FIELD) from None
        return await self.accounts.link(site, claims)

    async def account_sync(self, request: Request) -> Response:
        """
        summary: Bring this browser's choice and a customer account's together at a page load
        description: >-
          The banner sends the page's account token (`data-account-token`). When the account has a
          valid choice under the current notice that this browser does not follow, the browser adopts
          it: a receipt of method `account` naming the source receipt (`source_receipt_id`), and the
          cookies. When this browser's own choice is newer than the account's, it is linked to the
          account instead. Otherwise nothing changes.
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [site_id, account_token]
                properties:
                  site_id: {type: integer}
                  account_token: {type: string, maxLength: 4096}
                  lang: {type: string, enum: [sv, en]}
        responses:
          200: {description: 'Nothing changed: `{"adopted": false}`.'}
          201: {description: 'The browser adopted the account''s choice: the receipt, its JWS and the state.'}
          401: {description: 'The account token is forged, expired, or for another site or audience.'}
          403: {description: 'Origin not one of the site''s domains, or the site has not enabled accounts.'}
          422: {description: Unknown site.}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
        """
        body = await read_json(request, MAX_BODY)
        if not isinstance(body, dict):
            raise Unprocessable("the body must be a JSON object")
        site_id = body.get("site_id")
        site = None
        if isinstance(site_id, int) and not isinstance(site_id, bool):
            site = self.settings.site(site_id)
        if site is None:
            raise Unprocessable("site_id must name a site", field="site_id")
        origin = header(request.scope, b"origin")
        if origin and not self.site_origins[site.id].allows(origin, request.scope):
            raise Forbidden("this origin is not one of the site's domains", field="origin")
        lang = body.get("lang")
        try:
            claims = verify(body.get(TOKEN_FIELD), site, time.time())
        except AccountTokenError as exc:
            raise token_error(exc, TOKEN_FIELD) from None
        issued = await self.accounts.sync(
            site, claims, self.current(request), lang if lang in ("sv", "en") else language(request)
        )
        if issued is None:
            return JSONResponse({"adopted": False}, headers={"Cache-Control": "no-store"})
        return self.respond(issued, request)

    async def withdraw(self, request: Request) -> Response:
        """
        summary: Withdraw consent
        description: Appends a ConsentWithdrawn receipt and sets the cookies to the refusal.
        requestBody:
          content:
            application/json:
              schema: {type: object, properties: {lang: {type: string, enum: [sv, en]}}}
        responses:
          201:
            description: The withdrawal receipt.
            content:
              application/json:
                schema:
                  type: object
                  required: [receipt, jws]
                  properties:
                    receipt: {type: object, required: [receipt_id, subject, event, event_time, purposes]}
                    jws: {type: string, pattern: '^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$'}
          403: {description: Origin not one of the sites' domains.}
          422: {description: 'No consent cookie, so nothing to withdraw.'}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
        """
        body = await read_json(request, MAX_BODY)
        previous = self.current(request)
        if previous is None:
            raise Unprocessable("there is no consent cookie, so there is nothing to withdraw", field="cookie")
        site = self.settings.site(previous.site_id)
        if site is None:
            raise Unprocessable("the consent cookie names a site that no longer exists", field="cookie")
        lang = body.get("lang") if isinstance(body, dict) else None
        choice = Choice(
            site=site,
            decisions={c: False for c in previous.decisions},
            method="withdraw",
            notice_version=previous.version,
            lang=lang if lang in ("sv", "en") else language(request),
            gpc=False,
            gpc_signal=sec_gpc(request),
        )
        return self.respond(await self.service.issue(choice, previous), request)

    async def history(self, request: Request) -> Response:
        """
        summary: The visitor's consent state and history
        description: Identified by the `samtycke_consent` cookie; each receipt with its inclusion proof.
        responses:
          200:
            description: State, history and the checkpoint the proofs lead to.
            content:
              application/json:
                schema:
                  type: object
                  required: [consent_id, state, history, checkpoint]
                  properties:
                    consent_id: {type: string, nullable: true}
                    state: {type: object, nullable: true}
                    history:
                      type: array
                      items: {type: object, required: [receipt, inclusion_proof]}
                    checkpoint: {type: string, nullable: true}
        """
        previous = self.current(request)
        if previous is None:
            return JSONResponse({"consent_id": None, "state": None, "history": [], "checkpoint": None})
        items, checkpoint = await self.service.history(previous.consent_id)
        state = {
            "site_id": previous.site_id,
            "granted": previous.granted,
            "decisions": previous.decisions,
            "notice_version": previous.version,
            "method": previous.method,
            "expires": previous.exp,
        }
        return JSONResponse(
            {
                "consent_id": previous.consent_id,
                "state": state,
                "history": [
                    {
                        "receipt": self.service.receipt_of(item, previous.consent_id),
                        "inclusion_proof": self.service.proof(item.index, checkpoint.size),
                    }
                    for item in items
                ],
                "checkpoint": checkpoint.note,
            },
            headers={"Cache-Control": "no-store"},
        )

    async def export(self, request: Request) -> Response:
        """
        summary: Download the visitor's history (Kantara receipts or DPV JSON-LD)
        parameters:
          - {name: format, in: query, schema: {type: string, enum: [kantara, dpv]}}
        responses:
          200:
            description: The history for portability.
            content:
              application/json:
                schema:
                  type: object
                  required: [consent_receipts]
                  properties: {consent_receipts: {type: array, items: {type: object}}}
              application/ld+json: {schema: {type: object}}
          422: {description: Unknown format.}
        """
        fmt = request.query_params.get("format", "kantara")
        if fmt not in ("kantara", "dpv"):
            raise Unprocessable("format must be kantara or dpv", field="format")
        previous = self.current(request)
        receipts: list[dict[str, Any]] = []
        if previous is not None:
            items, _ = await self.service.history(previous.consent_id)
            receipts = [self.service.receipt_of(item, previous.consent_id) for item in items]
        if fmt == "kantara":
            body: Any = {"consent_receipts": receipts}
            media, name = "application/json", "samtycke-receipts.json"
        else:
            body = as_dpv(receipts)
            media, name = "application/ld+json", "samtycke-receipts.jsonld"
        return Response(
            json.dumps(body, ensure_ascii=False, indent=2),
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    async def erase(self, request: Request) -> Response:
        """
        summary: Erase the visitor's record
        description: >-
          Deletes the per-subject salt (crypto-shredding), appends a tombstone and expires the
          cookies; the log still verifies.
        responses:
          200:
            description: Erased (or there was nothing to erase).
            content:
              application/json:
                schema:
                  type: object
                  required: [erased, tombstone]
                  properties:
                    erased: {type: boolean}
                    tombstone:
                      type: object
                      nullable: true
                      required: [log_index, leaf_hash]
                      properties: {log_index: {type: integer, minimum: 0}, leaf_hash: {type: string}}
          403: {description: Origin not one of the sites' domains.}
          429: {$ref: "#/components/responses/TooManyConsentWrites"}
        """
        previous = self.current(request)
        tombstone = await self.service.erase(previous.consent_id) if previous else None
        response = JSONResponse(
            {
                "erased": tombstone is not None,
                "tombstone": {"log_index": tombstone.index, "leaf_hash": tombstone.leaf_hash.hex()}
                if tombstone
                else None,
            }
        )
        cookies.expire_cookies(response, self.secure(request))
        return response

    async def preflight(self, request: Request) -> Response:
        origin = request.headers.get("origin", "")
        if not self.origins.allows(origin, request.scope):
            raise Forbidden("this origin is not one of the sites' domains", field="origin")
        return cors.preflight(origin, methods=ALLOW_METHODS, headers=ALLOW_HEADERS, max_age=600)


def routes(api: ConsentAPI) -> list[BaseRoute]:
    return [
        Route(
            "/api/v1/sites/{site_id}/consent-config",
            api.with_cors(api.consent_config, writes=False),
            methods=["GET"],
        ),
        Route(
            "/api/v1/sites/{site_id}/consent-config",
            api.preflight,
            methods=["OPTIONS"],
            include_in_schema=False,
        ),
        DirectRoute("/api/v1/consent", api.with_cors(api.choose, writes=True), methods=["POST"]),
        Route("/api/v1/consent", api.with_cors(api.history, writes=False), methods=["GET"]),
        Route("/api/v1/consent", api.with_cors(api.erase, writes=True), methods=["DELETE"]),
        Route("/api/v1/consent", api.preflight, methods=["OPTIONS"], include_in_schema=False),
        Route("/api/v1/consent/withdraw", api.with_cors(api.withdraw, writes=True), methods=["POST"]),
        Route("/api/v1/consent/withdraw", api.preflight, methods=["OPTIONS"], include_in_schema=False),
        Route("/api/v1/consent/account", api.with_cors(api.account_sync, writes=True), methods=["POST"]),
        Route("/api/v1/consent/account", api.preflight, methods=["OPTIONS"], include_in_schema=False),
        Route("/api/v1/consent/export", api.with_cors(api.export, writes=False), methods=["GET"]),
        Route("/api/v1/consent/export", api.preflight, methods=["OPTIONS"], include_in_schema=False),
    ]
