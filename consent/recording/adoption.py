"""A choice adopted from a receipt the visitor already holds, recorded under a receipt of its own.

A visitor who chose on one site may bring that choice to another (a handoff between the sites
of a group, or an account that remembers it).  The new receipt has its own method, names the
receipt it adopted (``source_receipt_id``) and points to the target site's current notice.
Each decision the source made for a category the target site also has carries over; a
category only the target has is refused, since nobody asked about it.  A Global Privacy
Control signal on the target opts out of what it covers, as on a first visit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consent.categories import GPC_DENIES, optional_ids
from consent.cookies import ConsentCookie
from consent.recording.choice import Choice
from samtycke.journal import Record
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

    @classmethod
    def of_entry(cls, entry: dict[str, Any]) -> SourceChoice:
        """The receipt a stored log entry is."""
        return cls(str(entry["receipt_id"]), int(entry["site_id"]), dict(entry["decisions"]))


def adopted_choice(source: SourceChoice, site: Site, method: str, lang: str, gpc_signal: bool) -> Choice:
    decisions = {category: bool(source.decisions.get(category, False)) for category in optional_ids(site)}
    gpc = False
    if gpc_signal and site.honour_gpc:
        for category in GPC_DENIES:
            if decisions.get(category):
                decisions[category] = False
                gpc = True
    return Choice(site, decisions, method, site.notice.version, lang, gpc, gpc_signal)


def _nothing(index: int, receipt_id: str) -> Sequence[Record]:
    return ()


@dataclass(frozen=True)
class Link:
    """What a receipt says about a customer account, and the records that file it there."""

    mark: dict[str, Any]  # the receipt's "account" field
    # Records journalled with the receipt, given its log index and receipt id.
    records: Callable[[int, str], Sequence[Record]] = field(default=_nothing)


def valid_until(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["validity"]["until"]).replace("Z", "+00:00"))


def still_valid(entry: dict[str, Any], site: Site, now: datetime) -> bool:
    """A stored receipt whose choice still holds: the site's current notice, and not past its validity."""
    return (
        entry.get("type") == "receipt"
        and entry.get("site_id") == site.id
        and entry.get("notice", {}).get("version") == site.notice.version
        and valid_until(entry) > now
    )
