"""The receipts a customer account's choice was made or adopted by, filed under its commitment.

One row per linked receipt: its log index and id, and the index of the receipt where the
choice was made (``origin_idx``: the receipt itself for a choice made with the account's
token, the source for one adopted from it).  The account's choice is the origin of its
newest row; two browsers agree with the account when their receipts share that origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from consent import schema
from consent.ledger.entries import ch_time
from samtycke.journal import Record, record
from samtycke.storage import Storage

# An account's rows are one per choice or adoption; a history far past this is no person's.
MAX_ROWS = 10_000


@dataclass(frozen=True)
class LinkRow:
    idx: int
    receipt_id: str
    origin_idx: int


def link_record(account: str, index: int, receipt_id: str, origin_idx: int, now: datetime) -> Record:
    row = {
        "account": account,
        "idx": index,
        "receipt_id": receipt_id,
        "origin_idx": origin_idx,
        "created_at": ch_time(now),
    }
    return record(schema.ACCOUNT_LINKS, row)


class AccountLinks:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def rows(self, account: str) -> list[LinkRow]:
        """The account's linked receipts, newest first."""
        rows = await self.storage.aquery(
            f"SELECT idx, receipt_id, origin_idx FROM `{schema.ACCOUNT_LINKS}` FINAL "
            f"WHERE account = {{a:String}} ORDER BY idx DESC LIMIT {MAX_ROWS}",
            {"a": account},
        )
        return [LinkRow(int(i), str(r), int(o)) for i, r, o in rows]

    async def delete(self, account: str) -> None:
        await self.storage.acommand(
            f"ALTER TABLE `{schema.ACCOUNT_LINKS}` DELETE WHERE account = {{a:String}}",
            {"a": account},
            {"mutations_sync": 2},
        )
