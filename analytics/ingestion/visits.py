"""Which visit a hit belongs to, from each visitor's last-seen state kept in memory.

A new visit starts after 30 minutes without hits, at midnight in the site's time zone,
when the campaign changes, or when the tracker asks (``new_visit=1``).  The state is
bounded (least recently seen visitors are forgotten first) and keyed by the pseudonymous
visitor id only.  Each hit leaves with the facts that make entry, exit, bounce and duration
derivable by addition (see ``analytics.schema``).  With several instances each keeps its
own state, so a visitor whose hits alternate between instances may be counted as more
visits; route by client to avoid that.

At a busy site this state is most of the collector's memory, so it is a table of packed
fields allocated in full at start-up, sized by the bound: the memory it takes is the same
with one visitor or with the bound reached, and is all resident from the start.  A visitor
takes one slot (``SLOT_BYTES``) and up to two buckets of an open-addressing index (linear
probing, deletion by backward shift: no tombstones to build up).  The least recently seen
order is a doubly linked list through the slots.  A visit's entry page and source, which
visitors share, are held once each in ``Interned`` pools and stored as numbers; the visit's
campaign is its source's.
"""

from __future__ import annotations

import random
import secrets
from array import array
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from analytics.ingestion.interning import Interned
from analytics.ingestion.sources import Source

IDLE = timedelta(minutes=30)
DEFAULT_CAPACITY = 200_000
MAX_CAPACITY = 100_000_000  # slot numbers are 32-bit signed, and the index has twice as many buckets

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_IDLE_US = IDLE // _MICROSECOND
_U64 = 2**64 - 1
_SITE_SPREAD = 0x9E3779B97F4A7C15  # odd, so that sites spread over the whole 64-bit key space
_NONE = -1  # no slot: an empty bucket, the end of the list
_ACTIONS_SEEN = 3  # actions saturate here: only the first and the second change the bounce count

# One visitor's slot: visitor id, site id, visit id, last seen (microseconds since the epoch),
# local day (ordinal), actions, entry page and source numbers, older and newer neighbours.
_SLOT_FIELDS = ("Q", "I", "q", "q", "i", "B", "I", "I", "i", "i")
SLOT_BYTES = sum(array(code).itemsize for code in _SLOT_FIELDS)
_BUCKET_BYTES = array("i").itemsize

# Visit ids only need to be unique, not secret; os.urandom per visit costs a system call.
_ids = random.Random(secrets.randbits(128))


def buckets_for(capacity: int) -> int:
    """The index's size: a power of two at least twice the capacity, so probes stay short."""
    return 1 << max(3, (2 * capacity - 1).bit_length())


