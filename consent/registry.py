"""A site's cookie registry: which entry a cookie name belongs to, and where it may live.

Exact names are looked up first, then regular expressions (matched against the whole
name) in the order the site declares them.  samtycke's own two cookies are necessary
even on a site that forgot to declare them: without them no choice could be kept.

Expiring a cookie only works with the same domain and path it was set with, and the
browser does not say which those were; ``domain_variants`` and ``path_variants`` list
the combinations a cookie for this request could have been stored under.  Both lists
are bounded by the configuration, not by the request: the domains come from the site's
configured domains, never from the labels of the ``Host`` a client chose, and paths stop
at ``MAX_PATH_DEPTH``, since every variant costs one ``Set-Cookie`` header per cookie.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from consent.categories import NECESSARY
from consent.cookies import CONSENT_COOKIE, STATE_COOKIE
from samtycke.settings import CookieEntry, Site

OWN_COOKIES = (CONSENT_COOKIE, STATE_COOKIE)

# Paths deeper than this are not tried: each variant costs a Set-Cookie header.
MAX_PATH_DEPTH = 6

_UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_LIFETIME = re.compile(r"\s*(\d+)\s+(second|minute|hour|day|week|month|year)s?\s*", re.I)


@dataclass(frozen=True)
class Registry:
    site: Site
    exact: dict[str, CookieEntry]
    patterns: tuple[tuple[re.Pattern[str], CookieEntry], ...]

    @classmethod
    def for_site(cls, site: Site) -> Registry:
        exact: dict[str, CookieEntry] = {}
        patterns: list[tuple[re.Pattern[str], CookieEntry]] = []
        for entry in site.cookies:
            if entry.regex:
                patterns.append((re.compile(entry.name), entry))
            else:
                exact.setdefault(entry.name, entry)
        for name in OWN_COOKIES:
            exact.setdefault(name, CookieEntry(name=name, category=NECESSARY, provider="samtycke"))
        return cls(site, exact, tuple(patterns))

    def match(self, name: str) -> CookieEntry | None:
        entry = self.exact.get(name)
        if entry is not None:
            return entry
        for pattern, candidate in self.patterns:
            if pattern.fullmatch(name):
                return candidate
        return None

    def category(self, name: str) -> str | None:
        entry = self.match(name)
        return entry.category if entry else None


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str:
    """The last two labels: the highest domain a site can set a cookie on.

    Without a public-suffix list this is exact for the .se/.com/.localhost names samtycke
    is deployed on; for names under a two-label suffix (``example.co.uk``) the variants
    simply include one domain the browser would have refused, which costs a header.
    """
    host = host.lower().rstrip(".")
    if is_ip(host):
        return host
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def domain_variants(host: str, site_domains: Iterable[str], declared: str = "") -> list[str]:
    """ "" (host-only) and each configured ``Domain=`` a cookie seen on ``host`` could carry.

    The candidates are the site's domains (``*.example.se`` as ``example.se``), the
    registrable domain of each, and the cookie's declared domain.  One counts when
    ``host`` is it or lies under it (the browser sends no other cookie) and it has two
    labels at least (browsers refuse ``Domain=`` on a top-level name).  ``host`` only
    filters: a client choosing a long ``Host`` cannot lengthen the list.
    ``Domain=.example.se`` and ``Domain=example.se`` name the same cookie (RFC 6265 drops
    the leading dot), so only the dotless form is listed.
    """
    host = host.lower().rstrip(".")
    out = [""]
    if not host or is_ip(host):
        return out
    for domain in [*site_domains, declared]:
        base = domain.strip().lower().removeprefix("*.").strip(".")
        for candidate in (base, registrable_domain(base)):
            if (
                "." in candidate
                and candidate not in out
                and not is_ip(candidate)
                and (host == candidate or host.endswith("." + candidate))
            ):
                out.append(candidate)
    return out


def path_variants(request_path: str, declared: Iterable[str] = ("/",)) -> list[str]:
    """``/``, each declared path, and each ancestor of the request path (the default-path)."""
    out = ["/"]
    for path in declared:
        if path and path.startswith("/") and path not in out:
            out.append(path)
    parts = [p for p in request_path.split("/") if p][:MAX_PATH_DEPTH]
    current = ""
    for part in parts:
        current += "/" + part
        if current not in out:
            out.append(current)
    return out


def parse_lifetime(lifetime: str) -> tuple[int, str] | None:
    """A declared lifetime "<n> <unit>" as (n, unit): "13 months" is (13, "month").

    None for "session" and for any other text, which is shown as written.
    """
    match = _LIFETIME.fullmatch(lifetime)
    return (int(match.group(1)), match.group(2).lower()) if match else None


def lifetime_seconds(lifetime: str) -> float | None:
    """Declared lifetime in seconds; None for session cookies or text that is not "<n> <unit>"."""
    parsed = parse_lifetime(lifetime)
    if parsed is None:
        return None
    count, unit = parsed
    return float(count * _UNIT_SECONDS[unit])


def is_session(lifetime: str) -> bool:
    return lifetime.strip().lower() == "session"
