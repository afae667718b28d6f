"""Soak: ten minutes of a real ``samtycke serve`` at half its maximum collector rate.

    python bench/soak.py                   # 600 s; writes bench/soak.json, updates bench/RESULTS.md
    python bench/soak.py --seconds 1800    # longer
    python bench/soak.py --no-results-md   # writes bench/soak.json only
    python bench/soak.py --short           # 30 s in 10-second intervals; writes nothing under bench/
    python bench/soak.py --short --json report.json --work-dir run/
    python bench/soak.py --clickhouse-url http://user:password@host:8123/ --json report.json

One fresh data directory and one ``samtycke serve`` (one uvicorn worker, embedded ClickHouse,
journal fsync on: the defaults):

1. The maximum: wrk flat out with the collector benchmark's page views (``bench/collector.py``,
   64 connections), after a warm-up.
2. The soak, in intervals of a minute: wrk sends the same page views, paced the way the
   collector benchmark paces its half-rate run, with as many connections as hold half the
   maximum (re-counted after each interval from the rate it achieved).  Each connection has a
   wrk thread of its own, so the answer a thread reads is to the request it just made: every
   page view carries a unique ``pv_id``, and each thread writes the ones answered 200 to a
   file.  Meanwhile this process sends consent choices (POST /api/v1/consent, a twentieth of
   the hit rate, each receipt answered 201 kept) and the dashboard's overview queries (POST
   /api/v1/stats/query with a marketer's token), both arriving at random at a fixed rate, and
   samples the server's memory (RSS of the process and any children), the journal's backlog
   and the number of visitors held in memory from /metrics.
3. A clean stop (SIGTERM), a second start on the same data directory (it ships whatever the
   journal still holds), a clean stop, and ClickHouse read directly: every acknowledged hit
   and receipt must be there exactly once.

With ``--clickhouse-url`` the server stores into a ClickHouse server instead, whose memory
is then not part of the server's; such a run writes its report only where ``--json`` says.

Reported: RSS over time and whether the last interval's mean is within 10 % of the second's
(after the first interval of warm-up); p99 per interval for hits (wrk's, from sending to the
answer), consent writes and stats queries (from the moment the request was due, so a slow
answer delays no measurement); whether the server kept its target in every interval, since
memory measured behind a rising load says less; the journal backlog over time; what was lost
or stored twice.

The exit status is 1 when anything acknowledged was lost or stored twice, when the server
answered a 5xx other than 503, or when a stop was not clean; the memory verdict is reported,
not enforced, because a shared machine's load moves it.  wrk and this process share the
machine with the server (and with whatever else runs there), so the load average and the CPU
time each used are recorded with the run.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import hashlib
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import collector  # bench/ is the script's own directory
import httpx
import restarts
from dashboard import OVERVIEW
from serving import run_wrk, start_samtycke, thread_cpu_seconds

from samtycke.storage import Storage, parse_url

HERE = Path(__file__).resolve().parent
SECONDS = 600
INTERVAL = 60
SAMPLE_EVERY = 5.0
SHORT_SECONDS = 30
SHORT_INTERVAL = 10
SHORT_SAMPLE_EVERY = 1.0
BURST = ("3s", "10s")  # warm-up, then the maximum
SHORT_BURST = ("1s", "3s")
CONSENT_SHARE = 0.05  # consent writes per hit: one visitor in twenty makes a choice
STATS_PER_SECOND = 2.0  # a few marketers with the dashboard open
IN_FLIGHT = 32  # consent writes or stats queries in flight at once, each
MAX_CONNECTIONS = 256  # wrk threads: beyond this the machine, not the server, is measured
FLAT_WITHIN = 0.10
KEPT_HITS_WITHIN = 0.10  # hits per second this close to the target count as keeping it
KEPT_CONSENT_P99_MS = 1000.0
DATE_RANGES = ("day", "7d", "30d")
SECTION = "\n## Soak (`bench/soak.py`)\n"

# The collector benchmark's page views, each with a unique pv_id that the thread records once
# answered.  One connection per thread: wrk asks for a thread's next request only after the
# answer to its last, so the answer ``response`` sees is to the request ``sent`` counted.
# (wrk builds one request in thread 1 to check the script; that marker is never sent.)
MARKED = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local generate = request
local sent = 0
local acks
function init(args)
  math.randomseed(SEED + id)
  acks = assert(io.open(ACKS .. "/" .. id, "w"))
end
request = function()
  sent = sent + 1
  return (generate():gsub("pv_id=Ab12Cd", "pv_id=" .. MARKER .. id .. "-" .. sent, 1))
end
function response(status, headers, body)
  if status == 200 then
    acks:write(sent, "\n")
  else
    acks:write("!", sent, " ", status, "\n")
  end
end
"""


