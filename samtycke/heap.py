"""The C heap of a long-running server process: glibc's malloc, capped and trimmed.

The embedded ClickHouse allocates through the process's C library, from its query, insert
and merge threads.  glibc gives each thread that meets a locked arena a new arena of its
own, up to eight per CPU, and keeps what is freed in each arena for later reuse instead of
returning it to the kernel.  Under a steady mix of hits, consent writes and statistics
queries, that freed but kept memory grew the server's resident set by about 13 MB a minute
(``bench/RESULTS.md``, "Soak"): the heap in use stayed level while the arenas around it
kept growing.  Two settings hold it level, applied once at the edge (``samtycke serve``),
before the embedded engine starts its threads:

* at most ``ARENAS`` arenas (``mallopt(M_ARENA_MAX)``), so freed memory is reused by the
  next allocation of any thread rather than stranded in an arena only one thread visits;
* every ``TRIM_EVERY_SECONDS``, ``malloc_trim(0)`` hands whole free pages inside every
  arena back to the kernel.  It runs on a thread of its own: ctypes releases the GIL for the
  call, so requests go on while it walks the arenas.

Other C libraries (musl, macOS) have neither call; there this module does nothing.

https://man7.org/linux/man-pages/man3/mallopt.3.html
https://man7.org/linux/man-pages/man3/malloc_trim.3.html
"""

from __future__ import annotations

import ctypes
import platform
import threading
import time

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2
TRIM_EVERY_SECONDS = 10.0


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


def keep_level(every_seconds: float = TRIM_EVERY_SECONDS) -> bool:
    """Cap the arenas and start returning freed pages; False where the C library is not glibc."""
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
