"""The durable local journal in front of ClickHouse, and the shipper that drains it."""

from samtycke.journal import receipts
from samtycke.journal.journal import Journal, JournalClosed, JournalFull, record
from samtycke.journal.segment import Record
from samtycke.journal.shipper import Shipper, Unconfirmed

__all__ = [
    "Journal",
    "JournalClosed",
    "JournalFull",
    "Record",
    "Shipper",
    "Unconfirmed",
    "receipts",
    "record",
]
