"""The answers the consent API's description shares, declared once and referenced with ``$ref``.

The banner's writes (a choice, a withdrawal, an erasure, a handoff) pass the same layers:
a JSON body of at most 16 KB, the site's origins, and the budget of consent writes per
network; those that append to the log wait for it and for the journal.
"""

from __future__ import annotations

from typing import Any

from samtycke.web.openapi import error_answer

RESPONSES: dict[str, Any] = {
    "NotJSON": error_answer("Not JSON."),
    "NotTheSiteOrigin": error_answer("Origin not one of the site's domains."),
    "ConsentBodyTooLarge": error_answer("Body over 16 KB."),
    "TooManyConsentWrites": error_answer(
        "Too many consent writes from this network; Retry-After says when to try again."
    ),
    "LogNotReady": error_answer("The log is not ready or the journal is full."),
}

COMPONENTS = {"responses": RESPONSES}
