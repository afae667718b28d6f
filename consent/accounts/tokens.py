"""Account tokens: the portal's word for who is logged in, as an HS256 JWT (RFC 7519).

Claims: ``aud`` is ``"samtycke"``, ``sub`` the portal's own customer identifier, ``site``
the site id, ``exp`` at most ``MAX_LIFETIME`` ahead, and optionally ``scope`` (``"erase"``
lets the portal's backend erase the account's receipts).  PyJWT checks the signature with
the algorithm pinned to HS256 (so ``alg: none`` and an RS256 token signed with the secret as
a public key are refused), the required claims, the audience and expiry, allowing
``LEEWAY`` of clock difference.  A token whose signature is good but whose time is up can
still be read with ``allow_expired``: a choice made after the page's token expired is
recorded, without the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from samtycke.settings import Site

AUDIENCE = "samtycke"
ALGORITHM = "HS256"
LEEWAY = 10  # seconds of clock difference between the portal and samtycke
MAX_LIFETIME = 600  # exp may be at most ten minutes ahead
SCOPES = ("erase",)
MAX_TOKEN = 4096
MAX_SUBJECT = 256
REQUIRED = ["aud", "exp", "sub", "site"]


class AccountTokenError(Exception):
    """A token that vouches for nothing; ``reason`` names why, without any claim's value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class AccountsNotEnabled(AccountTokenError):
    def __init__(self, site_id: int) -> None:
        super().__init__("not_enabled", f"site {site_id} has no accounts.secret, so takes no account tokens")


@dataclass(frozen=True)
class AccountClaims:
    site_id: int
    sub: str
    scope: str | None
    exp: int
    expired: bool


def claimed_site(token: Any) -> int:
    """The site a token names, read before its signature is checked, to pick the secret."""
    _check_shape(token)
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AccountTokenError("malformed", "the account token is not a JWT") from exc
    site = claims.get("site")
    if not isinstance(site, int) or isinstance(site, bool):
        raise AccountTokenError("site", "the account token's site claim must be the site id, a number")
    return site


def verify(token: Any, site: Site, now: float, allow_expired: bool = False) -> AccountClaims:
    _check_shape(token)
    secret = site.accounts.secret
    if not secret:
        raise AccountsNotEnabled(site.id)
    options: Any = {"require": REQUIRED, "verify_exp": False}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, options=options)
    except jwt.InvalidAudienceError as exc:
        raise AccountTokenError("audience", f"the account token's aud must be {AUDIENCE!r}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AccountTokenError("claims", f"the account token lacks the {exc.claim} claim") from exc
    except jwt.InvalidSignatureError as exc:
        raise AccountTokenError("signature", "the account token's signature does not verify") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise AccountTokenError("algorithm", f"account tokens are signed with {ALGORITHM} only") from exc
    except jwt.PyJWTError as exc:
        raise AccountTokenError("malformed", "the account token is not a valid JWT") from exc
    exp, sub, scope = claims["exp"], claims["sub"], claims.get("scope")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise AccountTokenError("claims", "the account token's exp must be whole seconds")
    if claims["site"] != site.id or isinstance(claims["site"], bool):
        raise AccountTokenError("site", f"the account token is not for site {site.id}")
    if not isinstance(sub, str) or not 0 < len(sub) <= MAX_SUBJECT:
        raise AccountTokenError("claims", f"the account token's sub must be 1 to {MAX_SUBJECT} characters")
    if scope is not None and scope not in SCOPES:
        raise AccountTokenError("scope", f"the account token's scope must be absent or {' or '.join(SCOPES)}")
    if exp > now + MAX_LIFETIME + LEEWAY:
        raise AccountTokenError("lifetime", "the account token's exp is more than ten minutes ahead")
    expired = exp + LEEWAY <= now
    if expired and not allow_expired:
        raise AccountTokenError("expired", "the account token has expired; the portal mints a new one")
    return AccountClaims(site.id, sub, scope, exp, expired)


def _check_shape(token: Any) -> None:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
        raise AccountTokenError("malformed", f"an account token is a JWT of at most {MAX_TOKEN} characters")
