"""Google Consent Mode's default state, as the inline script that goes first in ``<head>``.

Tags read the consent state when they run.  The banner is loaded with ``defer`` or after a
page's own gtag snippet, so a default it sets can come after the tags' first commands.
This stub sets it first: a few bytes of synchronous inline script that pushes to
``dataLayer`` the same ``arguments`` object ``gtag('consent', 'default', ...)`` would, without
defining a global ``gtag``.  Every signal is denied except those that serve the necessary
category (``security_storage``), and ``wait_for_update`` holds tags until the banner has
read the visitor's choice.  The README shows the tag and its CSP hash; ``samtycke proxy``
injects it right after ``<head>``.  The banner sets the same default when it finds none.
"""

from __future__ import annotations

import base64
import hashlib
import json

from consent.categories import CONSENT_MODE, NECESSARY

# Milliseconds tags wait for the banner's update before they go on with the default.
WAIT_FOR_UPDATE_MS = 500


def defaults() -> dict[str, str | int]:
    state: dict[str, str | int] = {
        signal: "granted" if category == NECESSARY else "denied" for signal, category in CONSENT_MODE.items()
    }
    state["wait_for_update"] = WAIT_FOR_UPDATE_MS
    return state


SCRIPT = (
    "(function(){(window.dataLayer=window.dataLayer||[]).push(arguments)})"
    f"('consent','default',{json.dumps(defaults(), separators=(',', ':'))});"
)
# What a Content-Security-Policy's script-src names to allow the stub without a nonce.
CSP_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode() + "'"


def tag(nonce: str = "") -> str:
    """The ``<script>`` element, with the page's nonce when its CSP uses nonces."""
    extra = f' nonce="{nonce}"' if nonce else ""
    return f"<script{extra}>{SCRIPT}</script>"
