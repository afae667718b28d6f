"""Server-side cookie enforcement for any ASGI application.

    app = ConsentMiddleware(app, settings=settings, site_id=1, signer=signer)
    app = ConsentMiddleware.from_config(app, "samtycke.toml", site_id=1)

Per request, before the application sees it, the visitor's decision is read from the
signed consent cookie (and ``Sec-GPC``) and put on ``scope["state"]["samtycke"]``.  On
the way out the response is corrected:

- a ``Set-Cookie`` for a category without consent is removed; one missing from the
  registry is removed or let through as the site's ``unknown_cookies`` says, and reported
  either way (a log line naming the cookie, never its value, and a counter);
- every cookie the browser sent for a category without consent is expired, under every
  domain and path it could have been stored with;
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
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from prometheus_client import CollectorRegistry, Counter
from starlette.requests import HTTPConnection, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consent import cookies
from consent.categories import NECESSARY
from consent.enforcement import decision, setcookie
from consent.enforcement.decision import Decision
from consent.registry import OWN_COOKIES, Registry, domain_variants, path_variants
from samtycke.metrics import Metrics
from samtycke.settings import Settings, Site
from samtycke.signing import Signer, load_or_create_keys

logger = logging.getLogger("samtycke.enforcement")

CLEAR_ALL = '"cookies", "storage"'
CLEAR_STORAGE = '"storage"'
MAX_NAME_IN_LOGS = 64

_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


def _counter(metrics: Metrics | None) -> Counter | None:
    if metrics is None:
        return None
    counter = _counters.get(metrics.registry)
    if counter is None:
        counter = Counter(
            "samtycke_enforced_cookies",
            "Cookies server-side enforcement acted on, by site, action and category.",
            ["site", "action", "category"],
            registry=metrics.registry,
        )
        _counters[metrics.registry] = counter
    return counter


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
        self.counter = _counter(metrics)
        self.registries = {site.id: Registry.for_site(site) for site in settings.sites}

    @classmethod
    def from_config(
        cls, app: ASGIApp, path: str | Path, site_id: int | None = None, **options: Any
    ) -> ConsentMiddleware:
        """Built from a samtycke TOML file (environment variables are not read here)."""
        from samtycke.settings import loading

        return cls(app, loading.load(Path(path), {}), site_id, **options)

    def site_for(self, host: str) -> Site:
        """The configured site, else the one serving this host name, else the first."""
        if self.site_id is not None:
            found = self.settings.site(self.site_id)
            assert found is not None
            return found
        host = host.lower().split(":")[0]
        for site in self.settings.sites:
            if host in (d.lower() for d in site.domains):
                return site
        return self.settings.sites[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        site = self.site_for(conn.headers.get("host", ""))
        registry = self.registries[site.id]
        now = self.clock()
        verdict = decision.decide(conn, site, self.signer, now)
        scope.setdefault("state", {})[decision.SCOPE_KEY] = verdict
        enforcer = _Response(self, registry, verdict, conn, now)

        async def enforced(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = enforcer.headers(list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, enforced)

    def report(self, site: Site, action: str, category: str, name: str, unknown: bool) -> None:
        if self.counter is not None:
            self.counter.labels(str(site.id), action, category).inc()
        if unknown:
            logger.warning(
                "cookie not in the registry",
                extra={"site_id": site.id, "cookie": name[:MAX_NAME_IN_LOGS], "action": action},
            )
        else:
            logger.debug(
                "cookie without consent",
                extra={"site_id": site.id, "cookie": name[:MAX_NAME_IN_LOGS], "action": action},
            )


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
                    self.middleware.report(self.site, "allowed", category, parsed.name, unknown)
                kept.append((key, value))
            else:
                self.middleware.report(self.site, "removed", category, parsed.name, unknown)
        expiring = self.expiries()
        kept.extend((b"set-cookie", header.encode("latin-1")) for header in expiring)
        clear = self.withdrawn(new_consent, bool(expiring))
        if clear:
            kept.append((b"clear-site-data", clear.encode()))
        kept.append((b"vary", _vary(raw, self.site).encode("latin-1")))
        return kept

    def expiries(self) -> list[str]:
        out: list[str] = []
        host = self.conn.url.hostname or ""
        for name in self.sent:
            allowed, category, unknown = self.permitted(name)
            if allowed:
                continue
            entry = self.registry.match(name)
            domains = domain_variants(host, entry.domain if entry else "")
            paths = path_variants(self.conn.url.path, [entry.path] if entry else [])
            out.extend(
                setcookie.expire(name, path, domain, secure=self.secure)
                for domain in domains
                for path in paths
            )
            self.middleware.report(self.site, "expired", category, name, unknown)
        return out

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
