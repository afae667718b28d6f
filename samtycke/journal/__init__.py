"""The durable local journal in front of ClickHouse, and the shipper that drains it.

A record flows ``journal`` (appended to a segment in ``segment``'s format; many appends
share one write and one fsync) → ``shipper`` (sealed segments into ClickHouse, each chunk
under a deduplication token) → ``receipts`` (what ClickHouse says it stored under each
token) → the segment is deleted once every chunk's rows are accounted for, so a replay
after a crash neither loses nor doubles a row.  A segment ClickHouse rejects goes to
``quarantine`` for an operator.
"""

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
