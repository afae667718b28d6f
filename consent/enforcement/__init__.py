"""Server-side enforcement: what another site imports or runs to honour its visitors' choices.

A response flows ``decision`` (which categories the request's visitor granted, read from
the consent cookie before the first byte) → ``middleware`` (``Set-Cookie`` headers for
categories without consent removed, cookies the browser still sends for them expired,
parsed by ``setcookie``, within ``expiry``'s budget) → the visitor, with ``summary``
logging and counting what was done.  ``proxy`` wraps any upstream website in the same
middleware: ``hosts`` picks the site a request names, ``credentials`` keeps samtycke's own
cookies and tokens from the upstream, ``injection`` puts the banner into HTML as it
streams (decoded and re-encoded by ``codings``) and ``rewritten`` fixes the changed page's
headers; ``cli`` is ``samtycke proxy``.

Import from here: ``from consent.enforcement import ConsentMiddleware``.
"""

from consent.enforcement.decision import Decision, decide
from consent.enforcement.middleware import ConsentMiddleware, consent_allowed, install_template_helpers
from consent.enforcement.proxy import create_proxy

__all__ = [
    "ConsentMiddleware",
    "Decision",
    "consent_allowed",
    "create_proxy",
    "decide",
    "install_template_helpers",
]
