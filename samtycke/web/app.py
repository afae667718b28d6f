"""The application factory: settings in, a Starlette app out.

The app's lifespan owns every long-lived part: it opens the journal (replaying whatever
an earlier process left unshipped), starts the shipper once ClickHouse is reachable and
migrated, and at shutdown ships what it can before closing.  ClickHouse being down at
start-up is not fatal: hits and receipts are journalled, and ``/readyz`` says why the
service is not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from samtycke.component import Component, optional_module
from samtycke.invalid import Invalid
from samtycke.logs import AccessLog
from samtycke.services import Services, build
from samtycke.settings import Settings
from samtycke.storage.priority import keep_native_threads_low
from samtycke.unavailable import Unavailable
from samtycke.web import accounts, assets, health, login, pages, setup
from samtycke.web.asgi import header_values
from samtycke.web.errors import HTTPError, PayloadTooLarge, from_invalid, from_status, from_unavailable
from samtycke.web.headerlimit import HeaderLimit
from samtycke.web.i18n import language
from samtycke.web.pageheaders import PageHeaders
from samtycke.web.penalty import Penalty
from samtycke.web.routing import DirectRoute
from samtycke.web.surface import Surface, for_visitors, mounted, own_origin_only

logger = logging.getLogger("samtycke")


# Modules with a `build(services) -> Component` function, in mounting order: the collector
# first, because routing tries routes in order and it answers the most requests.
COMPONENT_MODULES = (
    "analytics.component",
    "consent.component",
    "consent.web.pages",
    "analytics.dashboard",
    "samtycke.backup.web",
)


def components(services: Services) -> list[Component]:
    """The domains' parts, then logging in, managing accounts, and the first-run page."""
    modules = [optional_module(name) for name in COMPONENT_MODULES]
    return [
        *(module.build(services) for module in modules if module is not None),
        login.build(services),
        accounts.build(services),
        setup.build(services),
    ]


def static_folders(parts: list[Component]) -> list[Path]:
    """What ``/static/`` serves: the app's own files, then each domain's, in mounting order."""
    return [assets.STATIC, *(part.static for part in parts if part.static is not None)]


