"""Interpreter settings for a long-running server process, applied once at the edge (`serve`).

A tracking request allocates a few hundred short-lived objects, so the garbage collector
runs every few requests.  Two defaults suit a script better than this server:

* Each collection of the older generations walks every long-lived object: modules, the
  user-agent parser's compiled patterns, the embedded ClickHouse's bindings.  Freezing
  what exists once the app is built takes those out of every later walk, and a larger
  young generation means fewer collections for the same garbage.
* The journal writer thread needs the GIL briefly after each fsync to wake the requests
  it made durable.  With the default 5 ms switch interval a busy event loop keeps it that
  long, and every acknowledgement waits with it; 1 ms keeps commits close to disk speed.
"""

from __future__ import annotations

import gc
import sys

YOUNG_GENERATION_THRESHOLD = 10_000
SWITCH_INTERVAL_SECONDS = 0.001


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
