"""Server-side cookie enforcement for any ASGI application.

    app = ConsentMiddleware(app, settings=settings, site_id=1, signer=signer)
    app = ConsentMiddleware.from_config(app, "samtycke.toml", site_id=1)

A request for a host name no configured site is served on is refused with 421
(``consent.enforcement.hosts``).  Per request, before the application sees it, the
visitor's decision is read from the signed consent cookie (and ``Sec-GPC``) and put on
``scope["state"]["samtycke"]``.  On the way out the response is corrected:

- a ``Set-Cookie`` for a category without consent is removed; one missing from the
  registry is removed or let through as the site's ``unknown_cookies`` says, and reported
  either way (counted, and named in the response's one log line, never with its value);
- every cookie the browser sent for a category without consent is expired, under every
  configured domain and path it could have been stored with; a response expires a
  bounded share of them, and a cookie expired lately is not expired again at once
  (``consent.enforcement.expiry``);
- the response to an erasure carries ``Clear-Site-Data: "cookies", "storage"``; one to
  a withdrawal of every optional category ``Clear-Site-Data: "storage"`` (its cookies
  are expired one by one, so the cookie recording the withdrawal survives);
- ``Vary: Cookie`` (and ``Sec-GPC``), since the response depends on them.

Templates leave gated tags out entirely: ``{% if consented("marketing") %}`` (see
``install_template_helpers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import HTTPConnection, cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent import cookies
from consent.categories import NECESSARY
from consent.enforcement import decision, expiry, setcookie, summary
from consent.enforcement.decision import Decision
from consent.enforcement.hosts import SiteHosts, request_host
from consent.registry import OWN_COOKIES, Registry, domain_variants, is_ip, path_variants
from samtycke.metrics import Metrics
from samtycke.settings import Settings, Site
from samtycke.signing import Signer, load_or_create_keys
from samtycke.web.asgi import header
from samtycke.web.errors import MisdirectedRequest

logger = logging.getLogger("samtycke.enforcement")

CLEAR_ALL = '"cookies", "storage"'
CLEAR_STORAGE = '"storage"'
MAX_HOST_IN_LOGS = 64


class ConsentMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        site_id: int | None = None,
        signer: Signer | None = None,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.sites:
            raise ValueError("the configuration has no [[sites]] to enforce")
        if site_id is not None and settings.site(site_id) is None:
            raise ValueError(f"there is no site {site_id} in the configuration")
        self.app = app
        self.settings = settings
        self.site_id = site_id
        self.signer = signer or Signer(
            load_or_create_keys(settings.server.secret_keys, Path(settings.storage.data_dir))
        )
        self.clock = clock
        self.counter = summary.counter(metrics)
        self.registries = {site.id: Registry.for_site(site) for site in settings.sites}
        served = settings.sites if site_id is None else [s for s in settings.sites if s.id == site_id]
        self.hosts = SiteHosts(served)
        self.expired = expiry.Memory()

    @classmethod
    def from_config(
        cls, app: ASGIApp, path: str | Path, site_id: int | None = None, **options: Any
    ) -> ConsentMiddleware:
        """Built from a samtycke TOML file (environment variables are not read here)."""
        from samtycke.settings import loading

        return cls(app, loading.load(Path(path), {}), site_id, **options)

    def site_for(self, host: str) -> Site | None:
        """The site served on this ``Host`` (the configured one when there is one), or None."""
        return self.hosts.site_for(request_host(host))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = header(scope, b"host") or ""
        site = self.site_for(host)
        if site is None:
            await _misdirected(scope, receive, send, request_host(host))
            return
        conn = HTTPConnection(scope)
        registry = self.registries[site.id]
        now = self.clock()
        verdict = decision.decide(conn, site, self.signer, now)
        scope.setdefault("state", {})[decision.SCOPE_KEY] = verdict
        enforcer = _Response(self, registry, verdict, conn, now)

        async def enforced(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = enforcer.headers(list(message.get("headers", [])))
                enforcer.summary.log()
            await send(message)

        await self.app(scope, receive, enforced)


async def _misdirected(scope: Scope, receive: Receive, send: Send, host: str) -> None:
    """421 in the error shape of samtycke's API, and one log line naming the host (an address never)."""
    logger.warning(
        "request for a host no site is served on",
        extra={"host": "(address)" if is_ip(host) else host[:MAX_HOST_IN_LOGS], "status": 421},
    )
    error = MisdirectedRequest("this host name is not one of the configured sites' domains", field="host")
    await JSONResponse(error.as_json(), status_code=error.status)(scope, receive, send)


