"""Choosing between Swedish and English for a request."""

from __future__ import annotations

from starlette.requests import HTTPConnection

LANGUAGES = ("sv", "en")
FALLBACK = "en"


def language(conn: HTTPConnection, explicit: str | None = None) -> str:
    """``?lang=`` (or ``explicit``), then Accept-Language, then English."""
    wanted = (explicit or conn.query_params.get("lang") or "").lower()[:2]
    if wanted in LANGUAGES:
        return wanted
    best, best_q = FALLBACK, -1.0
    for part in conn.headers.get("accept-language", "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in LANGUAGES:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best
