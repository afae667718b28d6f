"""Account tokens for tests: the site's secret, and tokens minted as a portal would."""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.support.config import demo_raw

SECRET = "portal-secret-for-tests-0123456789abcdef"


def sites_with_accounts(secret: str = SECRET) -> list[dict[str, Any]]:
    """The demo's sites, the first with customer accounts enabled."""
    sites = demo_raw()["sites"]
    sites[0]["accounts"] = {"secret": secret}
    return sites


def mint(sub: str = "kund-4711", secret: str = SECRET, lifetime: int = 300, **claims: Any) -> str:
    body = {"aud": "samtycke", "sub": sub, "site": 1, "exp": int(time.time()) + lifetime, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")
