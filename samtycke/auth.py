"""Who is asking: bearer tokens for the API, a session cookie for pages.

Accounts and tokens come from the configuration file and from ClickHouse alike
(``samtycke.accounts``): tokens are kept only as sha256 hashes, passwords as argon2 hashes
checked off the event loop (``samtycke.passwords``).  The session cookie is
a signed session id; the session itself lives on the server (``samtycke.sessions``), so it
can be ended.  A request that changes something with the cookie must come from samtycke's
own pages (``samtycke.web.sameorigin``); a token needs no such check.  Roles are
``marketer`` (statistics), ``auditor`` (the consent log) and ``admin`` (everything).
No credentials: 401.  Credentials with the wrong role: 403.
"""

from __future__ import annotations

import hashlib

from starlette.requests import HTTPConnection

from samtycke.accounts import ROLES as ROLES
from samtycke.accounts import Accounts
from samtycke.accounts import Principal as Principal
from samtycke.sessions import SESSION_SECONDS, SessionStore
from samtycke.signing import Signer
from samtycke.web.errors import Forbidden, Unauthorized
from samtycke.web.sameorigin import SameOrigin

SESSION_COOKIE = "samtycke_session"
PURPOSE = "session"
# Where ``authenticate`` leaves the caller in the ASGI scope, so pages can say who is logged in.
PRINCIPAL = "samtycke.principal"


class Auth:
    def __init__(
        self,
        accounts: Accounts,
        signer: Signer,
        sessions: SessionStore,
        same_origin: SameOrigin,
    ) -> None:
        self.accounts = accounts
        self._signer = signer
        self.sessions = sessions
        self.same_origin = same_origin

    async def check_token(self, token: str) -> Principal | None:
        """The holder of a bearer token, from the configuration file or issued in samtycke."""
        return await self.accounts.check_token(token)

    async def check_password(self, name: str, password: str) -> Principal | None:
        """The account, if the password is right and it may log in; unknown names cost the same."""
        return await self.accounts.verify_password(name, password)

    async def start_session(self, principal: Principal) -> str:
        """A new server-side session; returns the signed cookie value that names it."""
        session_id = await self.sessions.start(principal.name, principal.role)
        return self._signer.dumps(PURPOSE, {"sid": session_id})

    async def end_session(self, conn: HTTPConnection) -> None:
        session_id = self._session_id(conn)
        if session_id:
            await self.sessions.end(session_id)

    def _session_id(self, conn: HTTPConnection) -> str | None:
        data = self._signer.loads(PURPOSE, conn.cookies.get(SESSION_COOKIE), max_age=SESSION_SECONDS)
        sid = data.get("sid") if isinstance(data, dict) else None
        return sid if isinstance(sid, str) and sid else None

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        principal = await self._identify(conn)
        conn.scope[PRINCIPAL] = principal
        return principal

    async def _identify(self, conn: HTTPConnection) -> Principal | None:
        header = conn.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return await self.check_token(credentials.strip())
        session_id = self._session_id(conn)
        if session_id is None:
            return None
        # The cookie comes with every request the browser sends, forged ones included.
        self.same_origin.require(conn)
        session = await self.sessions.find(session_id)
        if session is None or session.role not in ROLES:
            return None
        return Principal(session.name, session.role)

    async def require(self, conn: HTTPConnection, *roles: str) -> Principal:
        """The caller, if one of ``roles`` (admin always qualifies); else 401 or 403."""
        principal = await self.authenticate(conn)
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


def viewer(conn: HTTPConnection) -> Principal | None:
    """Who this request was authenticated as, if the handler has asked (``Auth.authenticate``)."""
    principal = conn.scope.get(PRINCIPAL)
    return principal if isinstance(principal, Principal) else None
