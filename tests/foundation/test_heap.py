"""The C heap settings, on this machine's real glibc, each in a fresh interpreter.

Each case runs in a subprocess: arenas and freed pages belong to the whole process, and
the test process has its own long history of both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from samtycke import heap

pytestmark = pytest.mark.skipif(heap.glibc() is None, reason="the C library is not glibc")

ANON_RSS = """
import re
def anon_rss_mb():
    status = open("/proc/self/status").read()
    return int(re.search(r"RssAnon:\\s+(\\d+) kB", status).group(1)) / 1024
"""

# Every thread's first allocation takes an arena of its own while fewer exist than allowed;
# malloc_info writes one <heap nr=...> element per arena.
ARENAS_AFTER_THREADS = """
import ctypes, os, re, tempfile, threading
from samtycke import heap
libc = heap.glibc()
if CAP:
    heap.cap_arenas(libc)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
started = threading.Barrier(8)
def allocate():
    started.wait()
    blocks = [libc.malloc(4096) for _ in range(100)]
    started.wait()  # every thread holds its blocks at once
    for block in blocks:
        libc.free(block)
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
path = os.path.join(tempfile.mkdtemp(), "malloc_info.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
print(len(re.findall(r'<heap nr="', open(path).read())))
"""


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def arenas_after_eight_threads(cap: bool) -> int:
    return int(run(f"CAP = {cap}\n" + ARENAS_AFTER_THREADS))


def test_eight_threads_share_the_capped_arenas() -> None:
    assert arenas_after_eight_threads(cap=False) > heap.ARENAS  # what the cap prevents
    assert arenas_after_eight_threads(cap=True) <= heap.ARENAS


def test_freed_pages_go_back_to_the_kernel() -> None:
    # 300 MB of 1,000-byte blocks (malloc's, not Python's small-object allocator), of which
    # every fiftieth stays: the heap cannot simply shrink from its top.
    measured = json.loads(
        run(
            ANON_RSS
            + """
import json
from samtycke import heap
blocks = [bytes(1000) for _ in range(300_000)]
kept = blocks[::50]
allocated = anon_rss_mb()
del blocks
freed = anon_rss_mb()
heap.release_free_pages(heap.glibc())
print(json.dumps({"allocated": allocated, "freed": freed, "released": anon_rss_mb()}))
"""
        )
    )
    # glibc keeps what was freed resident until asked (this is what grew the server) ...
    assert measured["freed"] > 0.8 * measured["allocated"]
    # ... and gives back all but the blocks still in use and the interpreter itself.
    assert measured["released"] < 0.3 * measured["allocated"]


def test_keep_level_trims_on_its_own_thread() -> None:
    measured = json.loads(
        run(
            ANON_RSS
            + """
import json, threading, time
from samtycke import heap
assert heap.keep_level(every_seconds=0.05)
blocks = [bytes(1000) for _ in range(300_000)]
kept = blocks[::50]
allocated = anon_rss_mb()
del blocks
deadline = time.monotonic() + 30
while anon_rss_mb() > 0.3 * allocated and time.monotonic() < deadline:
    time.sleep(0.05)
names = [t.name for t in threading.enumerate()]
print(json.dumps({"allocated": allocated, "later": anon_rss_mb(), "threads": names}))
"""
        )
    )
    assert "malloc-trim" in measured["threads"]
    assert measured["later"] < 0.3 * measured["allocated"]


# What the embedded engine's jemalloc reports it runs with, read back from the engine itself.
ENGINE_OPTIONS = """
import json, re
from samtycke import heap
if TUNE:
    assert heap.tune_engine_allocator()
import chdb
stats = str(chdb.query("SELECT stats FROM system.jemalloc_stats", "TSVRaw"))
options = dict(re.findall(r"^  opt\\.(prof_active|dirty_decay_ms|muzzy_decay_ms): (\\S+)", stats, re.M))
print(json.dumps({**options, "again": heap.tune_engine_allocator()}))
"""


def engine_options(tune: bool, own: str | None = None) -> dict[str, object]:
    code = f"TUNE = {tune}\n" + ENGINE_OPTIONS
    if own is not None:
        code = f"import os\nos.environ[{heap.ENGINE_ALLOCATOR_VARIABLE!r}] = {own!r}\n" + code
    else:
        code = f"import os\nos.environ.pop({heap.ENGINE_ALLOCATOR_VARIABLE!r}, None)\n" + code
    parsed: dict[str, object] = json.loads(run(code))
    return parsed


def test_the_engine_allocator_stops_profiling_and_returns_pages_sooner() -> None:
    built = engine_options(tune=False)
    assert built["prof_active"] == "true"  # ClickHouse's build, which the tuning changes
    assert built["dirty_decay_ms"] == "5000"
    tuned = engine_options(tune=True)
    assert tuned["prof_active"] == "false"
    assert tuned["dirty_decay_ms"] == "1000"
    assert tuned["muzzy_decay_ms"] == built["muzzy_decay_ms"]  # what it does not name stays
    assert tuned["again"] is False  # once loaded, jemalloc would not read it again


def test_the_operators_own_allocator_options_win() -> None:
    tuned = engine_options(tune=True, own="dirty_decay_ms:250")
    assert tuned["dirty_decay_ms"] == "250"
    assert tuned["prof_active"] == "false"