def marked_script(acks: Path, marker: str, seed: int) -> str:
    if "pv_id=Ab12Cd" not in collector.LUA:
        raise RuntimeError("bench/collector.py's page views no longer carry pv_id=Ab12Cd to mark")
    constants = f"SEED = {seed}\nACKS = {json.dumps(str(acks))}\nMARKER = {json.dumps(marker)}\n"
    return collector.LUA + collector.PACED + constants + MARKED


def config_text(data_dir: Path, clickhouse_url: str) -> str:
    token_hash = hashlib.sha256(collector.MARKETER.encode()).hexdigest()
    return restarts.config_text(data_dir, clickhouse_url) + (
        f'[[tokens]]\nname = "soak"\nrole = "marketer"\nsha256 = "{token_hash}"\n'
    )


# -- what the clients saw ----------------------------------------------------------------------------


@dataclass
class Seen:
    """Answers to this process's own requests: when each was due, how long it took, and what it said."""

    due: list[float] = field(default_factory=list)  # seconds since the soak began
    latency_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


@dataclass
class Interval:
    number: int
    began_s: float
    seconds: int
    connections: int
    wrk: dict[str, Any] = field(default_factory=dict)


@dataclass
class Soak:
    target: float  # hits per second
    seconds: int
    interval: int
    sample_every: float
    acks: Path
    marker: str
    seed: int
    began: float = 0.0
    stopping: bool = False
    intervals: list[Interval] = field(default_factory=list)
    samples: list[dict[str, float]] = field(default_factory=list)
    consent: Seen = field(default_factory=Seen)
    stats: Seen = field(default_factory=Seen)
    receipts: dict[str, tuple[int, str]] = field(default_factory=dict)  # receipt id: (index, leaf hash)
    indices: list[int] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.began


async def arrivals(soak: Soak, rate: float, send: Callable[[float], Awaitable[None]]) -> None:
    """``send(due)`` at random moments, ``rate`` a second on average, whether or not answers keep up."""
    rng = random.Random(soak.seed + int(rate * 1000))
    gate = asyncio.Semaphore(IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        async with gate:
            await send(due)

    due = soak.now()
    while not soak.stopping:
        due += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, due - soak.now()))
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)


async def consent_writes(soak: Soak, client: httpx.AsyncClient, rate: float) -> None:
    async def send(due: float) -> None:
        try:
            response = await client.post("/api/v1/consent", content=restarts.CHOICE, headers=restarts.JSON)
        except httpx.TransportError as exc:
            soak.consent.statuses[type(exc).__name__] += 1
            return
        soak.consent.due.append(due)
        soak.consent.latency_ms.append((soak.now() - due) * 1000)
        soak.consent.statuses[str(response.status_code)] += 1
        if response.status_code == 201:
            integrity = response.json()["receipt"]["integrity"]
            receipt_id = response.json()["receipt"]["receipt_id"]
            soak.receipts[receipt_id] = (int(integrity["log_index"]), integrity["leaf_hash"])
            soak.indices.append(int(integrity["log_index"]))

    await arrivals(soak, rate, send)


