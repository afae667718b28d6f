"""Load under abuse: the collector's throughput and p99 while another client sends abusive requests.

    python bench/abuse.py      # about a minute; writes bench/abuse.json, appends to bench/RESULTS.md

One ``samtycke serve`` (the collector benchmark's configuration: embedded ClickHouse,
journal fsync on) takes the collector benchmark's page views from wrk (``bench/collector.py``'s
script, connections and threads) three times in the same run: alone, while an abusive
client sends its cases as fast as the server answers them, and alone again.  The abuse is
compared with the mean of the two healthy runs around it, so that a change in the shared
machine's load during the run shows up as a difference between those two.

The abusive client sends, over ``ABUSERS`` connections at once, each request on a new
connection: a 64 KB header line, a block of 200 KB of headers, a cookie of 5,000 names, a
1 MiB query string, a 2 MiB body, 200 KB of nested JSON to the consent API, a bulk request
of 5,000 hits and one of 1,000 invalid hits, and a consent body with a 5,000-digit number.
Every answer's status is counted; a 5xx or a connection the server drops without an answer
is a failure.

The server's resident memory is sampled every 20 ms from ``/proc``; the peak of each phase
is reported.  The load average is recorded before and after, as the machine is shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from collector import CONNECTIONS, LUA, start_collector, wrk  # bench/ is the script's own directory
from serving import bench_arguments

HERE = Path(__file__).resolve().parent
DURATION = "10s"
ABUSERS = 4
SAMPLE_SECONDS = 0.02
GOAL_SHARE = 0.8

HIT = "?idsite=1&rec=1&url=http%3A%2F%2Flocalhost%2F"


def request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_body(document: Any) -> bytes:
    return json.dumps(document).encode()


# Each case as the bytes a hostile client sends, built once.
CASES: dict[str, bytes] = {
    "64 KB header line": request("GET", "/matomo.php" + HIT, {"X-Filler": "a" * 64 * 1024}),
    "200 KB of headers": request(
        "GET", "/matomo.php" + HIT, {f"X-Filler-{i}": "a" * 1000 for i in range(200)}
    ),
    "cookie of 5,000 names": request(
        "GET", "/api/v1/consent", {"Cookie": "; ".join(f"c{i}=1" for i in range(5000))}
    ),
    "1 MiB query string": request("GET", "/matomo.php" + HIT + "&pad=" + "x" * 1024 * 1024),
    "2 MiB body": request("POST", "/matomo.php", {"Content-Type": "text/plain"}, b"a" * 2 * 1024 * 1024),
    "200 KB of nested JSON": request(
        "POST", "/api/v1/consent", {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000
    ),
    "bulk of 5,000 hits": request(
        "POST", "/matomo.php", {"Content-Type": "application/json"}, json_body({"requests": [HIT] * 5000})
    ),
    "bulk of 1,000 invalid hits": request(
        "POST",
        "/matomo.php",
        {"Content-Type": "application/json"},
        json_body({"requests": ["?rec=1"] * 1000}),
    ),
    "5,000-digit number": request(
        "POST", "/api/v1/consent", {"Content-Type": "application/json"}, b'{"site_id": ' + b"9" * 5000 + b"}"
    ),
}


def send(port: int, raw: bytes) -> str:
    """The status the server answered with, or why there was none."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            # Refused before the whole request was read: the answer may still be there.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(raw)
            answer = sock.recv(64)
    except OSError as exc:
        return type(exc).__name__
    if not answer.startswith(b"HTTP/1.1 "):
        return "no answer"
    return answer[9:12].decode()


class Abuser:
    """``ABUSERS`` threads sending the cases in turn until stopped; counts each case's answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stopped = threading.Event()
        self.answers: dict[str, Counter[str]] = {name: Counter() for name in CASES}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(ABUSERS)]

    def run(self, offset: int) -> None:
        names = list(CASES)
        turn = offset
        while not self.stopped.is_set():
            name = names[turn % len(names)]
            status = send(self.port, CASES[name])
            with self.lock:
                self.answers[name][status] += 1
            turn += 1

    def __enter__(self) -> Abuser:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(30)


class RSS:
    """The server's resident memory, sampled in the background; ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int) -> None:
        self.path = Path(f"/proc/{pid}/status")
        self.stopped = threading.Event()
        self.highest = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def now(self) -> int:
        for line in self.path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.highest = max(self.highest, self.now())
            except OSError:
                return
            time.sleep(SAMPLE_SECONDS)

    def reset(self) -> None:
        self.highest = self.now()

    def peak(self) -> int:
        return self.highest

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)


