"""The embedded ClickHouse's own threads yield the CPU to the service's threads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer

ENGINE_POOLS = {"ThreadPool", "MergeMutate", "BgSchPool"}
pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")


def threads_of(pid: int) -> dict[int, tuple[str, int]]:
    """Thread id -> (name, nice value), from /proc."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name)] = (name, int(fields[16]))  # field 19 of stat: nice
    return found


def test_native_threads_get_the_niceness_and_python_threads_keep_theirs(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json, os, threading
        from chdb import session
        from samtycke.storage.priority import lower_native_threads
        engine = session.Session({str(tmp_path / "ch")!r})
        engine.query("SELECT sum(number) FROM numbers(10000000) SETTINGS max_threads = 4")
        parked = threading.Event()
        worker = threading.Thread(target=parked.wait)
        worker.start()
        changed = lower_native_threads(7)
        python = {{t.native_id for t in threading.enumerate()}}
        nice = {{int(t): os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")}}
        parked.set()
        worker.join()
        print(json.dumps({{"changed": changed, "python": sorted(python), "nice": nice}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    nice = {int(tid): value for tid, value in report["nice"].items()}
    python = set(report["python"])
    assert report["changed"] > 0
    assert len(python) == 2  # the main thread and the parked worker
    assert all(nice[tid] == 0 for tid in python if tid in nice)
    native = [tid for tid in nice if tid not in python]
    assert native and all(nice[tid] >= 7 for tid in native)


def test_serve_runs_the_embedded_engine_below_its_own_threads(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(storage={"embedded_niceness": 12})
    httpx.get(server.url + "/matomo.php", params={"idsite": 1, "rec": 1, "url": "http://localhost/"})
    assert server.process is not None
    pid = server.process.pid
    deadline = time.monotonic() + 20
    while True:
        threads = threads_of(pid)
        main_nice = threads[pid][1]
        # The engine's insert, merge and scheduling pools (other engine threads and Python's
        # own carry the process's name, and cannot be told apart from outside).
        pools = {tid: nice for tid, (name, nice) in threads.items() if name in ENGINE_POOLS}
        if (pools and all(nice == 12 for nice in pools.values())) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert main_nice == 0
    assert {threads[tid][0] for tid in pools} == ENGINE_POOLS, threads
    assert all(nice == 12 for nice in pools.values()), threads


def test_niceness_zero_leaves_the_engines_threads_alone(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    server = live_server_factory(storage={"embedded_niceness": 0})
    assert server.process is not None
    time.sleep(2)  # two sweeps' worth, had there been any
    # (The engine itself may raise some of its threads' priority; nothing lowers any.)
    assert all(nice <= 0 for _, nice in threads_of(server.process.pid).values())
