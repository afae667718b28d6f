"""``/api/v1/accounts/consent``: a customer account's consent, for the portal's backend.

The caller is the site's customer portal, with an account token it minted (``Authorization:
Bearer <JWT>``) naming the site and the customer.  This is not samtycke's own staff accounts
API (``/api/v1/accounts/{name}``, admins only), which takes samtycke's bearer tokens; the
name ``consent`` is kept from staff accounts so the two never meet.  ``GET`` answers the
account's current choice; ``DELETE``, with a token of scope ``erase``, crypto-shreds every
receipt linked to the account.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from consent.accounts.service import AccountConsent
from consent.accounts.tokens import AccountClaims, AccountsNotEnabled, AccountTokenError, claimed_site, verify
from consent.categories import NECESSARY
from samtycke.settings import Site
from samtycke.web.errors import Forbidden, HTTPError, Unauthorized

PATH = "/api/v1/accounts/consent"
NO_STORE = {"Cache-Control": "no-store"}
CHALLENGE = 'Bearer realm="samtycke accounts", error="invalid_token"'


def token_error(exc: AccountTokenError, field: str) -> HTTPError:
    """The web boundary's answer to an account token that vouches for nothing."""
    if isinstance(exc, AccountsNotEnabled):
        return Forbidden(exc.message, field=field, code="accounts_not_enabled")
    return Unauthorized(
        exc.message, field=field, code="invalid_account_token", headers={"WWW-Authenticate": CHALLENGE}
    )


def choice_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "receipt_id": entry["receipt_id"],
        "event": entry["event"],
        "event_time": entry["event_time"],
        "method": entry["method"],
        "decisions": {c: bool(on) for c, on in entry["decisions"].items() if c != NECESSARY},
        "notice_version": entry["notice"]["version"],
        "valid_until": entry["validity"]["until"],
    }


class AccountConsentAPI:
    def __init__(self, accounts: AccountConsent) -> None:
        self.accounts = accounts
        self.settings = accounts.services.settings

    def bearer(self, request: Request) -> tuple[Site, AccountClaims]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise AccountTokenError("missing", "send the account token as Authorization: Bearer <token>")
            site = self.settings.site(claimed_site(token.strip()))
            if site is None:
                raise AccountTokenError("site", "the account token names no site served here")
            return site, verify(token.strip(), site, time.time())
        except AccountTokenError as exc:
            raise token_error(exc, "authorization") from None

    async def show(self, request: Request) -> Response:
        """
        summary: A customer account's current consent choice (for the site's portal)
        description: >-
          `Authorization: Bearer <account token>`: an HS256 JWT the portal signs with the site's
          `accounts.secret` (claims `aud` "samtycke", `sub`, `site`, `exp` at most ten minutes ahead).
        security: [{account_token: []}]
        responses:
          200:
            description: '`{"site_id", "choice"}`; `choice` is null when the account has none now.'
            content:
              application/json:
                schema:
                  type: object
                  required: [site_id, choice]
                  properties:
                    site_id: {type: integer}
                    choice: {type: object, nullable: true}
          401:
            description: No account token, or one that is forged, expired, for another site or audience.
          403: {description: The site has not enabled accounts.}
        """
        site, claims = self.bearer(request)
        current = await self.accounts.current(site, claims)
        body = {"site_id": site.id, "choice": choice_json(current.entry) if current else None}
        return JSONResponse(body, headers=NO_STORE)

    async def erase(self, request: Request) -> Response:
        """
        summary: Erase every receipt linked to a customer account (for the site's portal)
        description: >-
          Needs an account token with `scope` "erase". Each browser's receipts linked to the account
          are crypto-shredded as visitor erasure does (their salts deleted, tombstones appended), and
          so is the account's own commitment; the log still verifies.
        security: [{account_token: []}]
        responses:
          200:
            description: '`{"erased": n}`: how many linked receipts were erased (0: none were known).'
            content:
              application/json:
                schema:
                  type: object
                  required: [erased]
                  properties: {erased: {type: integer, minimum: 0}}
          401:
            description: No account token, or one that is forged, expired, for another site or audience.
          403: {description: 'The token''s scope is not erase, or the site has not enabled accounts.'}
        """
        site, claims = self.bearer(request)
        if claims.scope != "erase":
            raise Forbidden(
                'erasing needs an account token with scope "erase"',
                field="authorization",
                code="insufficient_scope",
            )
        return JSONResponse({"erased": await self.accounts.erase(site, claims)}, headers=NO_STORE)


def routes(accounts: AccountConsent) -> list[BaseRoute]:
    api = AccountConsentAPI(accounts)
    return [
        Route(PATH, api.show, methods=["GET"]),
        Route(PATH, api.erase, methods=["DELETE"]),
    ]
