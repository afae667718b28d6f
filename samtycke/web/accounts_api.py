"""``/api/v1/accounts``: accounts and bearer tokens for scripts, and their record for auditors.

Admins only, by bearer token or by the login cookie (a cookie-authenticated change must
come from samtycke's own pages: ``Auth.require``).  Accounts of the configuration file are
listed ``read_only``; changing them is a 409 that says to change the file.  A new token is
in the answer to the request that made it and nowhere else, so that answer is never
cached.  ``GET /api/v1/audit/accounts`` gives auditors the record of every change: who,
what, to whom, when, never a secret.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke.accounts.model import RESERVED
from samtycke.numbers import is_whole_number
from samtycke.services import Services
from samtycke.web.account_admin import AccountAdmin, account_json, event_json
from samtycke.web.bodies import read_json
from samtycke.web.errors import BadRequest, MethodNotAllowed, Unprocessable

NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_EVENTS, MAX_EVENTS = 100, 1000
# Account documents are a name, a role and a password: a few hundred bytes.
MAX_BODY = 16 * 1024


async def body_object(request: Request) -> dict[str, Any]:
    document = await read_json(request, MAX_BODY)
    if document is None:
        raise BadRequest("the body is not valid JSON", field="body")
    if not isinstance(document, dict):
        raise Unprocessable("the body is a JSON object", field="body")
    return document


def text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str):
        raise Unprocessable(f"{name} is required, as a string", field=name)
    return value


class AccountsAPI:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.admin = AccountAdmin(services)

    async def list(self, request: Request) -> Response:
        """
        summary: Every account, with its tokens (admin)
        description: >-
          Accounts of the configuration file come first, marked `read_only`; `kind` is
          `user` (logs in with a password) or `token` (a `[[tokens]]` entry). Tokens are
          listed by id, never by value.
        security: [{bearer: []}]
        responses:
          200:
            description: >-
              `{"accounts": [{"name", "role", "kind", "disabled", "read_only", "created_at",
              "tokens": [{"id", "created_at", "read_only"}]}]}`
        """
        await self.services.auth.require(request, "admin")
        listed = await self.admin.listed()
        return JSONResponse({"accounts": [account_json(item) for item in listed]}, headers=NO_STORE)

    async def create(self, request: Request) -> Response:
        """
        summary: Create an account (admin)
        security: [{bearer: []}]
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [name, role, password]
                properties:
                  name: {type: string, maxLength: 64, pattern: '^[\\w.@+-]+$'}
                  role: {type: string, enum: [marketer, auditor, admin]}
                  password: {type: string, minLength: 10, maxLength: 1024}
        responses:
          201: {description: The account.}
          409: {description: 'The name is taken, here or in the configuration file.'}
          422: {description: 'A name, role or password that cannot be used; `error.field` says which.'}
        """
        actor = await self.services.auth.require(request, "admin")
        document = await body_object(request)
        created = await self.admin.create(
            text(document, "name"), text(document, "role"), text(document, "password"), actor=actor
        )
        return JSONResponse(account_json(created), status_code=201, headers=NO_STORE)

    async def show(self, request: Request) -> Response:
        """
        summary: One account, with its tokens (admin)
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          200: {description: The account.}
          404: {description: No such account.}
        """
        await self.services.auth.require(request, "admin")
        found = await self.admin.one(request.path_params["name"])
        return JSONResponse(account_json(found), headers=NO_STORE)

    async def change(self, request: Request) -> Response:
        """
        summary: Disable or enable an account (admin)
        description: >-
          A disabled account is logged out everywhere and its tokens stop working until it
          is enabled again. The last admin who can log in cannot be disabled.
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [disabled]
                properties:
                  disabled: {type: boolean}
        responses:
          200: {description: The account.}
          404: {description: No such account.}
          409: {description: 'The account is in the configuration file, or is the last admin.'}
        """
        if request.path_params["name"] in RESERVED:
            # /api/v1/accounts/consent is a customer account's consent, which answers GET and DELETE.
            raise MethodNotAllowed("this path answers GET and DELETE", headers={"Allow": "GET, HEAD, DELETE"})
        actor = await self.services.auth.require(request, "admin")
        document = await body_object(request)
        disabled = document.get("disabled")
        if not isinstance(disabled, bool):
            raise Unprocessable("disabled is required, true or false", field="disabled")
        name = request.path_params["name"]
        await self.admin.set_disabled(name, disabled, actor=actor)
        return JSONResponse(account_json(await self.admin.one(name)), headers=NO_STORE)

    async def delete(self, request: Request) -> Response:
        """
        summary: Delete an account (admin)
        description: >-
          The account and its tokens go, and it is logged out everywhere; the record of it
          stays. The last admin who can log in cannot be deleted.
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          200: {description: '`{"name", "deleted": true}`'}
          404: {description: No such account.}
          409: {description: 'The account is in the configuration file, or is the last admin.'}
        """
        actor = await self.services.auth.require(request, "admin")
        name = request.path_params["name"]
        await self.admin.delete(name, actor=actor)
        return JSONResponse({"name": name, "deleted": True})

    async def password(self, request: Request) -> Response:
        """
        summary: Set an account's password (admin)
        description: The account's sessions end, so whoever knew the old password is logged out.
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        requestBody:
          required: true
          content:
            application/json:
              schema:
                type: object
                required: [password]
                properties:
                  password: {type: string, minLength: 10, maxLength: 1024}
        responses:
          200: {description: '`{"name", "password_set": true}`'}
          404: {description: No such account.}
          409: {description: The account is in the configuration file.}
        """
        actor = await self.services.auth.require(request, "admin")
        document = await body_object(request)
        name = request.path_params["name"]
        await self.admin.set_password(name, text(document, "password"), actor=actor)
        return JSONResponse({"name": name, "password_set": True})

    async def issue_token(self, request: Request) -> Response:
        """
        summary: Issue a bearer token for an account (admin)
        description: >-
          The token has the account's role. It is in this answer only: samtycke keeps its
          sha256, so it cannot be shown again. Send it as `Authorization: Bearer <token>`.
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          201: {description: '`{"name", "token", "tokens"}`: the token, and the account''s tokens by id.'}
          404: {description: No such account.}
          409: {description: The account is in the configuration file.}
          422: {description: The account is disabled.}
        """
        actor = await self.services.auth.require(request, "admin")
        name = request.path_params["name"]
        token = await self.admin.issue_token(name, actor=actor)
        tokens = account_json(await self.admin.one(name))["tokens"]
        return JSONResponse(
            {"name": name, "token": token, "tokens": tokens}, status_code=201, headers=NO_STORE
        )

    async def revoke_token(self, request: Request) -> Response:
        """
        summary: Revoke one of an account's bearer tokens (admin)
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
          - {name: token_id, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          200: {description: '`{"name", "token_id", "revoked": true}`'}
          404: {description: The account has no live token of this id.}
          409: {description: The token is in the configuration file.}
        """
        actor = await self.services.auth.require(request, "admin")
        name, token_id = request.path_params["name"], request.path_params["token_id"]
        await self.admin.revoke_token(name, token_id, actor=actor)
        return JSONResponse({"name": name, "token_id": token_id, "revoked": True})

    async def end_sessions(self, request: Request) -> Response:
        """
        summary: Log an account out everywhere (admin)
        description: >-
          Every session of the account ends: at once on this instance, within seconds on
          the others. Its tokens keep working; revoke them to stop those too.
        security: [{bearer: []}]
        parameters:
          - {name: name, in: path, required: true, schema: {type: string, maxLength: 64}}
        responses:
          200: {description: '`{"name", "ended"}`: how many sessions were ended.'}
        """
        actor = await self.services.auth.require(request, "admin")
        name = request.path_params["name"]
        return JSONResponse({"name": name, "ended": await self.admin.end_sessions(name, actor=actor)})

    async def events(self, request: Request) -> Response:
        """
        summary: The record of account changes, newest first (auditor)
        description: >-
          Who (`actor`) did what (`action`: create, set_password, disable, enable, delete,
          issue_token, revoke_token, end_sessions) to whom (`target`) and when; `detail` is
          never a secret.
        security: [{bearer: []}]
        parameters:
          - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        responses:
          200: {description: '`{"events": [{"at", "actor", "action", "target", "detail"}]}`'}
        """
        await self.services.auth.require(request, "auditor")
        raw = request.query_params.get("limit", str(DEFAULT_EVENTS))
        if not is_whole_number(raw) or len(raw) > len(str(MAX_EVENTS)) or not 1 <= int(raw) <= MAX_EVENTS:
            raise Unprocessable(f"limit is a whole number from 1 to {MAX_EVENTS}", field="limit")
        recorded = await self.services.accounts.events.recent(int(raw))
        return JSONResponse({"events": [event_json(event) for event in recorded]}, headers=NO_STORE)


def routes(services: Services) -> list[BaseRoute]:
    api = AccountsAPI(services)
    base = "/api/v1/accounts"
    return [
        Route(base, api.list, methods=["GET"]),
        Route(base, api.create, methods=["POST"]),
        Route(base + "/{name}", api.show, methods=["GET"]),
        Route(base + "/{name}", api.change, methods=["PATCH"]),
        Route(base + "/{name}", api.delete, methods=["DELETE"]),
        Route(base + "/{name}/password", api.password, methods=["PUT"]),
        Route(base + "/{name}/tokens", api.issue_token, methods=["POST"]),
        Route(base + "/{name}/tokens/{token_id}", api.revoke_token, methods=["DELETE"]),
        Route(base + "/{name}/sessions", api.end_sessions, methods=["DELETE"]),
        Route("/api/v1/audit/accounts", api.events, methods=["GET"]),
    ]
