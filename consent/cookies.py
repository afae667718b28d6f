"""The two cookies a choice sets.

``samtycke_consent`` (HttpOnly, signed with itsdangerous under the ``consent`` purpose):
    {"id": consent id, "site": site id, "granted": [...], "decisions": {...},
     "v": notice version, "m": method, "r": receipt id, "exp": unix seconds}
``samtycke_state`` (readable by the banner's JavaScript), URL-encoded JSON:
    {"v": notice version, "exp": unix seconds, "g": [granted optional categories], "m": method}

A consent cookie that is forged, signed with an unknown key, malformed or past ``exp``
reads as no consent at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import Response

from samtycke.signing import Signer

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


def read(conn: HTTPConnection, signer: Signer, now: float) -> ConsentCookie | None:
    data = signer.loads(PURPOSE, conn.cookies.get(CONSENT_COOKIE))
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


def is_secure(conn: HTTPConnection, trusted_proxy: bool) -> bool:
    if conn.url.scheme == "https":
        return True
    return trusted_proxy and conn.headers.get("x-forwarded-proto", "").lower() == "https"


def set_cookies(
    response: Response, cookie: ConsentCookie, signer: Signer, max_age: int, secure: bool
) -> None:
    response.set_cookie(
        CONSENT_COOKIE,
        signer.dumps(PURPOSE, cookie.payload()),
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    state = {"v": cookie.version, "exp": cookie.exp, "g": cookie.granted, "m": cookie.method}
    response.set_cookie(
        STATE_COOKIE,
        quote(json.dumps(state, separators=(",", ":")), safe=""),
        max_age=max_age,
        path="/",
        httponly=False,
        samesite="lax",
        secure=secure,
    )


def expire_cookies(response: Response, secure: bool) -> None:
    for name, httponly in ((CONSENT_COOKIE, True), (STATE_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=httponly, samesite="lax", secure=secure)
