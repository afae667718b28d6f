"""``/admin/accounts``: the admin's page for accounts, tokens and sessions.

One page lists every account; its forms all post back to ``/admin/accounts`` with an
``action``, because a form can only GET or POST.  A change answers with a redirect to the
page and a line saying what was done (post, redirect, get), so reloading the page does
not repeat it; that line travels signed, so only samtycke can make it say something.
Issuing a token is the exception: the token is in that one answer, never in an address,
and the answer is not cached.  A refused change shows the page again with the reason, in
the page's language, and the status of the refusal.

Accounts of the configuration file are listed with a note saying so; only their sessions
can be ended here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke.accounts import ROLES
from samtycke.accounts.model import MAX_NAME, MAX_PASSWORD, MIN_PASSWORD
from samtycke.auth import Principal
from samtycke.services import Services
from samtycke.web import links, pageheaders
from samtycke.web.account_admin import AccountAdmin
from samtycke.web.errors import Conflict, HTTPError, NotFound, Unprocessable
from samtycke.web.i18n import language

NO_STORE = {"Cache-Control": "no-store"}
ACTIONS = ("create", "disable", "enable", "delete", "password", "token", "revoke", "sessions")
MAX_FIELD = 2048  # any field of these forms; longer is a mistake or an attack
# What was done travels signed in the redirect's address, so a link made elsewhere cannot
# show an admin that something happened which did not.
DONE_PURPOSE = "accounts-done"
DONE_SECONDS = 60

# What was done, by action; {name} is the account, {ended} the sessions ended.
DONE = {
    "sv": {
        "create": "Kontot {name} har skapats.",
        "disable": "Kontot {name} är inaktiverat och har loggats ut överallt.",
        "enable": "Kontot {name} är aktiverat.",
        "delete": "Kontot {name} har tagits bort.",
        "password": "Lösenordet för {name} har bytts och kontot har loggats ut överallt.",
        "revoke": "En token för {name} har återkallats.",
        "sessions": "{name} har loggats ut överallt; avslutade sessioner: {ended}.",
    },
    "en": {
        "create": "The account {name} was created.",
        "disable": "The account {name} is disabled and was logged out everywhere.",
        "enable": "The account {name} is enabled.",
        "delete": "The account {name} was deleted.",
        "password": "The password of {name} was changed and the account was logged out everywhere.",
        "revoke": "A token of {name} was revoked.",
        "sessions": "{name} was logged out everywhere; sessions ended: {ended}.",
    },
}
# Refusals in Swedish, by error code (and field); English pages show the store's own words.
REFUSED_SV = {
    ("invalid_account", "name"): (
        f"Ett användarnamn har 1 till {MAX_NAME} bokstäver, siffror eller tecknen . @ + - _."
    ),
    ("invalid_account", "role"): "Välj en av rollerna marknadsförare, granskare och administratör.",
    ("invalid_account", "password"): (
        f"Ett lösenord har minst {MIN_PASSWORD} och högst {MAX_PASSWORD} tecken."
    ),
    ("account_exists", "name"): "Det finns redan ett konto med det namnet, här eller i konfigurationsfilen.",
    ("read_only_account", "name"): "Kontot finns i konfigurationsfilen och ändras där.",
    ("read_only_account", "token"): "Token finns i konfigurationsfilen och tas bort där.",
    ("last_admin", "name"): (
        "Det är den sista administratören som kan logga in. Skapa en annan administratör först."
    ),
    ("no_such_account", "name"): "Det finns inget konto med det namnet.",
    ("no_such_token", "token"): "Kontot har ingen sådan token, eller så har den redan återkallats.",
    ("unprocessable", "confirm"): "Kryssa i rutan för att bekräfta borttagningen.",
    ("unprocessable", "action"): "Okänd åtgärd.",
    ("unprocessable", "field"): "Ett fält är för långt.",
}
DISABLED_SV = "Kontot är inaktiverat. Aktivera det först."


def in_swedish(action: str, refused: HTTPError) -> str:
    """A refusal in Swedish; a disabled account is the one reason a token is refused as invalid."""
    if action == "token" and refused.code == "invalid_account":
        return DISABLED_SV
    return REFUSED_SV.get((refused.code, refused.field or ""), refused.message)


class AccountsPage:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.admin = AccountAdmin(services)
        self.zone = ZoneInfo(services.settings.sites[0].timezone if services.settings.sites else "UTC")

    async def page(self, request: Request) -> Response:
        if await self.services.auth.authenticate(request) is None:
            return links.to_login(request)
        await self.services.auth.require(request, "admin")
        lang = language(request)
        said = self.services.signer.loads(
            DONE_PURPOSE, request.query_params.get("done"), max_age=DONE_SECONDS
        )
        done = ""
        if isinstance(said, dict) and said.get("action") in DONE[lang]:
            done = DONE[lang][str(said["action"])].format(
                name=said.get("name", ""), ended=said.get("ended", 0)
            )
        return await self._render(request, {"done": done})

    async def act(self, request: Request) -> Response:
        actor = await self.services.auth.require(request, "admin")
        form = await request.form()
        fields = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        action = fields.get("action", "")
        try:
            if any(len(value) > MAX_FIELD for value in fields.values()):
                raise Unprocessable(f"a field is over {MAX_FIELD} characters", field="field")
            return await self._do(request, action, fields, actor)
        except (Unprocessable, NotFound, Conflict) as refused:
            sv = language(request) == "sv"
            context: dict[str, Any] = {"problem": in_swedish(action, refused) if sv else refused.message}
            if action == "create":  # the form again as it was sent, but for the password
                context["form"] = {"name": fields.get("name", ""), "role": fields.get("role", "")}
            return await self._render(request, context, status=refused.status)

    async def _do(self, request: Request, action: str, fields: dict[str, str], actor: Principal) -> Response:
        name = fields.get("name", "")
        admin = self.admin
        said: dict[str, str | int] = {"action": action, "name": name}
        if action == "create":
            await admin.create(name, fields.get("role", ""), fields.get("password", ""), actor=actor)
        elif action in ("disable", "enable"):
            await admin.set_disabled(name, action == "disable", actor=actor)
        elif action == "delete":
            if fields.get("confirm") != "yes":
                raise Unprocessable("tick the box to confirm the deletion", field="confirm")
            await admin.delete(name, actor=actor)
        elif action == "password":
            await admin.set_password(name, fields.get("password", ""), actor=actor)
        elif action == "revoke":
            await admin.revoke_token(name, fields.get("token_id", ""), actor=actor)
        elif action == "sessions":
            said["ended"] = await admin.end_sessions(name, actor=actor)
        elif action == "token":
            token = await admin.issue_token(name, actor=actor)
            return await self._render(request, {"token": {"name": name, "value": token}}, status=201)
        else:
            raise Unprocessable(f"action is one of {', '.join(ACTIONS)}", field="action")
        query = urlencode({"done": self.services.signer.dumps(DONE_PURPOSE, said)})
        return RedirectResponse(links.href(request, f"/admin/accounts?{query}"), status_code=303)

    async def _render(self, request: Request, context: dict[str, Any], status: int = 200) -> Response:
        full = {
            "lang": language(request),
            "accounts": await self.admin.listed(),
            "roles": ROLES,
            "zone": self.zone.key,
            "local": self._local,
            "nonce": pageheaders.nonce(request.scope),
            "max_name": MAX_NAME,
            "min_password": MIN_PASSWORD,
            "max_password": MAX_PASSWORD,
            "done": "",
            "problem": "",
            "token": None,
            "form": {"name": "", "role": "marketer"},
            **context,
        }
        return self.services.templates.TemplateResponse(
            request, "accounts.html", full, status_code=status, headers=NO_STORE
        )

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")


def routes(services: Services) -> list[BaseRoute]:
    page = AccountsPage(services)
    return [
        Route("/admin/accounts", page.page, methods=["GET"], include_in_schema=False),
        Route("/admin/accounts", page.act, methods=["POST"], include_in_schema=False),
    ]
