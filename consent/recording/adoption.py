"""A choice adopted from a receipt the visitor already holds, recorded under a receipt of its own.

A visitor who chose on one site may bring that choice to another (a handoff between the sites
of a group, or an account that remembers it).  The new receipt has its own method, names the
receipt it adopted (``source_receipt_id``) and points to the target site's current notice.
Each decision the source made for a category the target site also has carries over; a
category only the target has is refused, since nobody asked about it.  A Global Privacy
Control signal on the target opts out of what it covers, as on a first visit.
"""

from __future__ import annotations

from dataclasses import dataclass

from consent.categories import GPC_DENIES, optional_ids
from consent.cookies import ConsentCookie
from consent.recording.choice import Choice
from samtycke.settings import Site

HANDOFF = "handoff"


@dataclass(frozen=True)
class SourceChoice:
    """The receipt a choice is adopted from: its id, its site and its decisions."""

    receipt_id: str
    site_id: int
    decisions: dict[str, bool]

    @classmethod
    def of_cookie(cls, cookie: ConsentCookie) -> SourceChoice:
        """The receipt the signed consent cookie names (the server wrote both)."""
        return cls(cookie.receipt_id, cookie.site_id, dict(cookie.decisions))


def adopted_choice(source: SourceChoice, site: Site, method: str, lang: str, gpc_signal: bool) -> Choice:
    decisions = {category: bool(source.decisions.get(category, False)) for category in optional_ids(site)}
    gpc = False
    if gpc_signal and site.honour_gpc:
        for category in GPC_DENIES:
            if decisions.get(category):
                decisions[category] = False
                gpc = True
    return Choice(site, decisions, method, site.notice.version, lang, gpc, gpc_signal)
