"""The embedded ClickHouse's own threads run at a lower CPU priority than the service.

In embedded mode the engine's thread pools (inserts feeding the materialized views,
background merges) live in this process and compete for the same CPUs as the event loop
that answers visitors.  Linux schedules threads, not processes, so those native threads
can be given a higher nice value: they still get every idle cycle, but when the machine
is busy a tracking request no longer waits behind a merge.

Only threads that Python did not start are touched.  A Python thread may hold the GIL,
and a de-prioritised GIL holder would stall the very event loop it should make way for.
The engine starts pool threads on demand, so the sweep repeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path

TASKS = Path("/proc/self/task")  # Linux: one entry per thread of this process


def lower_native_threads(niceness: int) -> int:
    """Set ``niceness`` on every thread not started by Python; returns how many changed."""
    if niceness <= 0 or not TASKS.is_dir():
        return 0
    python_threads = {thread.native_id for thread in threading.enumerate()}
    changed = 0
    for task in TASKS.iterdir():
        thread_id = int(task.name)
        if thread_id in python_threads:
            continue
        # The thread may have ended since the listing; raising a nice value needs no privilege.
        with contextlib.suppress(OSError):
            if os.getpriority(os.PRIO_PROCESS, thread_id) < niceness:
                os.setpriority(os.PRIO_PROCESS, thread_id, niceness)
                changed += 1
    return changed


async def keep_native_threads_low(niceness: int, every: float = 1.0) -> None:
    while True:
        await asyncio.to_thread(lower_native_threads, niceness)
        await asyncio.sleep(every)