def create_app(
    settings: Settings,
    *,
    services: Services | None = None,
    now: Any = None,
    surface: Surface = Surface.OWN_ORIGIN,
) -> Starlette:
    """The app for samtycke's own origin, or (``Surface.VISITOR``) what a website's visitors may reach."""
    services = services or build(settings, now=now)
    parts = components(services)
    services.migrations = [m for part in parts for m in part.migrations]
    for part in parts:
        if part.templates is not None:
            services.add_templates(part.templates)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(services.journal.open)
        if services.journal.repaired_bytes:
            logger.warning(
                "journal: dropped a torn record left by an interrupted write",
                extra={"bytes": services.journal.repaired_bytes},
            )
        for part in parts:
            for begin in part.on_startup:
                await begin()
        background: list[asyncio.Future[None]] = []

        niceness = settings.storage.embedded_niceness
        if services.embedded and niceness:
            background.append(asyncio.create_task(keep_native_threads_low(niceness), name="chdb-priority"))

        async def when_storage_ready() -> None:
            await services.connect_and_migrate()
            background.append(asyncio.create_task(services.shipper.run(), name="shipper"))
            background.append(asyncio.create_task(services.watch_storage(), name="storage-watch"))
            for part in parts:
                for start in part.on_storage_ready:
                    background.append(asyncio.ensure_future(start()))

        background.append(asyncio.create_task(when_storage_ready(), name="storage-ready"))
        logger.info(
            "samtycke started",
            extra={"storage": services.storage.target.describe(), "sites": [s.id for s in settings.sites]},
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            for part in parts:
                for stop in part.on_shutdown:
                    with contextlib.suppress(Exception):
                        await stop()
            if services.state.migrated and not await services.shipper.flush():
                logger.warning("shutdown: some journalled records remain; they ship at next start")
            await asyncio.to_thread(services.journal.close)
            services.storage.close()
            logger.info("samtycke stopped")

    return _assemble(settings, services, parts, surface, lifespan)


def beside(app: Starlette, surface: Surface) -> Starlette:
    """``app``'s parts on another surface, for another socket of the same process.

    The same services and parts, so one storage, one journal and one consent log, and no
    lifespan of its own: ``app``'s starts and stops them.  ``samtycke proxy --admin-port``
    serves samtycke's own origin this way beside the website's.
    """
    services: Services = app.state.services
    return _assemble(services.settings, services, app.state.parts, surface, None)


def _assemble(
    settings: Settings,
    services: Services,
    parts: list[Component],
    surface: Surface,
    lifespan: Any,
) -> Starlette:
    routes: list[BaseRoute] = [
        *(route for part in parts for route in part.routes),
        *health.routes(services, parts),
        *own_origin_only(pages.routes(services)),
        *for_visitors([Mount("/static", app=assets.StaticFolders(static_folders(parts)), name="static")]),
    ]
    app = App(
        routes=mounted(routes, surface),
        lifespan=lifespan,
        middleware=[
            # Outermost: a network that keeps sending what is refused below is answered unread.
            Middleware(Penalty, client_ip=services.client_ip, budget=services.refusals),
            # Then an oversized request is refused, and logged once, before any parsing.
            Middleware(
                HeaderLimit,
                max_bytes=settings.server.max_header_bytes,
                max_field_bytes=settings.server.max_header_field_bytes,
            ),
            Middleware(AccessLog, metrics=services.metrics),
            Middleware(PageHeaders),
            Middleware(BodyLimit, max_bytes=settings.server.max_body_bytes),
        ],
        exception_handlers={
            HTTPError: render_error,
            Unavailable: render_unavailable,
            Invalid: render_invalid,
            StarletteHTTPException: render_starlette_error,
            Exception: render_unexpected,
        },
    )
    app.state.services = services
    app.state.parts = parts
    app.state.surface = surface
    return app


class App(Starlette):
    """Starlette, with the requests of its ``DirectRoute``s sent straight to them.

    Tracking hits and consent writes are most of the traffic, and for them the router's
    scan and Starlette's two exception layers (each wrapping every ``send``) are a
    measurable share of a request.  A direct request still passes the app's middleware
    (the access log, the body limit), and its errors go to the same handlers as every other
    request's.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # Starlette answers "/dashboard/" with a redirect to an absolute URL built from the
        # Host header, which the client chooses; a wrong path is a 404 instead.
        self.router.redirect_slashes = False
        self._direct = {r.path: r for r in self.router.routes if isinstance(r, DirectRoute)}
        self._direct_stacks: dict[str, ASGIApp] = {}

    def build_middleware_stack(self) -> ASGIApp:
        """Starlette's stack, except that unexpected errors are answered inside the app's middleware.

        Starlette answers them in its outermost layer, outside the access log, so the 500
        would carry no X-Request-ID and its log line no request id, though the message
        points to it.  Here the exception layer that answers every other error answers them
        too, as a direct route's ``ErrorBoundary`` does; the outermost layer is left for
        errors in the middleware itself.
        """
        handlers = self.exception_handlers
        app: ASGIApp = ExceptionMiddleware(self.router, handlers=handlers, debug=self.debug)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=handlers.get(Exception), debug=self.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._direct.get(scope["path"])
            if route is not None and route.methods is not None and scope["method"] in route.methods:
                scope["app"] = self
                scope.setdefault("router", self.router)  # as the router would, for url_for
                scope["route"] = route  # the access log names requests by their route
                scope["endpoint"] = route.endpoint
                await self._direct_stack(route)(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _direct_stack(self, route: DirectRoute) -> ASGIApp:
        stack = self._direct_stacks.get(route.path)
        if stack is None:
            # The app's own middleware around the route, as Starlette would stack it.
            stack = ErrorBoundary(route.app, self.exception_handlers)
            for cls, args, kwargs in reversed(self.user_middleware):
                stack = cls(stack, *args, **kwargs)
            self._direct_stacks[route.path] = stack
        return stack


class ErrorBoundary:
    """Renders an exception with the app's handler for it, as Starlette's exception layers do."""

    def __init__(self, app: ASGIApp, handlers: Mapping[Any, Any]) -> None:
        self.app = app
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # too late for an error page; the server closes the connection
            handler = next(self.handlers[cls] for cls in type(exc).__mro__ if cls in self.handlers)
            response = await handler(Request(scope, receive), exc)
            await response(scope, receive, send)


def wants_json(request: Request) -> bool:
    path = request.url.path
    if "/api/" in path or path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def render_error(request: Request, exc: Exception) -> Response:
    """The one place errors become responses: JSON for the API, a page for people."""
    assert isinstance(exc, HTTPError)
    if exc.status >= 500:
        logger.warning("request failed", extra={"status": exc.status, "code": exc.code})
    if wants_json(request):
        return JSONResponse(exc.as_json(), status_code=exc.status, headers=exc.headers)
    services: Services = request.app.state.services
    body = services.templates.get_template("error.html").render(
        request=request, error=exc, lang=language(request)
    )
    return HTMLResponse(body, status_code=exc.status, headers=exc.headers)


async def render_unavailable(request: Request, exc: Exception) -> Response:
    """Infrastructure that cannot serve now: 503, with when to try again if it knows."""
    assert isinstance(exc, Unavailable)
    return await render_error(request, from_unavailable(exc))


async def render_invalid(request: Request, exc: Exception) -> Response:
    """Input a domain refused: 422, naming the field."""
    assert isinstance(exc, Invalid)
    return await render_error(request, from_invalid(exc))


async def render_starlette_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error = from_status(exc.status_code, str(exc.detail))
    error.headers = dict(exc.headers or {})
    return await render_error(request, error)


async def render_unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unexpected error", exc_info=exc)
    error = HTTPError("Something went wrong on our side; the request id identifies it in our logs.")
    return await render_error(request, error)


BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before a handler reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS_METHODS:
            # No handler reads a body for these; tracking GETs skip the header scan.
            await self.app(scope, receive, send)
            return
        for length in header_values(scope, b"content-length"):
            if length.isdecimal() and int(length) > self.max_bytes:
                await _too_large(scope, receive, send, self.max_bytes)
                return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(f"the request body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    request = Request(scope, receive)
    response = await render_error(request, PayloadTooLarge(f"the request body is over {limit} bytes"))
    await response(scope, receive, send)
