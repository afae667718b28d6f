"""What of a visitor's request is samtycke's own and never reaches the website behind the proxy.

Under ``samtycke proxy`` samtycke shares the website's origin, so the browser sends the
website samtycke's cookies (the consent cookies, an admin's session) and may send a
samtycke API token.  The website has no use for them, and its logs, error reports or
third-party scripts on the server side must not see them: they are removed from every
request forwarded upstream.  Every cookie samtycke sets is named with ``OWN_PREFIX``.
"""

from __future__ import annotations

from samtycke.auth import Auth

OWN_PREFIX = "samtycke_"


def cookie_for_upstream(value: str) -> str:
    """A Cookie header without samtycke's cookies; empty when nothing else is left."""
    kept = [pair for pair in value.split(";") if not pair.strip().startswith(OWN_PREFIX)]
    return ";".join(kept).strip(" ;")


async def is_samtycke_token(authorization: str, auth: Auth) -> bool:
    """Whether an Authorization header carries one of samtycke's API tokens."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and await auth.check_token(token.strip()) is not None
