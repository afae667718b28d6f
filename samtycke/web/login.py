"""Logging in and out, and ending an account's sessions.

A login is throttled three ways before its password is checked: per client network (an
IPv4 address, or the IPv6 /64 one holder controls), per account name, and for everyone
together, so neither rotating addresses nor rotating names makes guessing cheap.  The
throttle's keys are keyed hashes that live only in this process.  The login form is
checked like every cookie-authenticated write (``samtycke.web.sameorigin``), so another
site cannot log a browser into an account of its choosing.  The session cookie is
``HttpOnly``, ``SameSite=Lax``, and ``Secure`` whenever samtycke is reached over https:
directly, through a trusted proxy, or by its configured public URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke import accounts, logs, sessions
from samtycke.auth import SESSION_COOKIE, Principal
from samtycke.clientip import network
from samtycke.component import Component
from samtycke.ratelimit import RateLimiter, Throttle
from samtycke.services import Services
from samtycke.web import links
from samtycke.web.i18n import language
from samtycke.web.surface import own_origin_only

# (attempts, seconds) per client network, per account name, and for all logins together.
PER_NETWORK = (10, 300.0)
PER_ACCOUNT = (10, 300.0)
EVERYONE = (100, 60.0)
MAX_NAME = 200
# Why the form is shown again, and with which status.
PROBLEMS = {"": 200, "missing": 400, "wrong": 401, "throttled": 429}


class Login:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.auth = services.auth
        self.throttle = Throttle(
            {
                "network": RateLimiter(*PER_NETWORK),
                "account": RateLimiter(*PER_ACCOUNT),
                "everyone": RateLimiter(*EVERYONE),
            }
        )
        # Throttle keys are keyed with a secret of this process, so even memory holds no
        # hash of an address that could be reversed by trying every address.
        self._key = secrets.token_bytes(16)

    def _hashed(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]

    def secure(self, request: Request) -> bool:
        return secure(self.services, request)

    async def form(self, request: Request) -> Response:
        return self._page(request, links.inside(request, request.query_params.get("next", "")))

    def _page(
        self,
        request: Request,
        target: str,
        *,
        problem: str = "",
        name: str = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """The form, again after a refusal: with what went wrong, its status, and the name as typed."""
        if problem:
            logs.note(login_refused=problem)
        first_run = self.services.first_run
        return self.services.templates.TemplateResponse(
            request,
            "login.html",
            {
                "lang": language(request),
                "next": target,
                "problem": problem,
                "name": name[:MAX_NAME],
                "setup_pending": first_run is not None and first_run.pending,
            },
            status_code=PROBLEMS[problem],
            headers=headers,
        )

    async def login(self, request: Request) -> Response:
        self.auth.same_origin.require(request)
        form = await request.form()
        name, password, token = (str(form.get(k) or "") for k in ("name", "password", "token"))
        target = links.inside(request, str(form.get("next") or ""))
        if not token and not (name and password):
            return self._page(request, target, problem="missing", name=name)
        address = self.services.client_ip.of(request)
        keys = {
            "network": self._hashed("network", network(address) if address else "unknown"),
            "everyone": "everyone",
        }
        if not token:
            keys["account"] = self._hashed("account", name)
        wait = self.throttle.allow(keys)
        if wait:
            return self._page(
                request, target, problem="throttled", name=name, headers={"Retry-After": str(wait)}
            )
        principal = (
            await self.auth.check_token(token) if token else await self.auth.check_password(name, password)
        )
        if principal is None:
            return self._page(request, target, problem="wrong", name=name)
        return await logged_in(self.services, request, principal, target)

    async def logout(self, request: Request) -> Response:
        self.auth.same_origin.require(request)
        await self.auth.end_session(request)
        response = RedirectResponse(links.start(request), status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=self.secure(request))
        return response


def secure(services: Services, request: Request) -> bool:
    """Whether samtycke is reached over https, so its cookie must say ``Secure``."""
    return (
        request.url.scheme == "https"
        or services.settings.server.public_url.lower().startswith("https:")
        or services.client_ip.forwarded_https(request)
    )


async def logged_in(services: Services, request: Request, principal: Principal, target: str) -> Response:
    """A new session for ``principal``, its cookie set, on the way to ``target``."""
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        await services.auth.start_session(principal),
        max_age=sessions.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=secure(services, request),
    )
    return response


def routes(services: Services) -> list[BaseRoute]:
    login = Login(services)
    return own_origin_only(
        [
            Route("/login", login.form, methods=["GET"], include_in_schema=False),
            Route("/login", login.login, methods=["POST"], include_in_schema=False),
            Route("/logout", login.logout, methods=["POST"], include_in_schema=False),
        ]
    )


def build(services: Services) -> Component:
    return Component(
        name="login", routes=routes(services), migrations=[*sessions.MIGRATIONS, *accounts.MIGRATIONS]
    )