def phase(url: str, script: Path, rss: RSS) -> dict[str, Any]:
    rss.reset()
    result = wrk(url, script, CONNECTIONS, DURATION)
    return result | {"server_rss_peak_mib": round(rss.peak() / 2**20, 1)}


def main() -> int:
    args = bench_arguments(__doc__ or "", "abuse.json")
    if args is None:
        return 2
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="samtycke-abuse-"))
    script = work / "matomo.lua"
    script.write_text(LUA, encoding="utf-8")
    server, url = start_collector(work)
    port = int(url.rsplit(":", 1)[1])
    rss = RSS(server.pid)
    try:
        wrk(url, script, CONNECTIONS, "3s")  # warm-up: caches, salts, first segment
        before = phase(url, script, rss)
        with Abuser(port) as abuser:
            abused = phase(url, script, rss)
        after = phase(url, script, rss)
        rss_end = rss.now()
    finally:
        rss.stop()
        server.terminate()
        server.wait(30)
    healthy_rps = statistics.mean([before["requests_per_second"], after["requests_per_second"]])
    answers = {name: dict(sorted(counts.items())) for name, counts in abuser.answers.items()}
    failures = {
        name: {status: n for status, n in counts.items() if not ("400" <= status < "500")}
        for name, counts in answers.items()
    }
    results = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before]},
        "healthy_before": before,
        "under_abuse": abused,
        "healthy_after": after,
        "share_of_healthy_throughput": round(abused["requests_per_second"] / healthy_rps, 3),
        "abusive_requests": sum(sum(c.values()) for c in answers.values()),
        "abusive_answers": answers,
        "abusive_failures": {name: bad for name, bad in failures.items() if bad},
        "server_rss_end_mib": round(rss_end / 2**20, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "goals": {"share_of_healthy_throughput": f">= {GOAL_SHARE}", "abusive_failures": "none"},
    }
    (HERE / "abuse.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    if not args.no_results_md:
        append_results(results)
    return (
        0 if results["share_of_healthy_throughput"] >= GOAL_SHARE and not results["abusive_failures"] else 1
    )


def append_results(results: dict[str, Any]) -> None:
    before, abused, after = results["healthy_before"], results["under_abuse"], results["healthy_after"]

    def row(name: str, run: dict[str, Any]) -> str:
        return (
            f"| {name} | {run['requests_per_second']:.0f} req/s | {run.get('p99_ms', 0):.2f} ms | "
            f"{run['non_2xx']} | {run['server_rss_peak_mib']:.0f} MiB |"
        )

    cases = "\n".join(
        f"| {name} | {', '.join(f'{status}: {n}' for status, n in counts.items())} |"
        for name, counts in results["abusive_answers"].items()
    )
    failures = results["abusive_failures"] or "none"
    section = f"""
## Load under abuse (`bench/abuse.py`)

The collector benchmark's page views (wrk, {before["connections"]} connections) against one
`samtycke serve`, alone, then while {ABUSERS} connections of an abusive client send the cases
below as fast as they are answered, then alone again, on this {results["machine"]["cpus"]}-CPU
machine shared with other work (load average {results["machine"]["load_average_before"]} before,
{results["load_average_after"]} after). Server memory is the resident set, sampled every
{SAMPLE_SECONDS * 1000:.0f} ms.

| phase | page views | p99 | non-2xx | server RSS peak |
|---|---:|---:|---:|---:|
{row("alone, before", before)}
{row("under abuse", abused)}
{row("alone, after", after)}

Under abuse the page views kept {results["share_of_healthy_throughput"]:.0%} of the mean of the two
healthy runs (goal: at least {GOAL_SHARE:.0%}), while the abusive client sent
{results["abusive_requests"]:,} requests. The server's resident memory was
{results["server_rss_end_mib"]:.0f} MiB at the end. Answers to the abusive requests (failures, a
5xx or no answer: {failures}):

| case | answers |
|---|---|
{cases}

Numbers: `bench/abuse.json`.
"""
    path = HERE / "RESULTS.md"
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    marker = "\n## Load under abuse (`bench/abuse.py`)\n"
    if marker in existing:
        # Replace our own earlier section only; other sections stay as they are.
        head, _, rest = existing.partition(marker)
        existing = head + (rest[rest.find("\n## ") :] if "\n## " in rest else "")
    path.write_text(existing.rstrip("\n") + "\n" + section, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
