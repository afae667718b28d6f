"""The account's pseudonym: what samtycke keeps instead of the portal's customer identifier.

``pseudonym = HMAC-SHA256(key, sub)``, with ``key = HKDF-SHA256(secret, info=INFO)`` (RFC 5869,
no salt): the token's ``sub`` is never stored, and without the site's secret nobody can
tell whose a pseudonym is.  The portal's backend, holding the secret, can: which is why the
log sees the account only behind a salted commitment (``consent.recording.subjects``),
whose salt erasure deletes.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"samtycke account pseudonym v1"


@lru_cache(maxsize=64)
def pseudonym_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret.encode())


def pseudonym(secret: str, sub: str) -> str:
    return hmac.digest(pseudonym_key(secret), sub.encode(), "sha256").hex()


def account_subject(site_id: int, secret: str, sub: str) -> str:
    """The identifier the account's commitment is made for: one per site, since secrets are per site."""
    return f"account:{site_id}:{pseudonym(secret, sub)}"
