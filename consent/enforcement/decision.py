"""What a request may do: the categories its visitor granted, read before the first byte.

The only source is the signed ``samtycke_consent`` cookie; a forged, expired or foreign
cookie means no consent.  ``Sec-GPC: 1`` denies marketing unless that cookie grants it
explicitly, so a page can be rendered in the right state with no banner flash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from consent import cookies
from consent.categories import GPC_DENIES, NECESSARY
from samtycke.settings import Site
from samtycke.signing import Signer

SCOPE_KEY = "samtycke"


@dataclass(frozen=True)
class Decision:
    site_id: int
    granted: frozenset[str]
    decided: bool
    gpc: bool
    method: str = ""

    def allows(self, category: str) -> bool:
        return category in self.granted

    def __contains__(self, category: object) -> bool:
        return category in self.granted

    @property
    def optional_granted(self) -> frozenset[str]:
        return self.granted - {NECESSARY}


def decide(conn: HTTPConnection, site: Site, signer: Signer, now: float) -> Decision:
    gpc = site.honour_gpc and conn.headers.get("sec-gpc", "").strip() == "1"
    cookie = cookies.for_site(cookies.read(conn, signer, now), site.id)
    if cookie is None:
        return Decision(site.id, frozenset({NECESSARY}), decided=False, gpc=gpc)
    granted = {NECESSARY, *cookie.granted}
    if gpc:
        granted -= {c for c in GPC_DENIES if not cookie.decisions.get(c)}
    return Decision(
        site.id,
        frozenset(granted),
        decided=True,
        gpc=gpc,
        method=cookie.method,
    )


def granted_in(signer: Signer, value: str, now: float) -> list[str] | None:
    """The grants of a consent cookie a response is setting; None when it is not one."""
    data: Any = signer.loads(cookies.PURPOSE, value)
    if not isinstance(data, Mapping) or int(data.get("exp", 0) or 0) <= now:
        return None
    granted = data.get("granted")
    return [str(c) for c in granted] if isinstance(granted, list) else None


def of(scope: Mapping[str, Any]) -> Decision | None:
    """The decision the middleware left on an ASGI scope (``scope["state"]["samtycke"]``)."""
    state = scope.get("state")
    if isinstance(state, Mapping):
        found = state.get(SCOPE_KEY)
        return found if isinstance(found, Decision) else None
    return None