async def stats_queries(soak: Soak, client: httpx.AsyncClient) -> None:
    rng = random.Random(soak.seed)
    queries = list(OVERVIEW.values())
    headers = {"Authorization": f"Bearer {collector.MARKETER}"}

    async def send(due: float) -> None:
        body = {"site_id": 1, "date_range": rng.choice(DATE_RANGES), **rng.choice(queries)}
        try:
            response = await client.post("/api/v1/stats/query", json=body, headers=headers)
        except httpx.TransportError as exc:
            soak.stats.statuses[type(exc).__name__] += 1
            return
        soak.stats.due.append(due)
        soak.stats.latency_ms.append((soak.now() - due) * 1000)
        soak.stats.statuses[str(response.status_code)] += 1

    await arrivals(soak, STATS_PER_SECOND, send)


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # it ended meanwhile
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) * 1024 if found else 0
    return total


# The journal's backlog, and the visit state the collector holds in memory (bounded: it grows
# until the least recently seen visitors are forgotten, and with it the server's memory).
GAUGES = re.compile(
    r"^samtycke_(?:journal_)?(backlog_records|backlog_bytes|quarantined_segments|unconfirmed_segments"
    r"|visits_tracked_in_memory) (\S+)$",
    re.M,
)


async def sampler(soak: Soak, client: httpx.AsyncClient, pid: int) -> None:
    while not soak.stopping:
        at = soak.now()
        sample: dict[str, float] = {"t": round(at, 2), "rss_mb": round(tree_rss_bytes(pid) / 2**20, 1)}
        try:
            text = (await client.get("/metrics")).text
            sample |= {name: float(value) for name, value in GAUGES.findall(text)}
        except httpx.TransportError:
            pass  # the sample keeps its memory figure
        soak.samples.append(sample)
        await asyncio.sleep(max(0.0, at + soak.sample_every - soak.now()))


async def hits(soak: Soak, url: str, connections: int) -> None:
    """wrk for each interval, its connections re-counted so that the rate approaches the target."""
    done = 0
    while done < soak.seconds:
        seconds = min(soak.interval, soak.seconds - done)
        interval = Interval(len(soak.intervals), round(soak.now(), 2), seconds, connections)
        soak.intervals.append(interval)
        folder = soak.acks / str(interval.number)
        folder.mkdir(parents=True)
        script = soak.acks / f"{interval.number}.lua"
        marker = f"{soak.marker}{interval.number}-"
        script.write_text(marked_script(folder, marker, soak.seed + 1000 * interval.number), "utf-8")
        interval.wrk = await asyncio.to_thread(
            run_wrk, url, script, connections=connections, duration=f"{seconds}s", threads=connections
        )
        achieved = max(interval.wrk["requests_per_second"], 1.0)
        # Half the way there (in proportion): on a shared machine one slow interval must not
        # double the next one's load.
        step = math.sqrt(soak.target / achieved)
        connections = max(1, min(MAX_CONNECTIONS, round(connections * step)))
        done += seconds
    soak.stopping = True


async def drive(soak: Soak, url: str, pid: int, connections: int) -> None:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as consents,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as queries,
        httpx.AsyncClient(base_url=url, timeout=10) as probe,
    ):
        soak.began = time.monotonic()
        await asyncio.gather(
            hits(soak, url, connections),
            consent_writes(soak, consents, soak.target * CONSENT_SHARE),
            stats_queries(soak, queries),
            sampler(soak, probe, pid),
        )


# -- the run -----------------------------------------------------------------------------------------


