"""Pages for people: the start page and the built-in demo site (logging in: ``samtycke.web.login``)."""

from __future__ import annotations

import contextlib

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from samtycke.services import Services
from samtycke.unavailable import Unavailable
from samtycke.web import assets, pageheaders
from samtycke.web.errors import HTTPError, NotFound
from samtycke.web.i18n import language


class Pages:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def start(self, request: Request) -> Response:
        """
        summary: Start page
        responses:
          200: {description: HTML page.}
        """
        services = self.services
        # Only to show an admin the accounts page; the start page itself needs no login,
        # so a session that cannot be checked now just shows the anonymous page.
        with contextlib.suppress(HTTPError, Unavailable):
            await services.auth.authenticate(request)
        return services.templates.TemplateResponse(
            request,
            "start.html",
            {
                "lang": language(request),
                "settings": services.settings,
                "storage": services.storage.target.describe(),
                "embedded": services.embedded,
                "state": services.state,
                "setup_pending": services.first_run is not None and services.first_run.pending,
            },
        )

    async def demo(self, request: Request) -> Response:
        return self._demo_file(request, "demo.html")

    async def demo_embed(self, request: Request) -> Response:
        return self._demo_file(request, "demo-embed.html")

    async def demo_tracker(self, request: Request) -> Response:
        return self._demo_file(request, "tracker-demo.html")

    def _demo_file(self, request: Request, name: str) -> Response:
        if not self.services.settings.server.demo:
            raise NotFound("the demo is switched off (server.demo)")
        path = assets.DEMO / name
        if not path.exists():
            raise NotFound("the demo page is not built")
        # The page's inline scripts and styles carry the nonce its Content-Security-Policy names.
        html = path.read_text(encoding="utf-8").replace("{{nonce}}", pageheaders.nonce(request.scope))
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def routes(services: Services) -> list[BaseRoute]:
    pages = Pages(services)
    return [
        Route("/", pages.start, methods=["GET"]),
        Route("/demo", pages.demo, methods=["GET"], include_in_schema=False),
        Route("/demo/embed", pages.demo_embed, methods=["GET"], include_in_schema=False),
        Route("/demo/tracker", pages.demo_tracker, methods=["GET"], include_in_schema=False),
    ]
