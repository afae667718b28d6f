"""Report queries in a budget: a few at a time, each bounded in time and memory.

Statistics are read by people, and a single wide query (a year of raw events, grouped by
page) can take the CPU and memory the collector needs to keep acknowledging hits, or
hold every pooled ClickHouse client so that shipments wait.  So:

* a report request takes a ``turn``; at most ``concurrency`` hold one, and one more waits
  ``queue_seconds`` for it and is then told to come back (``QueriesBusy``, 503);
* at most ``concurrency`` report queries run in ClickHouse at once, whichever requests
  they belong to, so pooled clients stay free for the journal's shipments;
* each query carries ClickHouse's own limits, ``max_execution_time`` and
  ``max_memory_usage``; one that hits a limit ends with ``QueryLimitExceeded``, which
  says which limit and what to narrow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from samtycke.storage.client import QueryLimitExceeded, Storage
from samtycke.unavailable import Unavailable


class QueriesBusy(Unavailable):
    code = "too_many_queries"


class QueryBudget:
    def __init__(
        self,
        storage: Storage,
        *,
        concurrency: int,
        queue_seconds: float,
        max_execution_time: float,
        max_memory_usage: int,
    ) -> None:
        self.storage = storage
        self.queue_seconds = queue_seconds
        self.settings = {"max_execution_time": max_execution_time, "max_memory_usage": max_memory_usage}
        self._turns = asyncio.Semaphore(concurrency)
        self._running = asyncio.Semaphore(concurrency)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the report requests' turns while the body runs."""
        try:
            await asyncio.wait_for(self._turns.acquire(), self.queue_seconds)
        except TimeoutError:
            raise QueriesBusy(
                "other statistics queries are running; try again in a moment", retry_after=2
            ) from None
        try:
            yield
        finally:
            self._turns.release()

    async def aquery(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """``Storage.aquery`` within the limits."""
        async with self._running:
            try:
                return await self.storage.aquery(sql, parameters, self.settings)
            except QueryLimitExceeded as exc:
                raise QueryLimitExceeded(
                    f"the query went past its limit of {self._limit_of(exc)}; "
                    "narrow the date range, the dimensions or the filters",
                    limit=exc.limit,
                    retry_after=exc.retry_after,
                ) from exc

    def _limit_of(self, exc: QueryLimitExceeded) -> str:
        if exc.limit == "memory":
            return f"{self.settings['max_memory_usage']} bytes of memory (analytics.stats_max_memory_bytes)"
        return f"{self.settings['max_execution_time']} seconds (analytics.stats_max_execution_time)"
