"""The first-run page: ``/setup/<token>`` creates the first admin (``samtycke.accounts.first_run``).

The link is a secret, so its page is never cached (and, like every page, names only its
origin to other sites: ``samtycke.web.pageheaders``).  The form is a
cookie-less change that logs its sender in, so it is held to samtycke's own pages like the
login form (``samtycke.web.sameorigin``).  A link that no longer works is a 404, the same
whether it never existed, was used, expired or belonged to an earlier process.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from samtycke.accounts import AccountError, Principal
from samtycke.component import Component
from samtycke.services import Services
from samtycke.web import links
from samtycke.web.errors import NotFound
from samtycke.web.i18n import language
from samtycke.web.login import MAX_NAME, logged_in
from samtycke.web.surface import own_origin_only

logger = logging.getLogger("samtycke.setup")
PRIVATE = {"Cache-Control": "no-store"}
GONE = (
    "this setup link does not work: it was used, it expired, or samtycke restarted. "
    "Restarting `samtycke serve` prints a new one while there is no admin; or run "
    "`samtycke account create NAME --role admin`"
)
# What a refusal says in the form, by the field it concerns.
MESSAGES = {
    "name": (
        "Användarnamnet kan inte användas. Det får ha 1 till 64 bokstäver, siffror eller "
        ". @ + - _ och får inte redan finnas.",
        "That user name cannot be used: 1 to 64 letters, digits or . @ + - _, and not one that exists.",
    ),
    "password": (
        "Lösenordet måste ha minst 10 tecken.",
        "The password needs at least 10 characters.",
    ),
    "again": (
        "Lösenorden stämmer inte överens.",
        "The passwords do not match.",
    ),
}


class Setup:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _token(self, request: Request) -> str:
        first_run = self.services.first_run
        token = str(request.path_params["token"])
        if first_run is None or not first_run.accepts(token):
            raise NotFound(GONE)
        return token

    async def form(self, request: Request) -> Response:
        self._token(request)
        return self._page(request)

    async def create(self, request: Request) -> Response:
        self.services.auth.same_origin.require(request)
        token = self._token(request)
        form = await request.form()
        name, password, again = (str(form.get(k) or "") for k in ("name", "password", "again"))
        if password != again:
            return self._page(request, name=name, problem="again")
        first_run = self.services.first_run
        assert first_run is not None
        try:
            account = await first_run.claim(self.services.accounts, token, name, password)
        except AccountError as exc:
            return self._page(request, name=name, problem=exc.field or "name")
        if account is None:
            raise NotFound(GONE)
        logger.info("first admin created")
        return await logged_in(
            self.services, request, Principal(account.name, account.role), links.start(request)
        )

    def _page(self, request: Request, *, name: str = "", problem: str = "") -> Response:
        lang = language(request)
        if problem:
            logger.info("first admin refused", extra={"field": problem})
        message = MESSAGES[problem][0 if lang == "sv" else 1] if problem else ""
        return self.services.templates.TemplateResponse(
            request,
            "setup.html",
            {"lang": lang, "name": name[:MAX_NAME], "problem": problem, "message": message},
            status_code=422 if problem else 200,
            headers=PRIVATE,
        )


def routes(services: Services) -> list[BaseRoute]:
    setup = Setup(services)
    return own_origin_only(
        [
            Route("/setup/{token}", setup.form, methods=["GET"], include_in_schema=False),
            Route("/setup/{token}", setup.create, methods=["POST"], include_in_schema=False),
        ]
    )


async def offer(services: Services) -> None:
    """Once ClickHouse is up: print a setup link if nobody can administer samtycke."""
    if services.first_run is not None and await services.first_run.offer(services.accounts):
        logger.warning("no admin account: a one-time setup link was printed on the terminal")


def build(services: Services) -> Component:
    async def when_ready() -> None:
        await offer(services)

    return Component(name="setup", routes=routes(services), on_storage_ready=[when_ready])
