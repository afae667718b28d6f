"""Collector benchmark: /matomo.php against a bare Starlette 204 endpoint, same run, same machine.

    python bench/collector.py            # writes bench/collector.json, appends to bench/RESULTS.md

Both servers are one uvicorn worker (uvloop + httptools, no access log).  The collector is a
real ``samtycke serve`` with the embedded ClickHouse and the journal fsyncing (defaults).
wrk sends realistic Matomo page views (each request from a different X-Forwarded-For
address, so every hit is a new visitor to hash, place and journal).

The installed wrk (4.1) has no ``-R`` (fixed request rate; that is wrk2), so latency "at
half the maximum rate" is measured with paced connections: each waits a random 0 to
2 * PACE_MS ms after every answer (wrk's ``delay()`` hook), and the connection count is
adjusted until the achieved rate is within 5 % of half the collector's maximum; that run's
p99 is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from serving import (  # bench/ is the script's own directory
    bench_arguments,
    free_port,
    run_wrk,
    start_samtycke,
    thread_cpu_seconds,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DURATION = "10s"
THREADS = 2
CONNECTIONS = 64
MARKETER = "bench-marketer-token"

LUA = r"""
-- Page views spread over a utility's pages, referrers, campaigns and browsers, each from a
-- different address (so every hit is a new visitor to hash, place and journal).
local pages = {"", "priser/el", "priser/gas", "elavtal/rorligt", "elavtal/fast", "elavtal/timpris",
  "mina-sidor", "mina-sidor/fakturor", "mina-sidor/forbrukning", "mina-sidor/avtal", "kundservice",
  "kundservice/kontakt", "flytta", "solceller", "solceller/offert", "laddbox", "driftinfo",
  "om-oss", "om-oss/jobb", "nyheter", "nyheter/vinterpriser", "fjarrvarme", "bredband",
  "integritet", "cookies", "sok", "elnat", "elnat/anslutning", "foretag", "foretag/elavtal"}
local titles = {"Start", "Elpriser", "Gaspriser", "Rörligt elavtal", "Fast elavtal", "Timpris",
  "Mina sidor", "Fakturor", "Förbrukning", "Mitt avtal", "Kundservice", "Kontakt", "Flytta",
  "Solceller", "Offert", "Laddbox", "Driftinformation", "Om oss", "Jobb", "Nyheter", "Vinterpriser",
  "Fjärrvärme", "Bredband", "Integritet", "Cookies", "Sök", "Elnät", "Anslutning", "Företag",
  "Företagsavtal"}
local referrers = {"", "", "", "https%3A%2F%2Fwww.google.se%2F", "https%3A%2F%2Fwww.google.com%2F",
  "https%3A%2F%2Fwww.bing.com%2F", "https%3A%2F%2Fduckduckgo.com%2F", "https%3A%2F%2Fwww.facebook.com%2F",
  "https%3A%2F%2Fl.instagram.com%2F", "https%3A%2F%2Fwww.elpriskollen.se%2Fjamfor"}
