"""Who is asking: bearer tokens for the API, a signed session cookie for pages.

Tokens are configured only as sha256 hashes and compared in constant time.  Roles are
``marketer`` (statistics), ``auditor`` (the consent log) and ``admin`` (everything).
No credentials: 401.  Credentials with the wrong role: 403.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import HTTPConnection

from samtycke.settings import Token, User
from samtycke.signing import Signer
from samtycke.web.errors import Forbidden, Unauthorized

ROLES = ("marketer", "auditor", "admin")
SESSION_COOKIE = "samtycke_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


class Auth:
    def __init__(self, tokens: Sequence[Token], users: Sequence[User], signer: Signer) -> None:
        self._tokens = [(bytes.fromhex(t.sha256), t) for t in tokens]
        self._users = {u.name: u for u in users}
        self._signer = signer
        self._hasher = PasswordHasher()

    def check_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).digest()
        found: Token | None = None
        # Compare against every entry so timing does not reveal which one matched.
        for expected, entry in self._tokens:
            if hmac.compare_digest(digest, expected):
                found = entry
        return Principal(found.name, found.role) if found else None

    def check_password(self, name: str, password: str) -> Principal | None:
        user = self._users.get(name)
        if user is None:
            # Spend the same effort for an unknown name as for a wrong password.
            with contextlib.suppress(VerificationError, InvalidHashError):
                self._hasher.verify(_DUMMY_HASH, password)
            return None
        try:
            self._hasher.verify(user.password_argon2, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return Principal(user.name, user.role)

    def session_value(self, principal: Principal) -> str:
        return self._signer.dumps("session", {"name": principal.name, "role": principal.role})

    def authenticate(self, conn: HTTPConnection) -> Principal | None:
        header = conn.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self.check_token(credentials.strip())
        data = self._signer.loads("session", conn.cookies.get(SESSION_COOKIE), max_age=SESSION_SECONDS)
        if isinstance(data, dict) and data.get("role") in ROLES and isinstance(data.get("name"), str):
            return Principal(data["name"], data["role"])
        return None

    def require(self, conn: HTTPConnection, *roles: str) -> Principal:
        """The caller, if one of ``roles`` (admin always qualifies); else 401 or 403."""
        principal = self.authenticate(conn)
        if principal is None:
            raise Unauthorized(
                "authentication required: send `Authorization: Bearer <token>` or log in",
                headers={"WWW-Authenticate": 'Bearer realm="samtycke"'},
            )
        if principal.role != "admin" and principal.role not in roles:
            raise Forbidden(f"role {principal.role!r} may not do this; it needs {' or '.join(roles)}")
        return principal


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY_HASH = PasswordHasher().hash("samtycke-timing-equaliser")