def reserved_bytes(capacity: int) -> int:
    """What the table for ``capacity`` visitors allocates at start-up."""
    return capacity * SLOT_BYTES + buckets_for(capacity) * _BUCKET_BYTES


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
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"the visit state holds 1 to {MAX_CAPACITY} visitors, not {capacity}")
        self.capacity = capacity
        buckets = buckets_for(capacity)
        self._mask = buckets - 1
        self._shift = 64 - (buckets.bit_length() - 1)
        # Multiply-shift hashing with a secret multiplier: tracker-chosen visitor ids cannot be
        # aimed at one bucket to make probes long.
        self._multiplier = secrets.randbits(64) | 1
        # Repeating a one-item array writes every byte, so the pages are resident from here on.
        self._index = array("i", [_NONE]) * buckets  # bucket -> slot
        self._visitor = array("Q", [0]) * capacity
        self._site = array("I", [0]) * capacity
        self._visit = array("q", [0]) * capacity
        self._last_seen = array("q", [0]) * capacity
        self._day = array("i", [0]) * capacity
        self._actions = array("B", [0]) * capacity
        self._page = array("I", [0]) * capacity
        self._source = array("I", [0]) * capacity
        self._older = array("i", [_NONE]) * capacity
        self._newer = array("i", [_NONE]) * capacity  # for a free slot: the next free one
        self._oldest = self._newest = _NONE
        self._free = _NONE  # slots given back by ``forget``
        self._unused = 0  # slots from here on were never given out
        self._held = 0
        self._pages: Interned[str] = Interned()
        self._sources: Interned[Source] = Interned()

    def __len__(self) -> int:
        return self._held

    @property
    def distinct_values(self) -> int:
        """Entry pages and sources held, each once however many visits share it."""
        return len(self._pages) + len(self._sources)

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
        """Assign a hit to a visit; ``None`` for a heartbeat that has no visit to extend.

        ``at`` carries its time zone; ``local_day`` is its date in the site's zone.
        """
        at_us = (at - _EPOCH) // _MICROSECOND
        day = local_day.toordinal()
        bucket = self._bucket(site_id, visitor_id)
        slot = self._index[bucket]
        if slot == _NONE or force_new or not self._continues(slot, at_us, day, source):
            if not is_action:
                return None
            if slot == _NONE:
                if self._held == self.capacity:
                    self._forget_slot(self._oldest)
                    bucket = self._bucket(site_id, visitor_id)  # the deletion may have moved buckets
                slot = self._new_slot()
                self._index[bucket] = slot
                self._visitor[slot] = visitor_id
                self._site[slot] = site_id
                self._held += 1
            else:
                self._pages.release(self._page[slot])
                self._sources.release(self._source[slot])
                self._unlink(slot)
            self._visit[slot] = _ids.getrandbits(63) or 1
            self._last_seen[slot] = at_us
            self._day[slot] = day
            self._actions[slot] = 0
            self._page[slot] = self._pages.hold(page)
            self._source[slot] = self._sources.hold(source)
            is_entry = True
            elapsed_ms = 0
        else:
            is_entry = False
            last_seen = self._last_seen[slot]
            elapsed_ms = max(0, (at_us - last_seen) // 1000)
            if at_us > last_seen:
                self._last_seen[slot] = at_us
            if slot != self._newest:
                self._unlink(slot)
                self._append(slot)
        if is_entry:
            self._append(slot)
        bounce_delta = 0
        if is_action:
            actions = self._actions[slot]
            if actions < _ACTIONS_SEEN:
                self._actions[slot] = actions = actions + 1
            bounce_delta = 1 if actions == 1 else -1 if actions == 2 else 0
        return Placement(
            visit_id=self._visit[slot],
            is_entry=is_entry,
            bounce_delta=bounce_delta,
            duration_ms=min(elapsed_ms, 2**32 - 1),
            entry_page=self._pages.value(self._page[slot]),
            source=self._sources.value(self._source[slot]),
        )

    def forget(self, site_id: int, visitor_id: int) -> None:
        slot = self._index[self._bucket(site_id, visitor_id)]
        if slot != _NONE:
            self._forget_slot(slot)

    # -- the table ---------------------------------------------------------------------------------

    def _continues(self, slot: int, at_us: int, day: int, source: Source) -> bool:
        if at_us - self._last_seen[slot] > _IDLE_US or day != self._day[slot]:
            return False
        campaign = source.campaign_key
        return not campaign or campaign == self._sources.value(self._source[slot]).campaign_key

    def _home(self, site_id: int, visitor_id: int) -> int:
        return (((visitor_id + site_id * _SITE_SPREAD) * self._multiplier) & _U64) >> self._shift

    def _bucket(self, site_id: int, visitor_id: int) -> int:
        """The bucket that holds this visitor's slot, or the empty one where it would go."""
        index, visitors, sites, mask = self._index, self._visitor, self._site, self._mask
        bucket = (
            ((visitor_id + site_id * _SITE_SPREAD) * self._multiplier) & _U64
        ) >> self._shift  # _home, inlined
        while True:
            slot = index[bucket]
            if slot == _NONE or (visitors[slot] == visitor_id and sites[slot] == site_id):
                return bucket
            bucket = (bucket + 1) & mask

    def _unindex(self, bucket: int) -> None:
        """Empty a bucket, moving later slots of its probe run back so that all stay reachable."""
        index, mask = self._index, self._mask
        hole = probe = bucket
        while True:
            probe = (probe + 1) & mask
            slot = index[probe]
            if slot == _NONE:
                break
            home = self._home(self._site[slot], self._visitor[slot])
            if (probe - home) & mask >= (probe - hole) & mask:  # its home is not past the hole
                index[hole] = slot
                hole = probe
        index[hole] = _NONE

    def _new_slot(self) -> int:
        if self._free != _NONE:
            slot = self._free
            self._free = self._newer[slot]
            return slot
        slot = self._unused
        self._unused += 1
        return slot

    def _forget_slot(self, slot: int) -> None:
        self._unindex(self._bucket(self._site[slot], self._visitor[slot]))
        self._unlink(slot)
        self._pages.release(self._page[slot])
        self._sources.release(self._source[slot])
        self._newer[slot] = self._free
        self._free = slot
        self._held -= 1

    def _unlink(self, slot: int) -> None:
        older, newer = self._older[slot], self._newer[slot]
        if older == _NONE:
            self._oldest = newer
        else:
            self._newer[older] = newer
        if newer == _NONE:
            self._newest = older
        else:
            self._older[newer] = older

    def _append(self, slot: int) -> None:
        """Make the slot the most recently seen."""
        self._older[slot] = self._newest
        self._newer[slot] = _NONE
        if self._newest == _NONE:
            self._oldest = slot
        else:
            self._newer[self._newest] = slot
        self._newest = slot
