"""Routes the app dispatches ahead of its router."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send


class DirectRoute(Route):
    """A route for one of the few endpoints that answer most requests (tracking hits, consent writes).

    The app sends its requests straight here, ahead of the router's scan and Starlette's
    two exception layers, each of which wraps every ``send``; they still pass the access
    log and the body limit, and errors reach the app's handlers (see ``samtycke.web.app.App``).
    A handler function is called without ``Route``'s per-route copy of the exception
    handling too.  The endpoint, its name and its OpenAPI docstring stay the handler's.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        if inspect.isfunction(endpoint) or inspect.ismethod(endpoint):
            handler: Callable[[Request], Awaitable[Response]] = endpoint

            async def app(scope: Scope, receive: Receive, send: Send) -> None:
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)

            self.app = app