def stop(process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """SIGTERM, and whether the server exited cleanly: status 0 (or -SIGTERM), no error logged after."""
    signalled, signalled_at = time.monotonic(), time.time()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(restarts.STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        code = process.wait()
    levels, messages, late_errors = restarts.read_log(log, since=signalled_at)
    return {
        "exit_code": code,
        "signal_to_exit_s": round(time.monotonic() - signalled, 2),
        "clean": code in (0, -signal.SIGTERM) and not late_errors,
        "log_levels": dict(levels),
        "log_messages": messages,
    }


def wait_shipped(url: str, timeout: float = 120.0) -> int:
    """Wait until the journal holds nothing unshipped; the backlog it started from."""
    first = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backlog = int(httpx.get(url + "/readyz", timeout=30).json()["checks"]["journal"]["backlog_records"])
        first = backlog if first is None else first
        if backlog == 0:
            break
        time.sleep(0.2)
    return first or 0


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    data_dir = base / "data"
    clickhouse_url = (
        restarts.with_database(args.clickhouse_url, run_id)
        if args.clickhouse_url
        else f"chdb://{data_dir / 'clickhouse'}"
    )
    config = config_text(data_dir, clickhouse_url)
    load_before, busy_before = os.getloadavg(), restarts.machine_busy_seconds()
    began = time.monotonic()
    (base / "serve").mkdir(parents=True)
    process, url = start_samtycke(base / "serve", config)
    try:
        burst = base / "matomo.lua"
        burst.write_text(collector.LUA, encoding="utf-8")
        warm, measured = SHORT_BURST if args.short else BURST
        collector.wrk(url, burst, collector.CONNECTIONS, warm)
        maximum = collector.wrk(url, burst, collector.CONNECTIONS, measured)
        target = maximum["requests_per_second"] / 2
        soak = Soak(
            target=target,
            seconds=args.seconds,
            interval=args.interval,
            sample_every=SHORT_SAMPLE_EVERY if args.short else SAMPLE_EVERY,
            acks=base / "acks",
            marker=f"{run_id}-",
            seed=args.seed,
        )
        # Little's law: the burst's connections over its rate is the time an answer took flat
        # out; at half the rate, take half that, plus the pause a paced connection makes.
        flat_out_s = collector.CONNECTIONS / maximum["requests_per_second"]
        connections = max(2, round(target * (collector.PACE_MS / 1000 + flat_out_s / 2)))
        server_cpu_before = sum(thread_cpu_seconds(process.pid))
        client_cpu_before = os.times()
        asyncio.run(drive(soak, url, process.pid, min(connections, MAX_CONNECTIONS)))
        server_cpu = sum(thread_cpu_seconds(process.pid)) - server_cpu_before
        client_cpu = os.times()
    except BaseException:
        process.kill()
        process.wait()
        raise
    soak_stop = stop(process, base / "serve" / "serve.log")
    soak_log, soak_messages, _ = restarts.read_log(base / "serve" / "serve.log")

    (base / "restart").mkdir()
    process, url = start_samtycke(base / "restart", config)
    try:
        backlog_at_restart = wait_shipped(url)
    except BaseException:
        process.kill()
        process.wait()
        raise
    restart_stop = stop(process, base / "restart" / "serve.log")
    elapsed = time.monotonic() - began
    busy = restarts.machine_busy_seconds() - busy_before
    rows = per_interval(soak)
    checks = verify(soak, clickhouse_url, run_id)
    cpus = os.cpu_count() or 1
    soak_seconds = sum(i.seconds for i in soak.intervals)
    wrk_cpu = (client_cpu.children_user + client_cpu.children_system) - (
        client_cpu_before.children_user + client_cpu_before.children_system
    )
    own_cpu = (client_cpu.user + client_cpu.system) - (client_cpu_before.user + client_cpu_before.system)
    return {
        "date": time.strftime("%Y-%m-%d"),
        "code": restarts.code_version(),
        "machine": f"{platform.machine()}, {cpus} CPUs, Python {platform.python_version()}",
        "backend": "ClickHouse server over HTTP" if args.clickhouse_url else "embedded chDB",
        "seconds": args.seconds,
        "interval_s": args.interval,
        "elapsed_s": round(elapsed, 1),
        "seed": args.seed,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "maximum": maximum,
        "target_hits_per_s": round(target, 1),
        "consent_writes_per_s": round(target * CONSENT_SHARE, 1),
        "stats_queries_per_s": STATS_PER_SECOND,
        # Shares of the machine's CPU time during the soak (the server, wrk, this process) and
        # during the whole run (other work on the machine).
        "cpu_share": {
            "server": round(server_cpu / (soak_seconds * cpus), 3),
            "wrk": round(wrk_cpu / (soak_seconds * cpus), 3),
            "consent_and_stats_clients": round(own_cpu / (soak_seconds * cpus), 3),
            "other_work": round(max(busy - server_cpu - wrk_cpu - own_cpu, 0.0) / (elapsed * cpus), 3),
        },
        "memory": memory(soak),
        "per_interval": rows,
        "load": kept_target(rows, target),
        "journal_backlog": journal_backlog(soak),
        "acknowledged": {
            "hits": checks.pop("hits_acknowledged"),
            "receipts": len(soak.receipts),
            "stats_queries": soak.stats.statuses["200"],
        },
        "answers": {
            "hits": dict(checks.pop("hit_answers")),
            "consent": dict(soak.consent.statuses),
            "stats": dict(soak.stats.statuses),
        },
        "checks": checks,
        "stop_after_soak": soak_stop,
        "restart": {"journal_backlog_at_ready": backlog_at_restart, "stop": restart_stop},
        "server_log_levels": dict(soak_log),
        "server_log_messages": soak_messages,
        "samples": soak.samples,
    }


def verify(soak: Soak, clickhouse_url: str, run_id: str) -> dict[str, Any]:
    """Read ClickHouse directly, the server stopped, and compare with what was acknowledged."""
    acknowledged: set[str] = set()
    answers: Counter[str] = Counter()
    last_sent: dict[str, int] = {}  # per thread and interval: the highest marker it can have sent
    for interval in soak.intervals:
        for path in (soak.acks / str(interval.number)).iterdir():
            thread = f"{run_id}-{interval.number}-{path.name}-"
            highest = 0
            for line in path.read_text().split():
                if line.startswith("!"):
                    answers[line.split()[-1]] += 1
                    highest = max(highest, int(line[1:]))
                elif line.isdigit():
                    acknowledged.add(thread + line)
                    answers["200"] += 1
                    highest = max(highest, int(line))
            # The next one may have been sent and cut by the interval's end; in thread 1 one
            # more was built (never sent) when wrk checked the script.
            last_sent[thread] = highest + 2
    storage = Storage(parse_url(clickhouse_url, restarts.DATABASE))
    try:
        receipts = restarts.check_receipts(storage, soak.receipts, soak.indices)
        counted: dict[str, int] = dict(
            storage.query(
                "SELECT pv_id, count() FROM events WHERE site_id = 1 AND startsWith(pv_id, {prefix:String}) "
                "GROUP BY pv_id",
                {"prefix": f"{run_id}-"},
            )
        )
    finally:
        storage.close()
    unanswered = [pv for pv in counted if pv not in acknowledged]

    def never_sent(pv: str) -> bool:
        thread, _, number = pv.rpartition("-")
        return int(number) > last_sent.get(thread + "-", 0)

    return {
        **receipts,
        "hits_acknowledged": len(acknowledged),
        "hit_answers": answers,
        "hits_lost": sum(1 for pv in acknowledged if pv not in counted),
        "hits_repeated": sum(1 for n in counted.values() if n > 1),
        "hits_stored_without_answer": len(unanswered),
        "hits_stored_never_sent": sum(1 for pv in unanswered if never_sent(pv)),
    }


# -- the report --------------------------------------------------------------------------------------


def p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.99 * len(ordered)) - 1], 2)


