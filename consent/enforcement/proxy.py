"""Reverse-proxy mode: samtycke in front of an existing website written in anything.

    visitor → ConsentMiddleware → /_samtycke/... → the samtycke app
                                → everything else → the upstream (httpx, streamed)

samtycke's own endpoints live under ``/_samtycke/`` (the whole app is mounted there).
Every other request goes to the upstream unchanged apart from hop-by-hop headers and
``X-Forwarded-*``; the response comes back unchanged (status, headers, redirects, large
bodies streamed), except that HTML gets the banner's ``<script>`` before ``</head>`` and
cookies are enforced by the same middleware an ASGI app would mount.  An upstream that
cannot be reached gets a 502 page in the product's layout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent import consent_default
from consent.enforcement import codings, credentials, injection, rewritten
from consent.enforcement.injection import PREFIX, banner_tag
from consent.enforcement.middleware import ConsentMiddleware
from samtycke.services import Services
from samtycke.settings import Settings
from samtycke.web.asgi import header
from samtycke.web.errors import HTTPError
from samtycke.web.i18n import language

logger = logging.getLogger("samtycke.proxy")

# The banner takes its API from the origin it was loaded from, so it asks for these at
# the root; the proxy answers them instead of the upstream.
BANNER_PATHS = re.compile(r"^/api/v1/(sites/[^/]+/consent-config|consent(/[a-z]+)?)$")
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
}
TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=60.0, pool=10.0)


class BadGateway(HTTPError):
    status = 502
    code = "bad_gateway"


_NONCE = re.compile(r"script-src[^;]*'nonce-([A-Za-z0-9+/=_-]+)'")


class Proxy:
    """The ASGI app between the middleware and the two destinations."""

    def __init__(
        self,
        upstream: str,
        samtycke: ASGIApp,
        services: Services,
        site_id: int,
        *,
        timeout: httpx.Timeout = TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.samtycke = samtycke
        self.services = services
        self.site_id = site_id
        self.client = httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.samtycke(scope, receive, self._closing(send))
            return
        if scope["type"] != "http":
            return  # websockets are not proxied
        path: str = scope["path"]
        if path == PREFIX or path.startswith(PREFIX + "/"):
            await self.samtycke(self._mounted(scope), receive, send)
        elif BANNER_PATHS.match(path):
            await self.samtycke(scope, receive, send)
        else:
            await self.forward(scope, receive, send)

    def _closing(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.client.aclose()
            await send(message)

        return closing

    @staticmethod
    def _mounted(scope: Scope) -> Scope:
        # Like starlette's Mount: the path stays whole, root_path says what to strip.
        child = dict(scope)
        child["root_path"] = scope.get("root_path", "") + PREFIX
        if scope["path"] == "/_samtycke/banner.js":
            # The built banner is a static file; one address for it, whatever the app routes.
            child["path"] = PREFIX + "/static/banner.js"
            child["raw_path"] = child["path"].encode()
        elif scope["path"] == PREFIX:
            child["path"] = PREFIX + "/"
        return child

    # -- to the upstream ---------------------------------------------------------------------------

    async def _request(self, scope: Scope, receive: Receive) -> httpx.Request:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = self.upstream + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers: list[tuple[bytes, bytes]] = []
        host = b""
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            if key in HOP_BY_HOP or key.startswith(b"x-forwarded-") or key == b"accept-encoding":
                continue
            if key == b"cookie":
                value = credentials.cookie_for_upstream(value.decode("latin-1")).encode("latin-1")
                if not value:
                    continue
            elif key == b"authorization" and await credentials.is_samtycke_token(
                value.decode("latin-1"), self.services.auth
            ):
                continue
            headers.append((key, value))
        accepted = _accepted_encodings(scope)
        if accepted:
            headers.append((b"accept-encoding", accepted.encode()))
        headers.append((b"x-forwarded-host", host))
        headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", str(client[0]).encode()))

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        has_body = any(header(scope, name) is not None for name in (b"content-length", b"transfer-encoding"))
        return self.client.build_request(
            scope["method"], url, headers=headers, content=body() if has_body else None
        )

    async def forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = await self._request(scope, receive)
            response = await self.client.send(request, stream=True)
        except (httpx.HTTPError, ValueError) as exc:
            await self.bad_gateway(scope, receive, send, exc)
            return
        try:
            await self.relay(scope, response, send)
        except httpx.HTTPError as exc:
            # Headers are out: all that is left is to end the body where it broke.
            logger.warning("upstream broke off a response", extra={"reason": type(exc).__name__})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    def _headers(self, response: httpx.Response, drop: set[bytes]) -> list[tuple[bytes, bytes]]:
        out = []
        for key, value in response.headers.raw:
            lower = key.lower()
            if lower in HOP_BY_HOP or lower in drop:
                continue
            if lower == b"location":
                value = self._relocate(value)
            out.append((lower, value))
        return out

    def _relocate(self, location: bytes) -> bytes:
        """Redirects to the upstream's own address point at the proxy instead."""
        text = location.decode("latin-1")
        if text.startswith(self.origin + "/") or text == self.origin:
            return (text[len(self.origin) :] or "/").encode("latin-1")
        return location

    async def relay(self, scope: Scope, response: httpx.Response, send: Send) -> None:
        content_type = response.headers.get("content-type", "").lower()
        injectable = (
            content_type.startswith("text/html")
            and scope["method"] != "HEAD"
            # A byte range is the upstream's bytes, wherever it starts (consent.enforcement.rewritten).
            and response.status_code not in (204, 206, 304)
            and not 100 <= response.status_code < 200
        )
        body = response.aiter_raw()
        if not injectable:
            headers = self._headers(response, set())
            if response.status_code == 304:
                headers = rewritten.revalidated(headers, header(scope, b"if-none-match") or "")
            await self._send_raw(response, send, headers, [], body)
            return
        coding = response.headers.get("content-encoding", "").strip().lower()
        nonce = _nonce(response.headers.get("content-security-policy", ""))
        tag = banner_tag(self.site_id, nonce)
        # The Consent Mode default goes before the page's own tags, whatever they are.
        first = consent_default.tag(nonce).encode()
        plan = await injection.scan(coding, body, tag, first)
        if not plan.injected:
            if plan.reason:
                logger.warning(
                    "HTML passed through without the banner",
                    extra={"reason": plan.reason, "content_encoding": coding[:20]},
                )
            await self._send_raw(response, send, self._headers(response, set()), plan.raw, body)
            return
        identity = coding in ("", "identity")
        # Kept compressed for a visitor who accepts the upstream's coding, else sent decoded.
        accepts = codings.accepted(header(scope, b"accept-encoding") or "", coding)
        out = coding if not identity and accepts else ""
        headers = rewritten.changed(
            self._headers(response, {b"content-encoding"}), varies_on_encoding=not identity
        )
        length = response.headers.get("content-length", "")
        if out:
            headers.append((b"content-encoding", out.encode()))
        elif identity and length.isdecimal():
            headers.append((b"content-length", str(int(length) + len(tag) + len(first)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})

        async def body_part(data: bytes, more: bool) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": more})

        await injection.stream(plan, body, codings.encoder(out), body_part)

    async def _send_raw(
        self,
        response: httpx.Response,
        send: Send,
        headers: list[tuple[bytes, bytes]],
        first: list[bytes],
        rest: AsyncIterator[bytes] | None,
    ) -> None:
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        for chunk in first:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if rest is not None:
            async for chunk in rest:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def bad_gateway(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        logger.warning("upstream unreachable", extra={"reason": type(exc).__name__})
        # The page's stylesheet comes from samtycke, under its prefix, not from the upstream that failed.
        request = Request({**scope, "root_path": PREFIX}, receive)
        lang = language(request)
        message = (
            "Webbplatsen svarar inte just nu. Försök igen om en stund."
            if lang == "sv"
            else "The website is not answering right now. Please try again in a moment."
        )
        error = BadGateway(message)
        html = self.services.templates.get_template("error.html").render(
            request=request, error=error, lang=lang
        )
        body = html.encode()
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"retry-after", b"10"),
        ]
        await send({"type": "http.response.start", "status": 502, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _accepted_encodings(scope: Scope) -> str:
    offered = [part.strip() for part in (header(scope, b"accept-encoding") or "").split(",")]
    return ", ".join(p for p in offered if p.split(";")[0].strip().lower() in codings.DECODABLE)


def _nonce(csp: str) -> str:
    match = _NONCE.search(csp)
    return match.group(1) if match else ""


def create_proxy(
    settings: Settings,
    upstream: str,
    site_id: int | None = None,
    *,
    samtycke: Starlette | None = None,
    **options: Any,
) -> ASGIApp:
    """The whole proxy: enforcement around the router around samtycke and the upstream.

    ``samtycke`` is the visitor surface to mount, when the caller built it to serve
    samtycke's own origin beside it (``samtycke.web.app.beside``); its lifespan, run by
    the proxy's, starts and stops both.
    """
    from samtycke.services import build
    from samtycke.web.app import create_app
    from samtycke.web.surface import Surface

    site = settings.site(site_id) if site_id is not None else (settings.sites[0] if settings.sites else None)
    if site is None:
        raise ValueError(
            f"there is no site {site_id} in the configuration" if site_id else "no [[sites]] configured"
        )
    # Only what the website's visitors need is served on its origin (samtycke.web.surface).
    samtycke = samtycke or create_app(settings, services=build(settings), surface=Surface.VISITOR)
    if samtycke.state.surface is not Surface.VISITOR:
        raise ValueError("the proxy mounts samtycke's visitor surface only")
    services: Services = samtycke.state.services
    proxy = Proxy(upstream, samtycke, services, site.id, **options)
    enforced = ConsentMiddleware(proxy, settings, site.id, services.signer, metrics=services.metrics)
    return Probes(enforced, proxy)


class Probes:
    """Health and readiness reach samtycke whatever the ``Host``.

    Load balancers and orchestrators probe by address (``Host: 10.0.3.7:8000``), which
    enforcement refuses as a host no site is served on.  The probes answer no visitor and
    set no cookie, so they skip enforcement; every other request goes through it.
    """

    PATHS = frozenset({PREFIX + "/healthz", PREFIX + "/readyz"})

    def __init__(self, enforced: ASGIApp, proxy: ASGIApp) -> None:
        self.enforced = enforced
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        probe = scope["type"] == "http" and scope["path"] in self.PATHS
        await (self.proxy if probe else self.enforced)(scope, receive, send)