class _Response:
    """The corrections for one response, worked out from its request."""

    def __init__(
        self,
        middleware: ConsentMiddleware,
        registry: Registry,
        verdict: Decision,
        conn: HTTPConnection,
        now: float,
    ) -> None:
        self.middleware = middleware
        self.registry = registry
        self.site = registry.site
        self.verdict = verdict
        self.conn = conn
        self.now = now
        self.secure = conn.url.scheme == "https"
        self.sent = cookie_parser(conn.headers.get("cookie", ""))
        self.summary = summary.Summary(self.site.id, middleware.counter)

    def permitted(self, name: str) -> tuple[bool, str, bool]:
        """(may exist, category or "unknown", unknown?) for a cookie name."""
        if name in OWN_COOKIES:
            return True, NECESSARY, False
        category = self.registry.category(name)
        if category is None:
            return self.site.unknown_cookies == "allow", "unknown", True
        return category == NECESSARY or self.verdict.allows(category), category, False

    def headers(self, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        kept: list[tuple[bytes, bytes]] = []
        new_consent: str | None = None
        for key, value in raw:
            if key.lower() != b"set-cookie":
                if key.lower() != b"vary":
                    kept.append((key, value))
                continue
            parsed = setcookie.parse(value.decode("latin-1"))
            if parsed is None:
                continue
            if parsed.name == cookies.CONSENT_COOKIE:
                new_consent = "" if parsed.deletes else parsed.value
            allowed, category, unknown = self.permitted(parsed.name)
            if allowed or parsed.deletes:
                if unknown and not parsed.deletes:
                    self.summary.add("allowed", category, parsed.name, unknown)
                kept.append((key, value))
            else:
                self.summary.add("removed", category, parsed.name, unknown)
        expiring = self.expiries()
        kept.extend((b"set-cookie", header.encode("latin-1")) for header in expiring)
        clear = self.withdrawn(new_consent, bool(expiring))
        if clear:
            kept.append((b"clear-site-data", clear.encode()))
        kept.append((b"vary", _vary(raw, self.site).encode("latin-1")))
        return kept

    def expiries(self) -> list[str]:
        """Expiries for the cookies sent without consent, as far as this response's budget goes."""
        out: list[str] = []
        budget = expiry.Budget()
        memory = self.middleware.expired
        host = self.conn.url.hostname or ""
        for name, value in self.sent.items():
            allowed, category, unknown = self.permitted(name)
            if allowed:
                continue
            key = memory.key(self.site.id, name, value)
            tier = memory.next_tier(key, self.now)
            if tier is None:
                self.summary.add("recent", category, name, unknown)
                continue
            if budget.exhausted:
                self.summary.add("deferred", category, name, unknown)
                continue
            headers = self.expire(name, host, tier)
            if not budget.take(headers):
                self.summary.add("deferred", category, name, unknown)
                continue
            out.extend(headers)
            memory.sent(key, tier, self.now)
            if headers:
                self.summary.add("expired", category, name, unknown)
        return out

    def expire(self, name: str, host: str, tier: int) -> list[str]:
        """The headers that expire ``name`` under each configured domain, at the paths of ``tier``.

        Step 0 is ``/``, the declared path and the site's ``cookie_paths`` (a cookie an embed
        set under its own path is sent only there); step 1 the other ancestors of the
        request's path.
        """
        entry = self.registry.match(name)
        domains = domain_variants(host, self.site.domains, entry.domain if entry else "")
        first = path_variants("/", [*([entry.path] if entry else []), *self.site.cookie_paths])
        paths = first if tier == 0 else [p for p in path_variants(self.conn.url.path) if p not in first]
        return [setcookie.expire(name, p, d, secure=self.secure) for d in domains for p in paths]

    def withdrawn(self, new_consent: str | None, leftovers: bool) -> str | None:
        """What to clear for a full withdrawal, or None when this response is not one.

        Erasure (the response deletes the consent cookie) clears cookies and storage: the
        choice is being forgotten anyway.  A withdrawal of every optional category clears
        storage only; its cookies are expired one by one above, because Chromium applies
        ``Clear-Site-Data: "cookies"`` after the response's own ``Set-Cookie`` and would
        take the consent cookie that records the withdrawal (and lets the visitor reach
        their receipts) with it.  A withdrawal is seen on the response that records it
        (samtycke's API behind the same middleware) or on the first request after it,
        while the browser still holds cookies of the categories it withdrew.
        """
        if new_consent == "":
            return CLEAR_ALL if self.verdict.decided or leftovers else None
        if new_consent is not None:
            granted = decision.granted_in(self.middleware.signer, new_consent, self.now)
            gone = granted is not None and not (set(granted) - {NECESSARY})
            return CLEAR_STORAGE if gone and self.verdict.optional_granted else None
        if leftovers and self.verdict.method == "withdraw" and not self.verdict.optional_granted:
            return CLEAR_STORAGE
        return None


def _vary(raw: list[tuple[bytes, bytes]], site: Site) -> str:
    names: list[str] = []
    for key, value in raw:
        if key.lower() == b"vary":
            names.extend(v.strip() for v in value.decode("latin-1").split(",") if v.strip())
    wanted = ["Cookie", "Sec-GPC"] if site.honour_gpc else ["Cookie"]
    lower = {n.lower() for n in names}
    names.extend(w for w in wanted if w.lower() not in lower)
    return ", ".join(names)


# -- templates ----------------------------------------------------------------------------------------


def consent_allowed(request: HTTPConnection | Scope, category: str) -> bool:
    """True when the visitor granted ``category``; False without a decision or middleware."""
    scope = request.scope if isinstance(request, HTTPConnection) else request
    verdict = decision.of(scope)
    if verdict is None:
        return category == NECESSARY
    return verdict.allows(category)


@pass_context
def _consented(context: Context, category: str) -> bool:
    request = context.get("request")
    if not isinstance(request, HTTPConnection):
        return category == NECESSARY
    return consent_allowed(request, category)


def install_template_helpers(environment: Environment) -> None:
    """``consent_allowed(request, "statistics")`` and ``consented("marketing")`` in templates."""
    environment.globals["consent_allowed"] = consent_allowed
    environment.globals["consented"] = _consented
