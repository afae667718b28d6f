"""Unavailable: samtycke's own machinery cannot serve now, and nothing was lost.

These are infrastructure errors, free of HTTP.  The CLI prints their message; the web
boundary (``samtycke.web.app``) answers them with 503 and ``Retry-After``, in one place::

    Unavailable                 retry later
     ├── StorageUnavailable     ClickHouse unreachable or not serving (samtycke.storage)
     │    └── QueryLimitExceeded  a query ran past its time or memory limit (samtycke.storage)
     ├── QueriesBusy            the report queries' turns are all taken (samtycke.storage.budget)
     ├── JournalFull            the journal cannot take more (samtycke.journal)
     ├── JournalClosed          the service is shutting down (samtycke.journal)
     └── LogNotReady            the consent log is loading or refused to start (consent.ledger)
"""

from __future__ import annotations


class Unavailable(Exception):
    """Try again later: ``code`` names the cause for machines, the message for people."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
