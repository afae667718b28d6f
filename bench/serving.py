"""What the benchmarks share: a real `samtycke serve` (port, wait, log), wrk, and thread CPU time."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_samtycke(
    work: Path, config_text: str, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """``samtycke serve`` with ``config_text`` in ``work``; returns once /readyz says ready."""
    config = work / "samtycke.toml"
    config.write_text(config_text, encoding="utf-8")
    port = free_port()
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        [sys.executable, "-m", "samtycke", "serve", "--config", str(config), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"samtycke did not become ready; see {work / 'serve.log'}")


def run_wrk(url: str, script: Path, *, connections: int, duration: str, threads: int = 2) -> dict[str, Any]:
    """One wrk run (with a Lua request script) and what it printed, parsed."""
    done = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(threads, connections)),
            "-c",
            str(connections),
            "-d",
            duration,
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(done.stdout) | {"connections": connections}


def parse_wrk(output: str) -> dict[str, Any]:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if rate is None or count is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    percentiles = {}
    for name, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        percentiles[f"p{name}_ms"] = round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests": int(count.group(1)),
        "requests_per_second": float(rate.group(1)),
        **percentiles,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by a process's main thread and by its other threads."""
    tick = os.sysconf("SC_CLK_TCK")
    main = others = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(task.name) == pid:
            main += seconds
        else:
            others += seconds
    return main, others


def bench_arguments(description: str, results_json: str) -> argparse.Namespace | None:
    """The options every benchmark takes; None (after saying why) when wrk is missing."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-results-md", action="store_true", help=f"only write bench/{results_json}")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed", file=sys.stderr)
        return None
    return args
