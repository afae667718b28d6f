"""Which visit a hit belongs to, from each visitor's last-seen state kept in memory.

A new visit starts after 30 minutes without hits, at midnight in the site's time zone,
when the campaign changes, or when the tracker asks (``new_visit=1``).  The state is
bounded (least recently seen visitors are forgotten first) and keyed by the pseudonymous
visitor id only, and kept compact (one integer key, no per-visitor copies of values
visitors share), because at a busy site it is most of the collector's memory.  Each hit
leaves with the facts that make entry, exit, bounce and duration derivable by addition
(see ``analytics.schema``).  With several instances each keeps its own state, so a visitor
whose hits alternate between instances may be counted as more visits; route by client to
avoid that.
"""

from __future__ import annotations

import random
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from analytics.ingestion.sources import Source

IDLE = timedelta(minutes=30)
DEFAULT_CAPACITY = 200_000

# Visit ids only need to be unique, not secret; os.urandom per visit costs a system call.
_ids = random.Random(secrets.randbits(128))


@dataclass(slots=True)
class VisitState:
    visit_id: int
    last_seen: datetime
    local_day: date
    campaign: str
    actions: int
    entry_page: str
    source: Source  # fixed at the visit's first hit


@dataclass(slots=True)  # not frozen: made for every hit, and a frozen __init__ is slower
class Placement:
    visit_id: int
    is_entry: bool
    bounce_delta: int
    duration_ms: int
    entry_page: str
    source: Source


class Visits:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        # Keyed by site and visitor in one integer (visitor ids are 64-bit): a tuple key
        # would cost another object per visitor.
        self._state: OrderedDict[int, VisitState] = OrderedDict()
        # Every hit of a day brings its own date object; the state keeps one per day.
        self._days: dict[date, date] = {}

    def __len__(self) -> int:
        return len(self._state)

    def place(
        self,
        site_id: int,
        visitor_id: int,
        at: datetime,
        local_day: date,
        *,
        campaign: str,
        page: str,
        source: Source,
        is_action: bool,
        force_new: bool = False,
    ) -> Placement | None:
        """Assign a hit to a visit; ``None`` for a heartbeat that has no visit to extend."""
        key = _key(site_id, visitor_id)
        state = self._state.get(key)
        if state is not None and not force_new and not _continues(state, at, local_day, campaign):
            state = None
        if state is None:
            if not is_action:
                return None
            state = VisitState(
                visit_id=_ids.getrandbits(63) or 1,
                last_seen=at,
                local_day=self._day(local_day),
                campaign=campaign,
                actions=0,
                entry_page=page,
                source=source,
            )
            self._state[key] = state
            is_entry = True
            elapsed = 0
        else:
            is_entry = False
            elapsed = max(0, int((at - state.last_seen).total_seconds() * 1000))
            state.last_seen = max(at, state.last_seen)
        self._state.move_to_end(key)
        bounce_delta = 0
        if is_action:
            state.actions += 1
            bounce_delta = 1 if state.actions == 1 else -1 if state.actions == 2 else 0
        if len(self._state) > self.capacity:
            self._state.popitem(last=False)
        return Placement(
            visit_id=state.visit_id,
            is_entry=is_entry,
            bounce_delta=bounce_delta,
            duration_ms=min(elapsed, 2**32 - 1),
            entry_page=state.entry_page,
            source=state.source,
        )

    def forget(self, site_id: int, visitor_id: int) -> None:
        self._state.pop(_key(site_id, visitor_id), None)

    def _day(self, day: date) -> date:
        shared = self._days.get(day)
        if shared is None:
            if len(self._days) > 8:  # days pass; a few around today are all that is in use
                self._days.clear()
            shared = self._days[day] = day
        return shared


def _key(site_id: int, visitor_id: int) -> int:
    return site_id << 64 | visitor_id


def _continues(state: VisitState, at: datetime, local_day: date, campaign: str) -> bool:
    if at - state.last_seen > IDLE or local_day != state.local_day:
        return False
    return not campaign or campaign == state.campaign
