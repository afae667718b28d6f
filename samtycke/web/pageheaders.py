"""Security headers on every page samtycke serves, added in one place for all of them.

Every HTML response gets a Content-Security-Policy that allows scripts and styles only
from samtycke's own origin or inline with the response's own nonce, lets no other site
frame the page (``frame-ancestors 'self'``: the demo frames its own embed), and sends
forms only back to samtycke; with it ``Referrer-Policy: strict-origin-when-cross-origin``,
so links to other sites do not carry the dashboard's query (its filters) along.  Every
response gets ``X-Content-Type-Options: nosniff``, so no answer is ever read as a page of
another type.  A page that needs an inline script or style takes the nonce from
``nonce(scope)``; a fresh one is made per response, so a nonce seen once is worth nothing.

The banner and the tracker run on the sites' own pages, under the sites' own policies;
these headers govern only samtycke's pages.
"""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE = "samtycke.csp_nonce"  # where the response's nonce is kept in the ASGI scope

NOSNIFF = (b"x-content-type-options", b"nosniff")
REFERRER = (b"referrer-policy", b"strict-origin-when-cross-origin")


def policy(nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


def nonce(scope: Scope) -> str:
    """The nonce of this request's response, made on first use."""
    made: str | None = scope.get(NONCE)
    if made is None:
        made = scope[NONCE] = secrets.token_urlsafe(16)
    return made


class PageHeaders:
    """Adds the headers above to each response as it starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(scope, list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, with_headers)


def _secured(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    html = False
    for name, value in headers:
        if name.lower() == b"content-type":
            html = value.lower().startswith(b"text/html")
    # Ours replace whatever a handler set, so no page can weaken them by accident.
    ours = [NOSNIFF]
    if html:
        ours += [(b"content-security-policy", policy(nonce(scope)).encode()), REFERRER]
    names = {name for name, _ in ours}
    return [*(header for header in headers if header[0].lower() not in names), *ours]
