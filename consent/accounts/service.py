"""A customer account's consent: link a choice, adopt it in another browser, read it, erase it.

The account's choice is the newest choice made with its token, in whichever browser.  At
each page load with a token (``sync``) the browser and the account are brought together:
a browser that already follows the account's choice is left alone; one whose own choice is
newer than the account's (made while no valid token was at hand) has it linked, so it
becomes the account's; any other browser adopts the account's choice, under a receipt of
method ``account`` that names the source receipt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from consent import schema
from consent.accounts.links import AccountLinks, LinkRow, link_record
from consent.accounts.pseudonyms import account_subject
from consent.accounts.tokens import AccountClaims
from consent.cookies import ConsentCookie, for_site
from consent.recording.adoption import Link, SourceChoice, still_valid
from consent.recording.service import ConsentService, Issued
from samtycke.journal import Record
from samtycke.settings import Site

logger = logging.getLogger("samtycke.consent")

ADOPTED = "account"  # the method of a receipt that adopts the account's choice
EXPIRED = {"linked": False, "reason": "token_expired"}


@dataclass(frozen=True)
class AccountChoice:
    """The account's current choice: the receipt it was made by, as stored."""

    entry: dict[str, Any]
    newest_link: int  # log index of the account's newest linked receipt


class AccountConsent:
    def __init__(self, consent: ConsentService) -> None:
        self.consent = consent
        self.services = consent.services
        self.subjects = consent.subjects
        self.links = AccountLinks(consent.services.storage)

    def _subject_id(self, site: Site, claims: AccountClaims) -> str:
        return account_subject(site.id, site.accounts.secret, claims.sub)

    async def link(self, site: Site, claims: AccountClaims, origin: int | None = None) -> Link:
        """How a receipt made now joins the account: its own origin unless ``origin`` is given."""
        if claims.expired:
            return Link(EXPIRED)
        now = self.services.now()
        subject = await self.subjects.get_or_create(self._subject_id(site, claims), now)

        def records(index: int, receipt_id: str) -> list[Record]:
            new = [subject.new_record] if subject.new_record is not None else []
            row = link_record(subject.commitment, index, receipt_id, index if origin is None else origin, now)
            return [*new, row]

        return Link({"linked": True, "commitment": subject.commitment}, records)

    async def _account(self, site: Site, claims: AccountClaims) -> tuple[str | None, list[LinkRow]]:
        self.consent.log.require_ready()
        await self.consent.log.flush()
        commitment = await self.subjects.find(self._subject_id(site, claims))
        return commitment, (await self.links.rows(commitment) if commitment is not None else [])

    async def _choice(self, site: Site, rows: list[LinkRow]) -> AccountChoice | None:
        if not rows:
            return None
        entry = await self.consent.entry_at(rows[0].origin_idx)
        if entry is None or not still_valid(entry, site, self.services.now()):
            return None
        return AccountChoice(entry, rows[0].idx)

    async def current(self, site: Site, claims: AccountClaims) -> AccountChoice | None:
        _, rows = await self._account(site, claims)
        return await self._choice(site, rows)

    async def sync(
        self, site: Site, claims: AccountClaims, cookie: ConsentCookie | None, lang: str
    ) -> Issued | None:
        """Bring this browser and the account together at a page load; None when nothing changes."""
        _, rows = await self._account(site, claims)
        choice = await self._choice(site, rows)
        mine = for_site(cookie, site.id)
        if mine is not None and mine.version == site.notice.version:
            linked = next((row for row in rows if row.receipt_id == mine.receipt_id), None)
            if linked is not None:
                if choice is None or linked.origin_idx == rows[0].origin_idx:
                    return None
            else:
                own = await self.consent.receipt_entry_of(mine.consent_id, mine.receipt_id)
                if own is not None and (choice is None or int(own["index"]) > choice.newest_link):
                    # Chosen here without a valid token, after the account's last choice: link it.
                    link = await self.link(site, claims, origin=int(own["index"]))
                    return await self._adopt(own, site, lang, mine, link)
        if choice is None:
            return None
        link = await self.link(site, claims, origin=int(choice.entry["index"]))
        return await self._adopt(choice.entry, site, lang, mine, link)

    async def _adopt(
        self, source: dict[str, Any], site: Site, lang: str, mine: ConsentCookie | None, link: Link
    ) -> Issued:
        return await self.consent.adopt(SourceChoice.of_entry(source), site, ADOPTED, lang, False, mine, link)

    async def erase(self, site: Site, claims: AccountClaims) -> int:
        """Crypto-shred every receipt linked to the account; how many receipts were linked."""
        commitment, rows = await self._account(site, claims)
        if commitment is None:
            return 0
        indices = sorted(row.idx for row in rows)
        subjects = await self.services.storage.aquery(
            f"SELECT DISTINCT subject FROM `{schema.LOG}` FINAL "
            "WHERE idx IN {i:Array(UInt64)} AND subject != ''",
            {"i": indices},
        )
        for (subject,) in subjects:
            await self.consent.erase_subject(str(subject))
        # The account's own tombstone covers every entry that carries its commitment.
        await self.consent.tombstone(commitment, indices)
        await self.links.delete(commitment)
        self.subjects.forget(self._subject_id(site, claims))
        logger.info("account erased", extra={"site_id": site.id, "receipts": len(indices)})
        return len(indices)
