"""The C heap of a long-running server process: glibc's malloc, capped and trimmed, and the
embedded engine's jemalloc, tuned.

The interpreter, its extensions and the driver allocate through glibc, from the event loop
and from the dozens of worker threads that carry storage calls.  glibc gives each thread
that meets a locked arena a new arena of its own, up to eight per CPU, and keeps what is
freed in each arena for later reuse instead of returning it to the kernel.  Under a steady
mix of hits, consent writes and statistics queries, that freed but kept memory grew the
server's resident set by about 13 MB a minute (``bench/RESULTS.md``, "Soak"): the heap in
use stayed level while the arenas around it kept growing.  Two settings hold it level,
applied once at the edge (``samtycke serve``), before those threads start:

* at most ``ARENAS`` arenas (``mallopt(M_ARENA_MAX)``), so freed memory is reused by the
  next allocation of any thread rather than stranded in an arena only one thread visits;
* every ``TRIM_EVERY_SECONDS``, ``malloc_trim(0)`` hands whole free pages inside every
  arena back to the kernel.  It runs on a thread of its own: ctypes releases the GIL for the
  call, so requests go on while it walks the arenas.

The embedded engine itself does not allocate from glibc: chDB carries its own jemalloc, built
with ClickHouse's options, which read ``JE_MALLOC_CONF`` once, when the library is loaded.
Two of those options cost a long-running samtycke without giving it anything, so
``ENGINE_ALLOCATOR`` changes them, and the operator's own ``JE_MALLOC_CONF`` still wins
because jemalloc lets the last setting of an option stand:

* ``prof_active:false``: ClickHouse samples allocations for heap profiles (one backtrace every
  512 KiB allocated, kept for as long as the memory lives); samtycke never reads them;
* ``dirty_decay_ms:1000``: pages freed by a query or a merge go back to the kernel after
  about a second rather than five, so the resident set follows the memory in use instead of
  swinging by tens of megabytes with the last few seconds' queries.

Other C libraries (musl, macOS) have neither glibc call; there the arenas are left alone.

https://man7.org/linux/man-pages/man3/mallopt.3.html
https://man7.org/linux/man-pages/man3/malloc_trim.3.html
https://jemalloc.net/jemalloc.3.html#tuning
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import threading
import time

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2
TRIM_EVERY_SECONDS = 10.0
ENGINE_ALLOCATOR = "prof_active:false,dirty_decay_ms:1000"
ENGINE_ALLOCATOR_VARIABLE = "JE_MALLOC_CONF"  # chDB's jemalloc is built with the je_ prefix
ENGINE_MODULE = "chdb"


def glibc() -> ctypes.CDLL | None:
    """The process's own C library when it is glibc, else None."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def cap_arenas(libc: ctypes.CDLL, arenas: int = ARENAS) -> None:
    if libc.mallopt(M_ARENA_MAX, arenas) != 1:
        raise OSError(f"glibc refused mallopt(M_ARENA_MAX, {arenas})")


def release_free_pages(libc: ctypes.CDLL) -> None:
    libc.malloc_trim(0)


def tune_engine_allocator() -> bool:
    """Set the embedded engine's allocator options; False when the engine is already loaded,
    since jemalloc reads them only once."""
    if ENGINE_MODULE in sys.modules:
        return False
    own = os.environ.get(ENGINE_ALLOCATOR_VARIABLE, "")
    os.environ[ENGINE_ALLOCATOR_VARIABLE] = f"{ENGINE_ALLOCATOR},{own}" if own else ENGINE_ALLOCATOR
    return True


def keep_level(every_seconds: float = TRIM_EVERY_SECONDS) -> bool:
    """Tune the engine's allocator, cap glibc's arenas and start returning freed pages;
    False where the C library is not glibc."""
    tune_engine_allocator()
    libc = glibc()
    if libc is None:
        return False
    cap_arenas(libc)

    def trim_forever() -> None:
        while True:
            time.sleep(every_seconds)
            release_free_pages(libc)

    threading.Thread(target=trim_forever, name="malloc-trim", daemon=True).start()
    return True