def by_interval(soak: Soak, moments: list[float]) -> list[list[int]]:
    """Positions of ``moments`` (seconds since the soak began) grouped by the interval they fall in."""
    starts = [i.began_s for i in soak.intervals]
    groups: list[list[int]] = [[] for _ in starts]
    for position, moment in enumerate(moments):
        groups[max(0, bisect.bisect_right(starts, moment) - 1)].append(position)
    return groups


def per_interval(soak: Soak) -> list[dict[str, Any]]:
    consent = by_interval(soak, soak.consent.due)
    stats = by_interval(soak, soak.stats.due)
    rows = []
    for interval, writes, queries in zip(soak.intervals, consent, stats, strict=True):
        rows.append(
            {
                "interval": interval.number,
                "began_s": interval.began_s,
                "wrk_connections": interval.connections,
                "hits_per_s": interval.wrk["requests_per_second"],
                "hits_p99_ms": interval.wrk.get("p99_ms"),
                "consent_writes": len(writes),
                "consent_p99_ms": p99([soak.consent.latency_ms[i] for i in writes]),
                "stats_queries": len(queries),
                "stats_p99_ms": p99([soak.stats.latency_ms[i] for i in queries]),
            }
        )
    return rows


def memory(soak: Soak) -> dict[str, Any]:
    """RSS per interval, and whether the last interval's mean is within 10 % of the second's."""
    groups = by_interval(soak, [s["t"] for s in soak.samples])
    means = [
        round(sum(soak.samples[i]["rss_mb"] for i in group) / len(group), 1) if group else None
        for group in groups
    ]
    second, last = (means[1], means[-1]) if len(means) >= 3 else (None, None)
    change = round((last - second) / second, 4) if second and last else None
    visits = [
        max((soak.samples[i].get("visits_tracked_in_memory", 0.0) for i in group), default=None)
        for group in groups
    ]
    # Where the visit state stopped growing (within 1 % of its largest size): from there on the
    # memory the server holds by design is all there, and what still grows is something else.
    largest = max((v for v in visits if v is not None), default=0.0)
    full = next((i for i, v in enumerate(visits) if v is not None and v >= 0.99 * largest), None)
    at_full = means[full] if full is not None and full < len(means) - 1 else None
    since_full = round((last_mean - at_full) / at_full, 4) if at_full and (last_mean := means[-1]) else None
    return {
        "rss_mb_mean_per_interval": means,
        "visits_in_memory_max_per_interval": visits,
        "visit_state_full_from_interval": full,
        "change_since_visit_state_full": since_full,
        "rss_mb_max": max((s["rss_mb"] for s in soak.samples), default=None),
        "second_interval_mb": second,
        "last_interval_mb": last,
        "change": change,
        "flat": change is not None and abs(change) <= FLAT_WITHIN,
    }


