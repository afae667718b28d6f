"""Load under abuse: the collector's throughput and p99 while another client sends abusive requests.

    python bench/abuse.py      # about a minute; writes bench/abuse.json, appends to bench/RESULTS.md

One ``samtycke serve`` (the collector benchmark's configuration: embedded ClickHouse,
journal fsync on) takes the collector benchmark's page views from wrk (``bench/collector.py``'s
script, connections and threads) in seven phases of the same run, alternately alone and
while an abusive client sends its cases as fast as the server answers them.  Each abused
phase is compared with the mean of the healthy phases on either side of it, so that the
shared machine's load drifting during the run does not pass for the abuse's effect; the
median of the three comparisons is the figure.

The abusive client sends, over ``ABUSERS`` connections at once, each request on a new
connection: a 64 KB header line, a block of 200 KB of headers, a cookie of 5,000 names, a
1 MiB query string, a 2 MiB body, 200 KB of nested JSON to the consent API, a bulk request
of 5,000 hits and one of 1,000 invalid hits, and a consent body with a 5,000-digit number.
Every answer's status is counted; a 5xx or a connection the server drops without an answer
is a failure.  The abusive client sends from another loopback address (``ABUSER``) than wrk,
as it would from another network: samtycke answers a network that keeps sending what it
refuses with an immediate 429 (``server.refusals_per_minute``), and healthy visitors are on
networks of their own.

The server's resident memory is sampled every 20 ms from ``/proc``; the peak of each phase
is reported, with the abusive client's own CPU time (it shares the machine) and the load
average, as the machine is shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from collector import CONNECTIONS, LUA, start_collector, wrk  # bench/ is the script's own directory
from serving import bench_arguments, thread_cpu_seconds

HERE = Path(__file__).resolve().parent
DURATION = "5s"
ROUNDS = 3
ABUSERS = 4
SAMPLE_SECONDS = 0.02
GOAL_SHARE = 0.8
HEALTHY = "127.0.0.1"  # where wrk's page views come from
ABUSER = "127.0.0.2"  # Linux answers the whole of 127.0.0.0/8 on the loopback
UNDER_BUDGET = 40  # requests per case from a fresh address: fewer than the 50 refusals a minute allowed

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


def send(port: int, raw: bytes, source: str = ABUSER) -> str:
    """The status the server answered with to ``raw`` sent from ``source``, or why there was none."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
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
    """``ABUSERS`` threads sending the cases in turn while ``running``; counts each case's answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: dict[str, Counter[str]] = {name: Counter() for name in CASES}
        self.lock = threading.Lock()

    def run(self, offset: int, stopped: threading.Event) -> None:
        names = list(CASES)
        turn = offset
        while not stopped.is_set():
            name = names[turn % len(names)]
            status = send(self.port, CASES[name])
            with self.lock:
                self.answers[name][status] += 1
            turn += 1

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        stopped = threading.Event()
        threads = [threading.Thread(target=self.run, args=(i, stopped), daemon=True) for i in range(ABUSERS)]
        for thread in threads:
            thread.start()
        try:
            yield
        finally:
            stopped.set()
            for thread in threads:
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


def phase(url: str, script: Path, rss: RSS, server: int, abused: bool) -> dict[str, Any]:
    rss.reset()
    cpu_before, server_before = sum(os.times()[:2]), sum(thread_cpu_seconds(server))
    result = wrk(url, script, CONNECTIONS, DURATION)
    server_cpu = sum(thread_cpu_seconds(server)) - server_before
    return result | {
        "abused": abused,
        "server_rss_peak_mib": round(rss.peak() / 2**20, 1),
        "server_cpu_seconds": round(server_cpu, 2),
        # Of the CPU the machine gave the server, how much went to page views.
        "page_views_per_server_cpu_second": round(result["requests"] / server_cpu),
        "abusive_client_cpu_seconds": round(sum(os.times()[:2]) - cpu_before, 2),
        "load_average": round(os.getloadavg()[0], 2),
    }


def cost(port: int, server: int, raw: bytes, source: str, count: int) -> float:
    """Server CPU milliseconds per request, ``count`` of ``raw`` sent one after another from ``source``."""
    before = sum(thread_cpu_seconds(server))
    for _ in range(count):
        send(port, raw, source)
    return round((sum(thread_cpu_seconds(server)) - before) / count * 1000, 2)


def costs(port: int, server: int) -> dict[str, float]:
    """Server CPU milliseconds per request of each kind, refused on its merits: from an address
    of its own, still within its budget.  (A penalised request is held for a second, and the
    server's own background work over that second would pass for its cost.)"""
    healthy = request("GET", "/matomo.php" + HIT + "&action_name=Start")
    found = {"a healthy page view": cost(port, server, healthy, HEALTHY, 100)}
    for number, (name, raw) in enumerate(CASES.items(), 1):
        found[name] = cost(port, server, raw, f"127.0.1.{number}", UNDER_BUDGET)
    return found


def failed(status: str) -> bool:
    """A 5xx, or no answer at all; a 4xx refusal and a well-formed answer are both fine."""
    return not (status.isdecimal() and status < "500")


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
    abuser = Abuser(port)
    phases: list[dict[str, Any]] = []
    try:
        wrk(url, script, CONNECTIONS, "3s")  # warm-up: caches, salts, first segment
        for _ in range(ROUNDS):
            phases.append(phase(url, script, rss, server.pid, abused=False))
            with abuser.running():
                phases.append(phase(url, script, rss, server.pid, abused=True))
        phases.append(phase(url, script, rss, server.pid, abused=False))
        rss_end = rss.now()
        cost = costs(port, server.pid)
    finally:
        rss.stop()
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    # Each abused phase against the mean of the healthy phases on either side of it.
    shares = [
        phases[i]["requests_per_second"]
        / statistics.mean([phases[i - 1]["requests_per_second"], phases[i + 1]["requests_per_second"]])
        for i in range(1, len(phases), 2)
    ]
    answers = {name: dict(sorted(counts.items())) for name, counts in abuser.answers.items()}
    failures = {name: {s: n for s, n in counts.items() if failed(s)} for name, counts in answers.items()}
    results = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before]},
        "phases": phases,
        "shares_of_healthy_throughput": [round(share, 3) for share in shares],
        "share_of_healthy_throughput": round(statistics.median(shares), 3),
        "abusive_requests": sum(sum(c.values()) for c in answers.values()),
        "abusive_answers": answers,
        "abusive_failures": {name: bad for name, bad in failures.items() if bad},
        "server_cpu_ms_per_request": cost,
        "server_rss_peak_mib": max(p["server_rss_peak_mib"] for p in phases),
        "server_rss_end_mib": round(rss_end / 2**20, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "goals": {"share_of_healthy_throughput": f">= {GOAL_SHARE}", "abusive_failures": "none"},
    }
    (HERE / "abuse.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    if not args.no_results_md:
        append_results(results)
    met = results["share_of_healthy_throughput"] >= GOAL_SHARE and not results["abusive_failures"]
    return 0 if met else 1


def append_results(results: dict[str, Any]) -> None:
    def row(number: int, run: dict[str, Any]) -> str:
        return (
            f"| {number} | {'abused' if run['abused'] else 'alone'} | "
            f"{run['requests_per_second']:.0f} req/s | "
            f"{run.get('p99_ms', 0):.2f} ms | {run['non_2xx']} | {run['server_rss_peak_mib']:.0f} MiB | "
            f"{run['page_views_per_server_cpu_second']} | "
            f"{run['abusive_client_cpu_seconds']:.1f} s | {run['load_average']:.1f} |"
        )

    rows = "\n".join(row(number, run) for number, run in enumerate(results["phases"], 1))
    cost = results["server_cpu_ms_per_request"]
    cases = "\n".join(
        f"| {name} | {', '.join(f'{status}: {n}' for status, n in counts.items())} | {cost[name]:.2f} ms |"
        for name, counts in results["abusive_answers"].items()
    )
    shares = ", ".join(f"{share:.0%}" for share in results["shares_of_healthy_throughput"])
    failures = results["abusive_failures"] or "none"
    phases = results["phases"]
    abused_rate = statistics.mean(p["page_views_per_server_cpu_second"] for p in phases if p["abused"])
    healthy_rate = statistics.mean(p["page_views_per_server_cpu_second"] for p in phases if not p["abused"])
    taken = 1 - abused_rate / healthy_rate
    section = f"""
## Load under abuse (`bench/abuse.py`)

The collector benchmark's page views (wrk, {CONNECTIONS} connections, {DURATION} a phase) against one
`samtycke serve`, alternately alone and while {ABUSERS} connections of an abusive client send the
cases below as fast as they are answered, from another address than wrk's, on this
{results["machine"]["cpus"]}-CPU machine shared with other work
(load average {results["machine"]["load_average_before"]} before,
{results["load_average_after"]} after). Server memory is the resident set, sampled every
{SAMPLE_SECONDS * 1000:.0f} ms; the abusive client's CPU time is this script's own.

| phase | traffic | page views | p99 | non-2xx | server RSS | views per server CPU s | abuser CPU | load |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{rows}

Each abused phase kept {shares} of the mean of the healthy phases on either side of it:
median {results["share_of_healthy_throughput"]:.0%} (goal: at least {GOAL_SHARE:.0%}). The abusive
client sent {results["abusive_requests"]:,} requests; the server's resident memory peaked at
{results["server_rss_peak_mib"]:.0f} MiB and was {results["server_rss_end_mib"]:.0f} MiB at the end.
Of the CPU the machine gave the server, page views got {abused_rate:.0f} per second in the abused
phases against {healthy_rate:.0f} alone: the abusive client's requests took {taken:.0%} of it.
After its first 50 refusals in a minute (`server.refusals_per_minute`), the abusive client's
network is answered 429 before anything it sent is parsed, a second after it sent it, and its
connection is closed unread; a bulk of more than 100 invalid hits is refused whole at the 101st.
The machine is shared, so the healthy phases alone vary by more than the abuse's effect.

Answers to the abusive requests (failures, a 5xx or no answer: {failures}), and the server
CPU each kind of request costs when refused on its merits, {UNDER_BUDGET} of each sent one
after another from an address of its own after the phases:

| case | answers | server CPU per request |
|---|---|---:|
| a healthy page view | | {cost["a healthy page view"]:.2f} ms |
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
