"""Pages for people: the start page, login, and the built-in demo site."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke.auth import SESSION_COOKIE, SESSION_SECONDS
from samtycke.ratelimit import RateLimiter
from samtycke.services import Services
from samtycke.web import assets
from samtycke.web.errors import BadRequest, NotFound, TooManyRequests
from samtycke.web.i18n import language

LOGIN_ATTEMPTS = 10
LOGIN_WINDOW = 300.0


def _safe_next(target: str) -> str:
    """Only same-site paths: a login form must not become an open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def routes(services: Services) -> list[BaseRoute]:
    limiter = RateLimiter(LOGIN_ATTEMPTS, LOGIN_WINDOW)
    templates = services.templates

    async def start(request: Request) -> Response:
        """
        summary: Start page
        responses:
          200: {description: HTML page.}
        """
        return templates.TemplateResponse(
            request,
            "start.html",
            {
                "lang": language(request),
                "settings": services.settings,
                "storage": services.storage.target.describe(),
                "embedded": services.embedded,
                "state": services.state,
            },
        )

    async def login_form(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "login.html",
            {
                "lang": language(request),
                "next": _safe_next(request.query_params.get("next", "/")),
                "failed": False,
            },
        )

    async def login(request: Request) -> Response:
        # The key is a hash of the address: the limiter never holds a raw IP.
        address = services.client_ip.of(request)
        key = hashlib.sha256(f"login:{address}".encode()).hexdigest()[:16]
        if not limiter.allow(key):
            raise TooManyRequests(
                "too many login attempts; wait a few minutes and try again",
                headers={"Retry-After": str(limiter.retry_after(key))},
            )
        form = await request.form()
        name, password, token = (str(form.get(k) or "") for k in ("name", "password", "token"))
        target = _safe_next(str(form.get("next") or "/"))
        if token:
            principal = services.auth.check_token(token)
        elif name and password:
            principal = services.auth.check_password(name, password)
        else:
            raise BadRequest("enter a user name and password, or a token", field="name")
        if principal is None:
            return templates.TemplateResponse(
                request,
                "login.html",
                {"lang": language(request), "next": target, "failed": True},
                status_code=401,
            )
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            services.auth.session_value(principal),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    async def demo(request: Request) -> Response:
        return _demo_file(request, "demo.html")

    async def demo_embed(request: Request) -> Response:
        return _demo_file(request, "demo-embed.html")

    async def demo_tracker(request: Request) -> Response:
        return _demo_file(request, "tracker-demo.html")

    def _demo_file(request: Request, name: str) -> Response:
        if not services.settings.server.demo:
            raise NotFound("the demo is switched off (server.demo)")
        path = assets.DEMO / name
        if not path.exists():
            raise NotFound("the demo page is not built")
        nonce = secrets.token_urlsafe(16)
        html = path.read_text(encoding="utf-8").replace("{{nonce}}", nonce)
        csp = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data:; frame-src 'self'; connect-src 'self'; base-uri 'none'; "
            "object-src 'none'; frame-ancestors 'self'"
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})

    return [
        Route("/", start, methods=["GET"]),
        Route("/login", login_form, methods=["GET"], include_in_schema=False),
        Route("/login", login, methods=["POST"], include_in_schema=False),
        Route("/logout", logout, methods=["POST"], include_in_schema=False),
        Route("/demo", demo, methods=["GET"], include_in_schema=False),
        Route("/demo/embed", demo_embed, methods=["GET"], include_in_schema=False),
        Route("/demo/tracker", demo_tracker, methods=["GET"], include_in_schema=False),
    ]