def kept_target(rows: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """Whether the server kept up with the load it was offered, interval by interval: hits within
    ``KEPT_HITS_WITHIN`` of the target and consent writes answered, at p99, within
    ``KEPT_CONSENT_P99_MS`` of being due.  A server that falls behind is given more wrk
    connections each interval to catch up, so its memory is then measured under a rising load."""
    short = [row["interval"] for row in rows if row["hits_per_s"] < (1 - KEPT_HITS_WITHIN) * target]
    slow = [row["interval"] for row in rows if (row["consent_p99_ms"] or 0.0) > KEPT_CONSENT_P99_MS]
    return {
        "kept": not short and not slow,
        "hits_short_in_intervals": short,
        "consent_slow_in_intervals": slow,
    }


def journal_backlog(soak: Soak) -> dict[str, Any]:
    groups = by_interval(soak, [s["t"] for s in soak.samples])

    def most(name: str, group: list[int]) -> float | None:
        return max((soak.samples[i][name] for i in group if name in soak.samples[i]), default=None)

    return {
        "records_max_per_interval": [most("backlog_records", group) for group in groups],
        "bytes_max_per_interval": [most("backlog_bytes", group) for group in groups],
        "quarantined_segments_at_end": soak.samples[-1].get("quarantined_segments") if soak.samples else None,
        "unconfirmed_segments_at_end": soak.samples[-1].get("unconfirmed_segments") if soak.samples else None,
    }


def problems(result: dict[str, Any]) -> list[str]:
    checks = result["checks"]
    found = [
        name
        for name in (
            "receipts_lost",
            "receipts_repeated",
            "receipts_at_another_index_or_leaf",
            "indices_handed_out_twice",
            "index_gaps",
            "hits_lost",
            "hits_repeated",
            "hits_stored_never_sent",
        )
        if checks.get(name)
    ]
    answers = result["answers"]
    if any(
        status.isdigit() and int(status) >= 500 and status != "503"  # 503: not ready, or journal full
        for kind in answers.values()
        for status in kind
    ):
        found.append("server_errors")
    if not (result["stop_after_soak"]["clean"] and result["restart"]["stop"]["clean"]):
        found.append("unclean_stop")
    return found


def write_results(result: dict[str, Any]) -> None:
    memory_, checks, top = result["memory"], result["checks"], result["maximum"]
    ack, shares = result["acknowledged"], result["cpu_share"]
    lost = checks["hits_lost"] + checks["receipts_lost"]
    repeated = checks["hits_repeated"] + checks["receipts_repeated"]
    verdict = "PASS" if memory_["flat"] else "FAIL"
    load = result["load"]

    def intervals(numbers: list[int]) -> str:
        return ", ".join(str(n + 1) for n in numbers)

    short, slow = load["hits_short_in_intervals"], load["consent_slow_in_intervals"]
    consent_limit = f"{KEPT_CONSENT_P99_MS / 1000:g} s"
    criterion = f"hits within {KEPT_HITS_WITHIN * 100:g} %, consent p99 under {consent_limit}"
    behind = [f"hits short in intervals {intervals(short)}"] if short else []
    behind += [f"consent p99 over {consent_limit} in intervals {intervals(slow)}"] if slow else []
    kept = "yes" if load["kept"] else "no: " + "; ".join(behind)

    def how(counts: dict[str, int]) -> str:
        return ", ".join(f"{status} {n:,}" for status, n in sorted(counts.items())) or "none"

    def cell(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"

    rows = "\n".join(
        f"| {row['interval'] + 1} | {row['hits_per_s']:.0f} | {cell(row['hits_p99_ms'])} | "
        f"{row['consent_writes']:,} | {cell(row['consent_p99_ms'])} | {row['stats_queries']:,} | "
        f"{cell(row['stats_p99_ms'])} | {cell(rss, 0)} | {cell(visits, 0)} | {cell(backlog, 0)} |"
        for row, rss, visits, backlog in zip(
            result["per_interval"],
            memory_["rss_mb_mean_per_interval"],
            memory_["visits_in_memory_max_per_interval"],
            result["journal_backlog"]["records_max_per_interval"],
            strict=True,
        )
    )
    full, since_full = memory_["visit_state_full_from_interval"], memory_["change_since_visit_state_full"]
    visit_state = (
        ""
        if since_full is None
        else f"""Almost every page view comes from a new visitor, so the collector's visit
state (bounded, least recently seen forgotten first) fills as fast as hits arrive; it was
full from interval {full + 1}, and from then to the last interval RSS changed by
{since_full * 100:.1f} %. Its table is reserved in full at start-up
(`analytics.visits_in_memory`), so filling it does not move RSS.
"""
    )
    section = f"""{SECTION}
Run {result["date"]} at commit `{result["code"]}`, {result["backend"]}, on {result["machine"]}:
{result["seconds"]} s of soak in {result["interval_s"]}-second intervals, {result["elapsed_s"]} s in all.
Load average {result["load_average_before"][0]} at the start and {result["load_average_after"][0]} at the end
(the machine was shared). Of its CPU time during the soak the server used {shares["server"]:.0%}, wrk
{shares["wrk"]:.0%} and the consent and stats clients {shares["consent_and_stats_clients"]:.0%}; other
work held {shares["other_work"]:.0%} over the whole run. Numbers: `bench/soak.json`.

One fresh data directory and one `samtycke serve` with its defaults. The maximum, wrk flat out
with the collector benchmark's page views ({top["connections"]} connections): \
{top["requests_per_second"]:.0f} hits/s, so the
target was {result["target_hits_per_s"]:.0f} hits/s (paced wrk connections, one thread each, every
page view marked), with {result["consent_writes_per_s"]:.1f} consent writes/s and
{result["stats_queries_per_s"]:g} overview queries/s arriving at random. p99 for consent and stats is
from the moment a request was due; for hits it is wrk's, from sending to the answer.

| measure | result |
|---|---|
| memory flat: last interval within 10 % of the second | **{verdict}**: \
{cell(memory_["second_interval_mb"], 0)} MB then {cell(memory_["last_interval_mb"], 0)} MB \
({cell((memory_["change"] or 0) * 100)} %); peak {cell(memory_["rss_mb_max"], 0)} MB |
| the server kept its target: {criterion}, every interval | {kept} |
| acknowledged: hits (200) / receipts (201) / stats answers (200) | \
{ack["hits"]:,} / {ack["receipts"]:,} / {ack["stats_queries"]:,} |
| lost / stored twice (hits and receipts) | {lost} / {repeated} |
| receipts at another index or leaf hash / index gaps | \
{checks["receipts_at_another_index_or_leaf"]} / {checks["index_gaps"]} |
| hits stored whose answer wrk never read (cut at an interval's end) | \
{checks["hits_stored_without_answer"]} |
| answers: hits / consent / stats | {how(result["answers"]["hits"])} / {how(result["answers"]["consent"])} / \
{how(result["answers"]["stats"])} |
| journal backlog at the restart's first readiness probe | \
{result["restart"]["journal_backlog_at_ready"]} records |
| stops: SIGTERM to exit after the soak / after the restart | \
{result["stop_after_soak"]["signal_to_exit_s"]} s / {result["restart"]["stop"]["signal_to_exit_s"]} s, \
clean: {result["stop_after_soak"]["clean"]} / {result["restart"]["stop"]["clean"]} |

{visit_state}
Per interval (RSS: mean of the server process's samples; visits: the most visitors held in
memory; backlog: the most journalled records not yet in ClickHouse among the samples):

| interval | hits/s | hits p99 ms | consent writes | consent p99 ms | stats queries | stats p99 ms \
| RSS MB | visits | backlog records |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}
"""
    path = HERE / "RESULTS.md"
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION in existing:
        head, _, rest = existing.partition(SECTION)
        later = rest.split("\n## ", 1)
        existing = head + ("\n## " + later[1] if len(later) > 1 else "")
    path.write_text(existing.rstrip("\n") + "\n" + section, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=None, help=f"how long to soak (default {SECONDS})")
    parser.add_argument(
        "--interval", type=int, default=None, help=f"seconds per reported interval (default {INTERVAL})"
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"{SHORT_SECONDS} s in {SHORT_INTERVAL}-second intervals; writes nothing under bench/",
    )
    parser.add_argument("--json", default="", help="write the report here (and nothing under bench/)")
    parser.add_argument("--clickhouse-url", default="", help="a ClickHouse server (default: embedded chDB)")
    parser.add_argument("--work-dir", default="", help="keep the data directory and logs here")
    parser.add_argument("--seed", type=int, default=1618, help="for the page views and the arrivals")
    parser.add_argument("--no-results-md", action="store_true", help="only write bench/soak.json")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = SHORT_SECONDS if args.short else SECONDS
    if args.interval is None:
        args.interval = SHORT_INTERVAL if args.short else INTERVAL
    with contextlib.ExitStack() as stack:
        if args.work_dir:
            base = Path(args.work_dir).resolve()
            base.mkdir(parents=True)
        else:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="samtycke-soak-")))
        result = run(args, base)
    result["problems"] = problems(result)
    text = json.dumps(result, indent=2) + "\n"
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary, indent=2), flush=True)
    memory_ = result["memory"]
    print(
        f"memory {'PASS' if memory_['flat'] else 'FAIL'}: last interval {memory_['last_interval_mb']} MB, "
        f"second {memory_['second_interval_mb']} MB (change {memory_['change']}, allowed {FLAT_WITHIN}); "
        f"the server {'kept' if result['load']['kept'] else 'did not keep'} its target",
        flush=True,
    )
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    elif not args.short and not args.clickhouse_url:
        (HERE / "soak.json").write_text(text, encoding="utf-8")
        if not args.no_results_md:
            write_results(result)
    if result["problems"]:
        print(f"FAILED: {', '.join(result['problems'])}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
