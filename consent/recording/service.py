"""Consent operations, free of HTTP: issue a receipt for a choice, read a history, withdraw, erase, purge."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from consent import schema
from consent.cookies import ConsentCookie, for_site
from consent.ledger.entries import ch_time, ranges, rfc3339
from consent.ledger.log import ConsentLog, SignedCheckpoint
from consent.ledger.sequencer import Appended, Entry
from consent.recording.adoption import Link, SourceChoice, adopted_choice
from consent.recording.choice import Choice, InvalidChoice
from consent.recording.notices import Notices
from consent.recording.receipts import lifetime_days, receipt_entry, receipt_from_entry, sign_receipt
from consent.recording.subjects import Subjects
from samtycke.journal import Record, record
from samtycke.services import Services
from samtycke.settings import Site

logger = logging.getLogger("samtycke.consent")

PURGE_BATCH = 100_000


@dataclass(frozen=True)
class Issued:
    receipt: dict[str, Any]
    jws: str
    cookie: ConsentCookie
    max_age: int


@dataclass(frozen=True)
class HistoryItem:
    index: int
    leaf_hash: str
    entry: dict[str, Any]


class ConsentService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.log = ConsentLog(services)
        self.subjects = Subjects(services.storage)
        self.notices = Notices()
        self.log.sequencer.on_appended = self._saw

    def _saw(self, appended: list[Appended]) -> None:
        for item in appended:
            if item.entry.get("type") == "notice":
                self.notices.add(item.entry)

    async def start(self) -> None:
        """Load the log, publish current notices, finish interrupted erasures."""
        await self.log.load()
        if not self.log.loaded:
            return
        await self.notices.load(self.services.storage)
        unbumped = self.notices.unbumped_changes(self.settings)
        if unbumped:
            self.log.problem = " ".join(unbumped)
            logger.error("consent log: the cookie declaration changed without a new notice version")
            return
        for entry in self.notices.missing(self.settings, self.services.now()):
            await self.log.sequencer.append(entry)
        await self.subjects.shred_tombstoned()
        self.log.open()

    # -- recording --------------------------------------------------------------------------------

    async def adopt(
        self,
        source: SourceChoice,
        site: Site,
        method: str,
        lang: str,
        gpc_signal: bool,
        previous: ConsentCookie | None,
        link: Link | None = None,
    ) -> Issued:
        """A receipt on ``site`` for the choice of the ``source`` receipt (see ``recording.adoption``);
        ``link`` files it under a customer account."""
        choice = adopted_choice(source, site, method, lang, gpc_signal)
        return await self.issue(choice, previous, source.receipt_id, link)

    async def issue(
        self,
        choice: Choice,
        previous: ConsentCookie | None,
        source_receipt_id: str | None = None,
        link: Link | None = None,
    ) -> Issued:
        """A receipt for ``choice``; ``source_receipt_id`` names the receipt an adopted choice came
        from, and ``link`` files the receipt under a customer account."""
        self.log.require_ready()
        notice = self.notices.get(choice.site.id, choice.notice_version, choice.lang)
        if notice is None:
            raise InvalidChoice(
                f"notice version {choice.notice_version[:100]!r} was never published for this site",
                field="notice_version",
            )
        now = self.services.now()
        same_site = for_site(previous, choice.site.id)
        consent_id = same_site.consent_id if same_site else None
        previous_receipt = same_site.receipt_id if same_site and consent_id else None
        if consent_id is not None and await self.subjects.find(consent_id) is None:
            consent_id, previous_receipt = None, None  # erased or unknown: never revive an id
        if consent_id is None:
            consent_id, subject = self.subjects.create(now)
        else:
            subject = await self.subjects.get_or_create(consent_id, now)
        days = lifetime_days(choice, self.settings.consent.consent_days, self.settings.consent.refusal_days)
        entry = receipt_entry(
            choice,
            notice,
            subject.commitment,
            previous_receipt or None,
            now,
            days,
            source_receipt_id,
            link.mark if link is not None else None,
        )
        new_subject = [subject.new_record] if subject.new_record is not None else []

        def extra(index: int) -> list[Record]:
            linked = link.records(index, entry.receipt_id) if link is not None else ()
            return [*new_subject, *linked]

        appended = await self.log.append(entry, extra)
        receipt = receipt_from_entry(appended.entry, consent_id, choice.site, appended.leaf_hash.hex())
        signed, jws = sign_receipt(receipt, self.log.keys.active)
        exp = int((now + timedelta(days=days)).timestamp())
        cookie = ConsentCookie(
            consent_id=consent_id,
            site_id=choice.site.id,
            granted=choice.granted,
            decisions=dict(choice.decisions),
            version=choice.notice_version,
            method=choice.method,
            receipt_id=str(appended.entry["receipt_id"]),
            exp=exp,
        )
        return Issued(signed, jws, cookie, days * 86400)

    # -- reading ----------------------------------------------------------------------------------

    async def history(self, consent_id: str) -> tuple[list[HistoryItem], SignedCheckpoint]:
        """The subject's receipts, and a signed checkpoint that covers them all.

        The newest checkpoint serves when it covers the receipts; one is signed only when a
        receipt is newer, so reading a history again and again signs nothing more.
        """
        self.log.require_ready()
        await self.log.flush()
        commitment = await self.subjects.find(consent_id)
        if commitment is None:
            return [], await self.log.checkpoint_covering(0)
        rows = await self.services.storage.aquery(
            f"SELECT idx, leaf_hash, entry FROM `{schema.LOG}` FINAL "
            "WHERE subject = {c:String} AND kind = 'receipt' AND idx < {size:UInt64} ORDER BY idx",
            {"c": commitment, "size": self.log.tree.size},
        )
        items = [HistoryItem(int(i), str(h), json.loads(e)) for i, h, e in rows if e]
        return items, await self.log.checkpoint_covering(items[-1].index + 1 if items else 0)

    async def entry_at(self, index: int) -> dict[str, Any] | None:
        """The stored entry at a log index; None when its payload was purged (or never stored)."""
        rows = await self.services.storage.aquery(
            f"SELECT entry FROM `{schema.LOG}` FINAL WHERE idx = {{i:UInt64}}", {"i": index}
        )
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    async def receipt_entry_of(self, consent_id: str, receipt_id: str) -> dict[str, Any] | None:
        """One of a subject's receipts, by id; None when the subject is unknown or erased."""
        commitment = await self.subjects.find(consent_id)
        if commitment is None:
            return None
        rows = await self.services.storage.aquery(
            f"SELECT entry FROM `{schema.LOG}` FINAL WHERE subject = {{c:String}} "
            "AND kind = 'receipt' AND receipt_id = {r:String}",
            {"c": commitment, "r": receipt_id},
        )
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def proof(self, index: int, size: int) -> dict[str, Any]:
        return {
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": self.log.tree.leaf(index).hex(),
            "audit_path": [h.hex() for h in self.log.tree.inclusion_proof(index, size)],
            "root_hash": self.log.tree.root(size).hex(),
        }

    def receipt_of(self, item: HistoryItem, consent_id: str) -> dict[str, Any]:
        site = self.settings.site(int(item.entry.get("site_id", 0)))
        return receipt_from_entry(item.entry, consent_id, site, item.leaf_hash)

    # -- erasure and retention ----------------------------------------------------------------------

    async def erase(self, consent_id: str) -> Appended | None:
        """Tombstone the subject's entries and delete its salt; None if nothing is known."""
        self.log.require_ready()
        await self.log.flush()
        commitment = await self.subjects.find(consent_id)
        if commitment is None:
            return None
        self.subjects.forget(consent_id)
        return await self.erase_subject(commitment)

    async def erase_subject(self, commitment: str, reason: str = "erasure") -> Appended:
        """Tombstone every entry of a subject commitment, then delete its salt."""
        self.log.require_ready()
        rows = await self.services.storage.aquery(
            f"SELECT idx FROM `{schema.LOG}` FINAL WHERE subject = {{c:String}} ORDER BY idx",
            {"c": commitment},
        )
        return await self.tombstone(commitment, [int(r[0]) for r in rows], reason)

    async def tombstone(self, commitment: str, indices: list[int], reason: str = "erasure") -> Appended:
        """Append a tombstone for a subject's entries, and once it is durable shred the subject's salt."""
        now = self.services.now()
        body = {
            "type": "tombstone",
            "reason": reason,
            "subject": commitment,
            "covers": ranges(indices),
            "time": rfc3339(now),
        }
        appended = await self.log.append(Entry("tombstone", body, now, subject=commitment))
        # The tombstone is durable first, so a crash here is finished at the next start.
        await self.log.flush()
        await self.subjects.shred([commitment])
        return appended

    async def purge(self, before: datetime) -> int:
        """Drop receipt payloads older than ``before``; a tombstone covers them first."""
        self.log.require_ready()
        await self.log.flush()
        rows = await self.services.storage.aquery(
            f"SELECT idx, leaf_hash, kind, site_id, event_time FROM `{schema.LOG}` FINAL "
            "WHERE kind = 'receipt' AND entry != '' AND event_time < {before:DateTime64(3, 'UTC')} "
            f"ORDER BY idx LIMIT {PURGE_BATCH}",
            {"before": before},
        )
        if not rows:
            return 0
        now = self.services.now()
        body = {
            "type": "tombstone",
            "reason": "retention",
            "before": rfc3339(before),
            "covers": ranges([int(r[0]) for r in rows]),
            "time": rfc3339(now),
        }
        await self.log.append(Entry("tombstone", body, now))
        redacted = [
            record(
                schema.LOG,
                {
                    "idx": int(idx),
                    "kind": kind,
                    "site_id": int(site_id),
                    "subject": "",
                    "receipt_id": "",
                    "event_time": ch_time(event_time),
                    "entry": "",
                    "leaf_hash": leaf,
                    "revision": 1,
                },
            )
            for idx, leaf, kind, site_id, event_time in rows
        ]
        await self.log.journal(redacted)
        await self.log.flush()
        logger.info("consent receipts purged", extra={"count": len(rows)})
        return len(rows)

    async def purge_loop(self) -> None:
        while True:
            days = self.settings.consent.receipt_retention_days
            try:
                while await self.purge(self.services.now() - timedelta(days=days)) == PURGE_BATCH:
                    pass
            except Exception as exc:  # a failed purge retries tomorrow; it must not stop the service
                logger.warning("retention purge failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(24 * 3600)

    async def run(self) -> None:
        """Everything the domain does in the background once ClickHouse is migrated."""
        await self.start()
        if self.log.ready:
            await asyncio.gather(self.log.checkpoint_loop(), self.purge_loop())
