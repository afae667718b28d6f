"""Fixtures for the enforcement tests: demo settings, a signer, and signed consent cookies."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from consent.cookies import CONSENT_COOKIE, PURPOSE, ConsentCookie
from samtycke.settings import Secret, Settings
from samtycke.settings import loading as configfile
from samtycke.signing import Signer
from tests.support.config import demo_raw

KEY = "enforcement-test-key"


def enforcement_settings(**site_overrides: Any) -> Settings:
    raw = demo_raw(server={"secret_keys": [KEY]})
    raw["sites"][0].update(site_overrides)
    return configfile.from_mapping(raw)


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer([Secret(KEY)])


@pytest.fixture(scope="session")
def consent_value(signer: Signer) -> Callable[..., str]:
    """A signed ``samtycke_consent`` value granting ``granted`` (optional categories)."""

    def make(granted: list[str], *, method: str = "custom", site: int = 1, expires_in: float = 3600) -> str:
        optional = ("preferences", "statistics", "marketing")
        cookie = ConsentCookie(
            consent_id="c-test",
            site_id=site,
            granted=granted,
            decisions={c: c in granted for c in optional},
            version="2026-11-01",
            method=method,
            receipt_id="r-test",
            exp=int(time.time() + expires_in),
        )
        return signer.dumps(PURPOSE, cookie.payload())

    return make


def consent_header(value: str, **others: str) -> dict[str, str]:
    pairs = [f"{CONSENT_COOKIE}={value}", *(f"{k}={v}" for k, v in others.items())]
    return {"Cookie": "; ".join(pairs)}


from tests.enforcement.stack import stack  # noqa: E402, F401  (a package-scoped fixture)
