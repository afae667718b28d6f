"""The two cookies a choice sets.

``samtycke_consent`` (HttpOnly, signed with itsdangerous under the ``consent`` purpose):
    {"id": consent id, "site": site id, "granted": [...], "decisions": {...},
     "v": notice version, "m": method, "r": receipt id, "exp": unix seconds}
``samtycke_state`` (readable by the banner's JavaScript), URL-encoded JSON:
    {"v": notice version, "exp": unix seconds, "g": [granted optional categories], "m": method}

A consent cookie that is forged, signed with an unknown key, malformed or past ``exp``
reads as no consent at all, and one given for another site is no consent on this one
(``for_site``): sites that share samtycke's host share the cookie too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import Response

from samtycke.signing import Signer
from samtycke.web.asgi import cookie, header

CONSENT_COOKIE = "samtycke_consent"
STATE_COOKIE = "samtycke_state"
PURPOSE = "consent"


@dataclass(frozen=True)
class ConsentCookie:
    consent_id: str
    site_id: int
    granted: list[str]
    decisions: dict[str, bool]
    version: str
    method: str
    receipt_id: str
    exp: int

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.consent_id,
            "site": self.site_id,
            "granted": self.granted,
            "decisions": self.decisions,
            "v": self.version,
            "m": self.method,
            "r": self.receipt_id,
            "exp": self.exp,
        }


def consent_value(conn: HTTPConnection) -> str | None:
    """``conn.cookies.get(CONSENT_COOKIE)``, parsing no Cookie header when there is none."""
    return cookie(conn.scope, CONSENT_COOKIE)


def read(conn: HTTPConnection, signer: Signer, now: float) -> ConsentCookie | None:
    data = signer.loads(PURPOSE, consent_value(conn))
    if not isinstance(data, dict):
        return None
    try:
        cookie = ConsentCookie(
            consent_id=str(data["id"]),
            site_id=int(data["site"]),
            granted=[str(c) for c in data["granted"]],
            decisions={str(k): bool(v) for k, v in dict(data["decisions"]).items()},
            version=str(data["v"]),
            method=str(data.get("m", "")),
            receipt_id=str(data.get("r", "")),
            exp=int(data["exp"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return cookie if cookie.exp > now else None


def for_site(cookie: ConsentCookie | None, site_id: int) -> ConsentCookie | None:
    """``cookie`` when it was given for site ``site_id``, else None.

    A consent holds only for the site it was given for.  Everything that acts on a
    consent cookie (enforcement, the collector, the next receipt) asks through here.
    """
    return cookie if cookie is not None and cookie.site_id == site_id else None


def is_secure(conn: HTTPConnection, trusted_proxy: Callable[[], bool]) -> bool:
    """HTTPS, or a trusted proxy forwarding HTTPS; ``trusted_proxy`` is asked only then."""
    if str(conn.scope.get("scheme", "http")).lower() == "https":  # what conn.url.scheme says
        return True
    forwarded = header(conn.scope, b"x-forwarded-proto") or ""
    return forwarded.lower() == "https" and trusted_proxy()


# What http.cookies leaves unquoted; a value with anything else goes through Starlette.
_LEGAL_VALUE = re.compile(r"[\w!#$%&'*+\-.^`|~:]+", re.ASCII).fullmatch


def _set_cookie(
    response: Response, name: str, value: str, max_age: int, httponly: bool, secure: bool
) -> None:
    """``response.set_cookie(name, value, max_age, path="/", samesite="lax", ...)``, directly.

    Starlette builds each header through ``http.cookies.SimpleCookie``; this writes the
    same bytes (attributes in its sorted order) at a fraction of the cost.
    """
    if not _LEGAL_VALUE(value):
        response.set_cookie(
            name, value, max_age=max_age, path="/", httponly=httponly, samesite="lax", secure=secure
        )
        return
    text = f"{name}={value}; HttpOnly; " if httponly else f"{name}={value}; "
    text += f"Max-Age={max_age}; Path=/; SameSite=lax"
    if secure:
        text += "; Secure"
    response.raw_headers.append((b"set-cookie", text.encode("latin-1")))


@lru_cache(maxsize=256)
def _state_head(version: str) -> str:
    return quote('{"v":' + json.dumps(version) + ',"exp":', safe="")


@lru_cache(maxsize=256)
def _state_tail(granted: tuple[str, ...], method: str) -> str:
    tail = ',"g":' + json.dumps(list(granted), separators=(",", ":")) + ',"m":' + json.dumps(method) + "}"
    return quote(tail, safe="")


def state_value(cookie: ConsentCookie) -> str:
    """The state cookie: ``quote(json.dumps(state, separators=(",", ":")), safe="")``.

    Percent-encoding works byte by byte, so the encoded JSON is the encoded text before
    ``exp``, the number, and the encoded text after it; only ``exp`` changes every second.
    """
    return _state_head(cookie.version) + str(cookie.exp) + _state_tail(tuple(cookie.granted), cookie.method)


def set_cookies(
    response: Response, cookie: ConsentCookie, signer: Signer, max_age: int, secure: bool
) -> None:
    _set_cookie(response, CONSENT_COOKIE, signer.dumps(PURPOSE, cookie.payload()), max_age, True, secure)
    _set_cookie(response, STATE_COOKIE, state_value(cookie), max_age, False, secure)


def expire_cookies(response: Response, secure: bool) -> None:
    for name, httponly in ((CONSENT_COOKIE, True), (STATE_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=httponly, samesite="lax", secure=secure)