local campaigns = {"", "", "", "", "%3Futm_campaign%3Dvinter%26utm_source%3Dnyhetsbrev%26utm_medium%3Demail",
  "%3Fmtm_campaign%3Dsolceller%26mtm_source%3Dfacebook%26mtm_medium%3Dpaid-social", "%3Fgclid%3DCj0KCQiA"}
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " ..
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " ..
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
  "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 " ..
    "(KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 " ..
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 " ..
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"}
local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local counter = 0
request = function()
  counter = counter + 1
  local n = counter + math.random(0, 1000000)
  local ip = "10." .. (n % 250) .. "." .. (math.floor(n / 250) % 250) .. "." ..
    (math.floor(n / 62500) % 250 + 1)
  local page = math.random(#pages)
  local path = "/matomo.php?idsite=1&rec=1&r=" .. n ..
    "&url=http%3A%2F%2Flocalhost%2F" .. encode(pages[page]) .. campaigns[math.random(#campaigns)] ..
    "&action_name=" .. encode(titles[page] .. " | Demo Energi") ..
    "&urlref=" .. referrers[math.random(#referrers)] ..
    "&_id=" .. string.format("%016x", n) .. "&pv_id=Ab12Cd&res=1920x1080&h=12&m=30&s=15&cookie=0" ..
    "&send_image=1&pdf=0&qt=0&realp=0&wma=0&fla=0&java=0&ag=0"
  local headers = {["User-Agent"] = agents[math.random(#agents)], ["X-Forwarded-For"] = ip,
    ["Accept-Language"] = "sv-SE,sv;q=0.9"}
  return wrk.format("GET", path, headers)
end
"""

# Pacing for the half-rate run: after each answer a connection waits a random 0 to
# 2 * PACE_MS ms (wrk's delay() hook) before its next request, so many independent
# connections hold the rate the way a crowd of visitors does, rather than a few
# connections firing flat out.  (A fixed wait keeps the connections in step, and their
# requests then arrive in bursts no crowd produces.)
PACE_MS = 10
PACED = f"\nfunction delay()\n  return math.random(0, {2 * PACE_MS})\nend\n"

BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def endpoint(request):
    return Response(status_code=204)

app = Starlette(routes=[Route("/matomo.php", endpoint, methods=["GET", "POST"])])
"""


# The floor for any collector that acknowledges only durable hits: a raw ASGI app that
# journals one small record per request (samtycke's journal, fsync on) and answers the GIF,
# with no parsing, pipeline, access log or shipping.  What the collector adds on top of
# this is its own work.
JOURNAL_FLOOR_APP = """
import base64, tempfile
from pathlib import Path
from samtycke.journal import Journal, Record

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
HEADERS = [(b"content-type", b"image/gif"), (b"content-length", str(len(GIF)).encode())]
journal = Journal(Path(tempfile.mkdtemp(prefix="journal-floor-")))

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                journal.open()
                await send({"type": "lifespan.startup.complete"})
            else:
                journal.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    await journal.append([Record("events", b'{"bytes":%d}' % len(scope["query_string"]))])
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": GIF})
"""


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def start_collector(work: Path, journal: str = "") -> tuple[subprocess.Popen[bytes], str]:
    token_hash = hashlib.sha256(MARKETER.encode()).hexdigest()
    work.mkdir(parents=True, exist_ok=True)
    return start_samtycke(
        work,
        f'[storage]\ndata_dir = "{work / "data"}"\n\n[server]\nlog_level = "warning"\n'
        f'secret_keys = ["bench"]\n\n[journal]\n{journal}\n\n[[sites]]\nid = 1\nname = "Bench"\n'
        f'domains = ["localhost"]\n\n[[tokens]]\nname = "bench"\nrole = "marketer"\n'
        f'sha256 = "{token_hash}"\n',
    )


def start_bare(
    work: Path, name: str = "bare_app", source: str = BARE_APP
) -> tuple[subprocess.Popen[bytes], str]:
    """A plain uvicorn worker serving ``source`` (the bare endpoint unless told otherwise)."""
    port = free_port()
    (work / f"{name}.py").write_text(source, encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{name}:app",
            "--port",
            str(port),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/matomo.php")
    return process, url


def wrk(url: str, script: Path, connections: int, duration: str = DURATION) -> dict[str, Any]:
    return run_wrk(url, script, connections=connections, duration=duration, threads=THREADS)


def wrk_with_cpu(process: subprocess.Popen[bytes], url: str, script: Path) -> dict[str, Any]:
    """``wrk`` at full load, with the server's CPU time per request: event loop and the rest."""
    main_before, others_before = thread_cpu_seconds(process.pid)
    result = wrk(url, script, CONNECTIONS)
    main_after, others_after = thread_cpu_seconds(process.pid)
    requests = result["requests"]
    result["cpu_us_per_request"] = {
        "event_loop_thread": round((main_after - main_before) / requests * 1e6, 1),
        "other_threads": round((others_after - others_before) / requests * 1e6, 1),
    }
    return result


def latency_at_half_rate(url: str, paced_script: Path, maximum: float) -> dict[str, Any]:
    """p99 at half the maximum rate, held by pacing: each connection waits PACE_MS on average
    after each answer, and the connection count is adjusted until the rate is within 5 % of half."""
    target = maximum / 2
    connections = max(2, round(target * (PACE_MS + 1) / 1000))  # ~1 ms per answer at this load
    tried = []
    for _ in range(4):
        before = commit_histogram(url)
        result = wrk(url, paced_script, connections)
        after = commit_histogram(url)
        commits = after["+Inf"] - before["+Inf"]
        result["journal_commits_within_ms"] = {
            f"{float(bound) * 1000:g}": round((after[bound] - before[bound]) / commits, 4)
            for bound in ("0.001", "0.002", "0.005", "0.01")
        }
        result["share_of_maximum"] = round(result["requests_per_second"] / maximum, 3)
        tried.append(result)
        if abs(result["requests_per_second"] - target) <= 0.05 * target:
            break
        connections = max(1, round(connections * target / result["requests_per_second"]))
    return tried[-1] | {"tried": tried}


def commit_histogram(url: str) -> dict[str, float]:
    """The journal's group-commit latency histogram from /metrics: cumulative count per bucket."""
    found = re.findall(
        r'^samtycke_journal_commit_seconds_bucket\{le="([^"]+)"\} (\S+)$',
        httpx.get(url + "/metrics").text,
        re.M,
    )
    return {bound: float(count) for bound, count in found}


def pipeline_cost(hits: int = 10_000) -> float:
    """Microseconds of parsing and pipeline steps per hit, in-process, without HTTP or journal."""
    import asyncio
    import ipaddress
    from datetime import UTC, datetime

    sys.path.insert(0, str(REPO))
    from analytics.ingestion.geo import GeoIP
    from analytics.ingestion.pipeline import Context, Pipeline
    from analytics.ingestion.request import parse_hit, parse_query
    from analytics.ingestion.salts import Salt, Salts
    from analytics.ingestion.visits import Visits
    from samtycke.accounts import Accounts
    from samtycke.auth import Auth
    from samtycke.metrics import Metrics
    from samtycke.sessions import SessionStore
    from samtycke.settings import Secret
    from samtycke.settings import loading as configfile
    from samtycke.signing import Signer
    from samtycke.storage import Layout, Storage, parse_url
    from samtycke.web.sameorigin import SameOrigin

    raw = configfile.demo_config()
    raw["server"] = {"secret_keys": ["bench"]}
    settings = configfile.from_mapping(raw)
    unused = Storage(parse_url("http://127.0.0.1:9/", "bench"))  # never contacted: the salt is preset
    salts = Salts(unused, list(settings.sites), lambda: datetime.now(UTC), Layout("bench"))
    salts._current[1] = Salt(1, salts.local_day(1), b"s" * 32)
    no_sessions = SessionStore(unused, lambda: datetime.now(UTC), ready=lambda: False)
    pipeline = Pipeline(
        settings,
        auth=Auth(
            Accounts(unused, lambda: datetime.now(UTC), sessions=no_sessions, ready=lambda: False),
            Signer([Secret("bench")]),
            no_sessions,
            SameOrigin(""),
        ),
        geo=GeoIP(""),
        salts=salts,
        visits=Visits(),
        metrics=Metrics(),
    )
    query = (
        b"idsite=1&rec=1&r=5&url=http%3A%2F%2Flocalhost%2Fpriser%2Fel%3Futm_campaign%3Dvinter"
        b"&action_name=Elpriser%20%7C%20Demo&urlref=https%3A%2F%2Fwww.google.se%2F&_id=0123456789abcdef"
        b"&pv_id=Ab12Cd&res=1920x1080&h=12&m=30&s=15&cookie=0&send_image=1&pdf=0&qt=0"
    )
    agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36"

    async def run(count: int) -> None:
        for number in range(count):
            address = ipaddress.ip_address(f"10.{number % 250}.{(number // 250) % 250}.1")
            context = Context(address, agent, "sv", False, False, None, datetime.now(UTC))
            await pipeline.process(parse_hit(parse_query(query)), context)

    asyncio.run(run(1000))
    began = time.perf_counter()
    asyncio.run(run(hits))
    return (time.perf_counter() - began) / hits * 1e6


def hit_to_queryable(url: str, rounds: int = 10) -> list[float]:
    """Seconds from a hit's acknowledgement until the stats API counts it."""
    seconds = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(rounds):
            page = f"/latency-{uuid.uuid4().hex[:12]}"
            query = {
                "site_id": 1,
                "metrics": ["pageviews"],
                "date_range": "all",
                "filters": [["is", "event:page", [page]]],
            }
            began = time.perf_counter()
            client.get(
                "/matomo.php",
                params={"idsite": 1, "rec": 1, "url": f"http://localhost{page}"},
                headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"},
            )
            while True:
                answer = client.post(
                    "/api/v1/stats/query", json=query, headers={"authorization": f"Bearer {MARKETER}"}
                ).json()
                if answer["results"] and answer["results"][0]["metrics"][0] >= 1:
                    break
                if time.perf_counter() - began > 30:
                    raise RuntimeError("hit not queryable after 30 s")
                time.sleep(0.01)
            seconds.append(time.perf_counter() - began)
            time.sleep(0.3)  # land at different points of the shipping interval
    return seconds


def main() -> int:
    args = bench_arguments(__doc__ or "", "collector.json")
    if args is None:
        return 2
    work = Path(tempfile.mkdtemp(prefix="samtycke-bench-"))
    script = work / "matomo.lua"
    script.write_text(LUA, encoding="utf-8")
    paced = work / "matomo_paced.lua"
    paced.write_text(LUA + PACED, encoding="utf-8")
    (work / "plain.lua").write_text("-- plain GETs\n", encoding="utf-8")
    collector, collector_url = start_collector(work)
    bare, bare_url = start_bare(work)
    try:
        wrk(collector_url, script, CONNECTIONS, "3s")  # warm-up: caches, salts, first segment
        wrk(bare_url, script, CONNECTIONS, "3s")
        bare_max = wrk_with_cpu(bare, bare_url, script)
        collector_max = wrk_with_cpu(collector, collector_url, script)
        healthz = wrk(collector_url + "/healthz", work / "plain.lua", CONNECTIONS)
        half = latency_at_half_rate(collector_url, paced, collector_max["requests_per_second"])
        queryable = hit_to_queryable(collector_url)
    finally:
        for process in (collector, bare):
            process.terminate()
            process.wait(30)
    # Measured with the collector gone, so that its embedded ClickHouse's background merges
    # do not share the disk with the floor's fsyncs.
    floor, floor_url = start_bare(work, "journal_floor", JOURNAL_FLOOR_APP)
    try:
        wrk(floor_url, script, CONNECTIONS, "3s")
        journal_floor = wrk_with_cpu(floor, floor_url, script)
        journal_floor_half = wrk(floor_url, paced, half["connections"])
    finally:
        floor.terminate()
        floor.wait(30)
    # Diagnostic: the same half-rate run with the journal not fsyncing, to show what the
    # disk's fsync latency adds to the tail.  Not a supported configuration for production.
    unsynced, unsynced_url = start_collector(work / "unsynced", "fsync = false")
    try:
        wrk(unsynced_url, script, CONNECTIONS, "3s")
        half_unsynced = wrk(unsynced_url, paced, half["connections"])
    finally:
        unsynced.terminate()
        unsynced.wait(30)
    ratio = collector_max["requests_per_second"] / bare_max["requests_per_second"]
    results = {
        "machine": {"cpus": os.cpu_count(), "wrk": "4.1 (no -R)", "threads": THREADS},
        "bare_starlette_204": bare_max,
        "collector_max": collector_max,
        "throughput_ratio": round(ratio, 3),
        "collector_at_half_rate": half,
        "journal_floor": journal_floor,
        "journal_floor_ratio": round(
            journal_floor["requests_per_second"] / bare_max["requests_per_second"], 3
        ),
        "journal_floor_at_half_rate_load": journal_floor_half,
        "diagnostic_half_rate_without_fsync": half_unsynced,
        "samtycke_healthz": healthz,
        "pipeline_microseconds_per_hit": round(pipeline_cost(), 1),
        "hit_to_queryable_seconds": {
            "median": round(statistics.median(queryable), 3),
            "max": round(max(queryable), 3),
            "samples": [round(s, 3) for s in queryable],
        },
        "goals": {"throughput_ratio": ">= 0.5", "p99_at_half_rate_ms": "<= 5", "hit_to_queryable_s": "<= 2"},
    }
    (HERE / "collector.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    if not args.no_results_md:
        append_results(results)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def append_results(results: dict[str, Any]) -> None:
    bare = results["bare_starlette_204"]
    top = results["collector_max"]
    half = results["collector_at_half_rate"]
    ready = results["hit_to_queryable_seconds"]
    bare_cell = f"{bare['requests_per_second']:.0f} req/s (p99 {bare.get('p99_ms', 0):.2f} ms)"
    top_cell = f"{top['requests_per_second']:.0f} req/s (p99 {top.get('p99_ms', 0):.2f} ms)"
    half_cell = (
        f"{half.get('p99_ms', 0):.2f} ms at {half['requests_per_second']:.0f} req/s "
        f"({half['share_of_maximum']:.2f} of max; {half['connections']} paced connections)"
    )
    ready_cell = f"{ready['median']:.2f} s / {ready['max']:.2f} s"
    unsynced = results["diagnostic_half_rate_without_fsync"]
    commits_share = half["journal_commits_within_ms"]
    bare_cpu, top_cpu = bare["cpu_us_per_request"], top["cpu_us_per_request"]
    floor, floor_half = results["journal_floor"], results["journal_floor_at_half_rate_load"]
    floor_cpu = floor["cpu_us_per_request"]
    # Event-loop µs per hit: what half the bare rate allows, the floor's share, the collector's.
    allowed = round(2 * bare_cpu["event_loop_thread"])
    floor_us = round(floor_cpu["event_loop_thread"])
    collector_us = round(top_cpu["event_loop_thread"])
    pipeline_us = results["pipeline_microseconds_per_hit"]
    samples = len(ready["samples"])
    section = f"""
## Collector (`bench/collector.py`)

wrk {THREADS} threads against `/matomo.php` with page views spread over 30 pages, 10 referrers,
campaign parameters and 6 browsers, each from a different `X-Forwarded-For` address (so every
hit is a new visitor to hash, place and journal), compared in the same run with a bare
Starlette endpoint answering 204; both one uvicorn worker (uvloop, httptools) on this
{results["machine"]["cpus"]}-CPU machine, which also runs wrk. The collector runs with its defaults:
embedded ClickHouse, journal fsync on every group commit, shipping every 0.5 s.

| measure | result | goal |
|---|---|---|
| bare Starlette 204, {bare["connections"]} connections | {bare_cell} | |
| collector, {top["connections"]} connections | {top_cell} | |
| throughput ratio | {results["throughput_ratio"]:.2f} | >= 0.5 |
| p99 at half the collector's max rate | {half_cell} | <= 5 ms |
| hit to queryable (stats API), median / max of {samples} | {ready_cell} | <= 2 s |
| journal floor (journal append + GIF, nothing else), {floor["connections"]} connections | \
{floor["requests_per_second"]:.0f} req/s = {results["journal_floor_ratio"]:.2f} of bare; p99 \
{floor_half.get("p99_ms", 0):.2f} ms at {floor_half["requests_per_second"]:.0f} req/s (same paced load) | |

The installed wrk 4.1 cannot hold a fixed rate (`-R` is wrk2's), so the half-rate run paces
its connections like independent visitors: each waits a random 0 to {2 * PACE_MS} ms after every
answer (wrk's `delay()`), and the number of connections is adjusted until the rate is within
5 % of half the maximum. (With a few connections firing flat out instead, the same rate shows
a lower p99, because no more than that few requests are ever in flight.) Numbers:
`bench/collector.json`.

Server CPU per request at full load, read from `/proc` around each run:

| | event-loop thread | other threads |
|---|---:|---:|
| bare Starlette 204 | {bare_cpu["event_loop_thread"]:.0f} µs | {bare_cpu["other_threads"]:.0f} µs |
| journal floor | {floor_cpu["event_loop_thread"]:.0f} µs | {floor_cpu["other_threads"]:.0f} µs |
| collector | {top_cpu["event_loop_thread"]:.0f} µs | {top_cpu["other_threads"]:.0f} µs |

The event-loop thread is the limit: uvicorn's HTTP handling (the bare endpoint's whole cost)
plus the collector's parsing and pipeline ({pipeline_us:.0f} µs per hit measured in-process,
without HTTP or journal), the access log and the journal hand-over. The other threads are
the journal writer's fsyncs and the shipper inserting into the embedded ClickHouse, whose
materialized views update five rollups per insert; they run on the second CPU, which wrk
also needs. The bare endpoint does none of that work.

The journal floor is the ceiling for any collector here that answers only once a hit is
durable: it journals a tiny record per request and does nothing else. Half the bare
endpoint's rate allows {allowed} µs of event-loop time per hit; the floor already spends
{floor_us} µs, which leaves {allowed - floor_us} µs for the collector's own work, and that work
(parsing two dozen Matomo parameters, the pipeline, the access log) takes
{collector_us - floor_us} µs. The embedded ClickHouse's own
threads run at nice 10 (`storage.embedded_niceness`) so its inserts and merges yield to the
event loop.

Three things make the tail at half rate.
- Queueing: requests from many visitors arrive together and wait for each other on the one
  event loop. The journal floor at the same paced load, with almost no work per request,
  has p99 {floor_half.get("p99_ms", 0):.2f} ms.
- The disk: of the journal's group commits (write and fdatasync) during that run,
  {commits_share["1"]:.1%} took at most 1 ms, {commits_share["2"]:.1%} at most 2 ms and
  {commits_share["5"]:.1%} at most 5 ms, and a hit may wait for the commit in flight and then
  its own.
- Event-loop pauses while it shares two CPUs with wrk, the shipper and the embedded
  ClickHouse: the same run with the journal not fsyncing (a diagnostic only) gives p99
  {unsynced.get("p99_ms", 0):.2f} ms at {unsynced["requests_per_second"]:.0f} req/s.
"""
    path = HERE / "RESULTS.md"
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    marker = "\n## Collector (`bench/collector.py`)\n"
    if marker in existing:
        # Replace our own earlier section only; other sections stay as they are.
        before, _, rest = existing.partition(marker)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        existing = before + after
    path.write_text(existing.rstrip("\n") + "\n" + section, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
