"""The visit state as an ordered dict of objects: slow and large, but plainly right.

It is what ``analytics.ingestion.visits`` did before its packed table, kept as the oracle
the table is compared with.  Two changes: a duration is whole milliseconds by integer
division, where the dict version multiplied float seconds (1.001 s came out as 1,000 ms),
and ``force_new`` starts a new visit, where the dict version let it keep the current one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analytics.ingestion.sources import Source
from analytics.ingestion.visits import IDLE, Placement

_MILLISECOND = timedelta(milliseconds=1)


@dataclass(slots=True)
class _State:
    visit_id: int
    last_seen: datetime
    local_day: date
    actions: int
    entry_page: str
    source: Source


class ReferenceVisits:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._state: OrderedDict[tuple[int, int], _State] = OrderedDict()
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._state)

    def place(
        self,
        site_id: int,
        visitor_id: int,
        at: datetime,
        local_day: date,
        *,
        page: str,
        source: Source,
        is_action: bool,
        force_new: bool = False,
    ) -> Placement | None:
        key = (site_id, visitor_id)
        state = self._state.get(key)
        if state is not None and (force_new or not _continues(state, at, local_day, source)):
            state = None
        if state is None:
            if not is_action:
                return None
            self._next_id += 1
            state = _State(self._next_id, at, local_day, 0, page, source)
            self._state[key] = state
            is_entry, elapsed = True, 0
        else:
            is_entry = False
            elapsed = max(0, (at - state.last_seen) // _MILLISECOND)
            state.last_seen = max(at, state.last_seen)
        self._state.move_to_end(key)
        bounce_delta = 0
        if is_action:
            state.actions += 1
            bounce_delta = 1 if state.actions == 1 else -1 if state.actions == 2 else 0
        if len(self._state) > self.capacity:
            self._state.popitem(last=False)
        return Placement(
            state.visit_id, is_entry, bounce_delta, min(elapsed, 2**32 - 1), state.entry_page, state.source
        )

    def forget(self, site_id: int, visitor_id: int) -> None:
        self._state.pop((site_id, visitor_id), None)


def _continues(state: _State, at: datetime, local_day: date, source: Source) -> bool:
    if at - state.last_seen > IDLE or local_day != state.local_day:
        return False
    campaign = source.campaign_key
    return not campaign or campaign == state.source.campaign_key
