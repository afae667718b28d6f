"""Restarts under load: nothing acknowledged is lost or stored twice across clean stops and kills.

    python bench/restarts.py                  # 3 minutes; writes bench/restarts.json, updates RESULTS.md
    python bench/restarts.py --seconds 600    # longer
    python bench/restarts.py --no-results-md  # writes bench/restarts.json only
    python bench/restarts.py --short          # a 30-second smoke run; writes nothing under bench/
    python bench/restarts.py --clickhouse-url http://user:password@host:8123/database

One data directory and a real ``samtycke serve`` (one uvicorn worker; embedded ClickHouse
unless ``--clickhouse-url`` names a server), in cycles for the whole duration:

1. start the server and wait until /readyz says ready (the consent log is loaded, which
   ships whatever the journal holds first): the time from start to ready;
2. drive it with several async httpx clients, each with several requests in flight at once:
   consent choices (POST /api/v1/consent) mixed with tracking hits (GET /matomo.php), every
   hit for a page path of its own, so that each one can be counted;
3. in the middle of that load, stop the server cleanly (SIGTERM) or ``kill -9`` it, in turn,
   while the clients keep sending until the process is gone.

Only a receipt answered 201 and a hit answered 200 are acknowledged.  A request whose
connection broke after it was sent is "cut": it may or may not have been stored, but must
not be stored twice.  A request refused at connect never reached the server.

After the last cycle the server starts once more (so the journal ships), stops cleanly, and
the benchmark reads ClickHouse itself: every acknowledged receipt is in the consent log
exactly once, at the index and with the leaf hash its receipt names; no index was handed
out twice; the stored indices are gapless; every acknowledged hit's page is counted exactly
once, and no page more than once.  The exit status is 1 if anything was lost or repeated,
if the server answered with a 5xx other than 503 (not ready, journal full), or if a clean
stop was not clean (an exit status other than 0 or -SIGTERM, or an error logged after it).

The clients and the server share the machine's CPUs (and whatever else runs there), so the
load average and the CPU time the machine spent on other work are recorded with the run.
Start to ready is timed around ``start_samtycke``, which polls /readyz every 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from serving import start_samtycke  # bench/ is the script's own directory

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore imports sniffio on every request; when it is missing, every attempt searches
    # sys.path again, a fifth of the clients' CPU time.  A None entry fails it at once.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

from samtycke.storage import Storage, parse_url

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SECONDS = 180
SHORT_SECONDS = 30
CLIENTS = 4  # httpx.AsyncClient instances, each with its own connections
IN_FLIGHT = 8  # requests in flight per client
CONSENT_SHARE = 0.3  # of requests; the rest are tracking hits
HOLD = (3.0, 7.0)  # seconds of load before the stop or kill, drawn per cycle
SHORT_HOLD = (1.0, 2.5)
STOP_TIMEOUT = 60.0
DATABASE = "samtycke"
MARKER = "\n## Restarts under load (`bench/restarts.py`)\n"

CHOICE = json.dumps(
    {
        "site_id": 1,
        "decisions": {"statistics": True},
        "method": "custom",
        "notice_version": "1",
        "lang": "sv",
    },
    separators=(",", ":"),
).encode()
JSON = {"Content-Type": "application/json"}


# -- what the clients saw ----------------------------------------------------------------------------


@dataclass
class Acknowledged:
    """Everything the server acknowledged, and what was cut, over all cycles."""

    receipts: dict[str, tuple[int, str]] = field(default_factory=dict)  # receipt_id: (index, leaf hash)
    indices: list[int] = field(default_factory=list)  # every index handed out in a 201
    pages: list[str] = field(default_factory=list)  # pages whose hit was answered 200
    cut_pages: dict[str, str] = field(default_factory=dict)  # pages whose hit was cut: "kill" or "stop"


@dataclass
class Cycle:
    number: int
    end: str  # "kill" or "stop"
    start_to_ready_s: float
    load_s: float = 0.0  # from the first request to the signal
    receipts: int = 0  # acknowledged in this cycle
    hits: int = 0
    receipts_per_s: float = 0.0  # acknowledged before the signal, per second of load
    hits_per_s: float = 0.0
    cut_receipts: int = 0
    cut_hits: int = 0
    refused: int = 0
    cut_by: dict[str, int] = field(default_factory=dict)  # how the cut requests failed
    other_statuses: dict[str, int] = field(default_factory=dict)
    signal_to_exit_s: float = 0.0
    exit_code: int | None = None
    clean: bool | None = None  # a stop: exited 0 or -SIGTERM, no error logged after the signal
    log_levels: dict[str, int] = field(default_factory=dict)  # the server logs warnings and errors
    log_messages: list[str] = field(default_factory=list)  # the distinct ones, up to five


class Load:
    """The state the clients of one cycle share."""

    def __init__(self, cycle: Cycle, ack: Acknowledged, prefix: str, rng: random.Random) -> None:
        self.cycle = cycle
        self.ack = ack
        self.prefix = prefix
        self.rng = rng
        self.stop = False
        self.signalled = False
        self.before_signal = [0, 0]  # receipts, hits acknowledged before the signal
        self.statuses: Counter[str] = Counter()
        self.cut_by: Counter[str] = Counter()

    async def worker(self, client: httpx.AsyncClient, name: str) -> None:
        n = 0
        while not self.stop:
            n += 1
            if self.rng.random() < CONSENT_SHARE:
                await self.consent(client)
            else:
                await self.hit(client, f"{self.prefix}/{name}/{n}")

    async def consent(self, client: httpx.AsyncClient) -> None:
        try:
            response = await client.post("/api/v1/consent", content=CHOICE, headers=JSON)
        except httpx.ConnectError:
            await self.refused()
            return
        except httpx.TransportError as exc:
            self.cycle.cut_receipts += 1
            self.cut_by[type(exc).__name__] += 1
            return
        if response.status_code != 201:
            self.statuses[f"consent {response.status_code}"] += 1
            return
        receipt = response.json()["receipt"]
        index = int(receipt["integrity"]["log_index"])
        self.ack.receipts[receipt["receipt_id"]] = (index, receipt["integrity"]["leaf_hash"])
        self.ack.indices.append(index)
        self.cycle.receipts += 1
        if not self.signalled:
            self.before_signal[0] += 1

    async def hit(self, client: httpx.AsyncClient, page: str) -> None:
        target = quote(f"http://localhost{page}", safe="")
        try:
            response = await client.get(f"/matomo.php?idsite=1&rec=1&url={target}")
        except httpx.ConnectError:
            await self.refused()
            return
        except httpx.TransportError as exc:
            self.cycle.cut_hits += 1
            self.cut_by[type(exc).__name__] += 1
            self.ack.cut_pages[page] = self.cycle.end
            return
        if response.status_code != 200:
            self.statuses[f"hit {response.status_code}"] += 1
            return
        self.ack.pages.append(page)
        self.cycle.hits += 1
        if not self.signalled:
            self.before_signal[1] += 1

    async def refused(self) -> None:
        """Not listening (any more): the request never reached the server."""
        self.cycle.refused += 1
        await asyncio.sleep(0.02)


async def drive(process: subprocess.Popen[bytes], url: str, load: Load, hold: float, work: Path) -> None:
    """Load for ``hold`` seconds, then SIGTERM or SIGKILL; the clients go on until the process is gone."""
    cycle = load.cycle
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    timeout = httpx.Timeout(30.0)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) for _ in range(CLIENTS)]
    began = time.monotonic()
    workers = [
        asyncio.create_task(load.worker(client, f"{c}-{w}"))
        for c, client in enumerate(clients)
        for w in range(IN_FLIGHT)
    ]
    await asyncio.sleep(hold)
    load.signalled = True
    signalled, signalled_at = time.monotonic(), time.time()
    cycle.load_s = round(signalled - began, 3)
    process.send_signal(signal.SIGKILL if cycle.end == "kill" else signal.SIGTERM)
    try:
        cycle.exit_code = await asyncio.to_thread(process.wait, STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        cycle.exit_code = await asyncio.to_thread(process.wait)
    cycle.signal_to_exit_s = round(time.monotonic() - signalled, 3)
    load.stop = True
    await asyncio.gather(*workers)
    for client in clients:
        await client.aclose()
    cycle.receipts_per_s = round(load.before_signal[0] / cycle.load_s, 1)
    cycle.hits_per_s = round(load.before_signal[1] / cycle.load_s, 1)
    cycle.other_statuses = dict(sorted(load.statuses.items()))
    cycle.cut_by = dict(sorted(load.cut_by.items()))
    levels, cycle.log_messages, stop_errors = read_log(work / "serve.log", since=signalled_at)
    cycle.log_levels = dict(levels)
    if cycle.end == "stop":
        cycle.clean = cycle.exit_code in (0, -signal.SIGTERM) and not stop_errors


def read_log(path: Path, since: float = 0.0) -> tuple[Counter[str], list[str], int]:
    """Lines the server logged per level (a traceback counts as an error), the distinct ones
    (up to five), and how many errors were logged at or after ``since`` (a Unix time)."""
    levels: Counter[str] = Counter()
    messages: list[str] = []
    late_errors = 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.startswith("Traceback"):
                levels["error"] += 1
                late_errors += 1  # untimed: counted against the stop
            continue
        if not isinstance(entry, dict) or "level" not in entry:
            continue
        level = str(entry["level"])
        levels[level] += 1
        if level in ("error", "critical"):
            try:
                at = datetime.fromisoformat(str(entry.get("ts"))).timestamp()
            except ValueError:
                at = since
            late_errors += at >= since
        message = f"{level}: {entry.get('event', '')}"
        if entry.get("error"):
            message += f" ({entry['error']})"
        if message not in messages and len(messages) < 5:
            messages.append(message)
    return levels, messages, late_errors


# -- the run -----------------------------------------------------------------------------------------


def config_text(data_dir: Path, clickhouse_url: str) -> str:
    return (
        f"[storage]\ndata_dir = {json.dumps(str(data_dir))}\nclickhouse_url = {json.dumps(clickhouse_url)}\n"
        f'database = "{DATABASE}"\n'
        '[server]\nsecret_keys = ["bench"]\nlog_level = "warning"\n'
        # Every request comes from this one machine; the per-network limit would measure itself.
        "[consent]\nwrites_per_minute = 1000000000\n"
        '[[sites]]\nid = 1\nname = "Bench"\ndomains = ["localhost"]\n[sites.notice]\nversion = "1"\n'
    )


def with_database(url: str, run_id: str) -> str:
    """A ClickHouse server URL naming a database; a new one for this run when it names none."""
    parts = urlsplit(url)
    if parts.path.strip("/"):
        return url
    return urlunsplit(parts._replace(path=f"/restarts_{run_id}"))


def start(work: Path, config: str) -> tuple[subprocess.Popen[bytes], str, float]:
    work.mkdir(parents=True)
    began = time.monotonic()
    process, url = start_samtycke(work, config)
    return process, url, round(time.monotonic() - began, 3)


def code_version() -> str:
    """The commit the benchmark ran at (``-dirty``: with changes not committed)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent outside idle and iowait since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # idle, iowait
    return busy / os.sysconf("SC_CLK_TCK")


def own_seconds() -> tuple[float, float]:
    """CPU seconds of this process (the clients) and of the servers it has waited for."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(args.seed)
    hold_range = SHORT_HOLD if args.short else HOLD
    ack = Acknowledged()
    cycles: list[Cycle] = []
    load_before, busy_before, own_before = os.getloadavg(), machine_busy_seconds(), own_seconds()
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.work_dir:
            base = Path(args.work_dir).resolve()
            base.mkdir(parents=True)
        else:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="samtycke-restarts-")))
        data_dir = base / "data"
        clickhouse_url = (
            with_database(args.clickhouse_url, run_id)
            if args.clickhouse_url
            else f"chdb://{data_dir / 'clickhouse'}"
        )
        config = config_text(data_dir, clickhouse_url)
        failure = ""
        while time.monotonic() - began < args.seconds:
            number = len(cycles)
            end = "kill" if number % 2 else "stop"
            work = base / f"cycle-{number:03d}"
            try:
                process, url, ready = start(work, config)
            except RuntimeError:
                failure = f"cycle {number}: samtycke did not become ready:\n{tail(work / 'serve.log')}"
                break
            cycle = Cycle(number, end, ready)
            hold = rng.uniform(*hold_range)
            try:
                asyncio.run(
                    drive(process, url, Load(cycle, ack, f"/restarts/{run_id}/{number}", rng), hold, work)
                )
            finally:
                if process.poll() is None:  # interrupted: leave no server behind
                    process.kill()
                    process.wait()
            cycles.append(cycle)
            print(json.dumps(asdict(cycle)), flush=True)
        final: dict[str, Any] = {}
        if not failure:
            work = base / "final"
            try:
                process, url, ready = start(work, config)
            except RuntimeError:
                failure = f"final start: samtycke did not become ready:\n{tail(work / 'serve.log')}"
            else:
                readyz = httpx.get(url + "/readyz", timeout=30).json()
                process.send_signal(signal.SIGTERM)
                try:
                    code = process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    code = process.wait()
                levels, messages, _ = read_log(work / "serve.log")
                final = {
                    "start_to_ready_s": ready,
                    "journal_at_ready": readyz["checks"]["journal"],
                    "exit_code": code,
                    "clean_stop": code in (0, -signal.SIGTERM) and not levels["error"] + levels["critical"],
                    "log_levels": dict(levels),
                    "log_messages": messages,
                }
        elapsed = time.monotonic() - began
        busy = machine_busy_seconds() - busy_before
        own = tuple(after - before for after, before in zip(own_seconds(), own_before, strict=True))
        checks = verify(ack, clickhouse_url, f"/restarts/{run_id}/") if not failure else {}
    return summarise(args, cycles, ack, final, checks, failure, elapsed, load_before, busy, own)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def verify(ack: Acknowledged, clickhouse_url: str, prefix: str) -> dict[str, Any]:
    """Read ClickHouse directly, the server stopped, and compare with what was acknowledged."""
    storage = Storage(parse_url(clickhouse_url, DATABASE))
    try:
        receipts = check_receipts(storage, ack.receipts, ack.indices)
        counted = dict(
            storage.query(
                "SELECT pathname, count() FROM events WHERE site_id = 1 AND kind = 'pageview' "
                "AND startsWith(pathname, {prefix:String}) GROUP BY pathname",
                {"prefix": prefix},
            )
        )
    finally:
        storage.close()

    pages = Counter(ack.pages)
    hits_lost = sum(1 for page in pages if counted.get(page, 0) == 0)
    hits_repeated = sum(1 for count in counted.values() if count > 1)
    page_acknowledged_twice = sum(1 for n in pages.values() if n > 1)  # a page is sent once: a client bug
    sent = set(pages) | set(ack.cut_pages)
    unknown_pages = sum(1 for page in counted if page not in sent)
    cut_stored = Counter(end for page, end in ack.cut_pages.items() if counted.get(page, 0) >= 1)
    return {
        **receipts,
        "hits_lost": hits_lost,
        "hits_repeated": hits_repeated,
        "hits_cut_by_kills_but_stored": cut_stored["kill"],
        "hits_cut_by_clean_stops_but_stored": cut_stored["stop"],
        "pages_stored_never_sent": unknown_pages,
        "pages_acknowledged_twice": page_acknowledged_twice,
    }


def check_receipts(
    storage: Storage, acknowledged: dict[str, tuple[int, str]], indices_handed_out: list[int]
) -> dict[str, int]:
    """The consent log as stored against the receipts answered 201 (receipt id: index, leaf hash)
    and every index those answers handed out."""
    log = storage.query("SELECT idx, receipt_id, leaf_hash FROM consent_log FINAL ORDER BY idx")
    raw_rows = storage.query("SELECT count() FROM consent_log")[0][0]
    indices = [int(idx) for idx, _, _ in log]
    gaps = sum(1 for position, index in enumerate(indices) if index != position)
    stored: dict[str, list[tuple[int, str]]] = {}
    for idx, receipt_id, leaf in log:
        if receipt_id:
            stored.setdefault(str(receipt_id), []).append((int(idx), str(leaf)))
    receipts_lost = sum(1 for r in acknowledged if r not in stored)
    receipts_repeated = sum(1 for rows in stored.values() if len(rows) > 1)
    receipts_misplaced = sum(
        1 for r, (index, leaf) in acknowledged.items() if r in stored and stored[r][0] != (index, leaf)
    )
    return {
        "log_entries": len(log),
        "log_rows_before_final_merge": int(raw_rows),
        "receipts_lost": receipts_lost,
        "receipts_repeated": receipts_repeated,
        "receipts_at_another_index_or_leaf": receipts_misplaced,
        "indices_handed_out_twice": len(indices_handed_out) - len(set(indices_handed_out)),
        "index_gaps": gaps,
        "receipts_stored_without_answer": sum(1 for r in stored if r not in acknowledged),
    }


def summarise(
    args: argparse.Namespace,
    cycles: list[Cycle],
    ack: Acknowledged,
    final: dict[str, Any],
    checks: dict[str, Any],
    failure: str,
    elapsed: float,
    load_before: tuple[float, float, float],
    busy: float,
    own: tuple[float, ...],
) -> dict[str, Any]:
    kills = [c for c in cycles if c.end == "kill"]
    stops = [c for c in cycles if c.end == "stop"]
    statuses = dict(sum((Counter(c.other_statuses) for c in cycles), Counter()))
    problems = [
        name
        for name in (
            "receipts_lost",
            "receipts_repeated",
            "receipts_at_another_index_or_leaf",
            "indices_handed_out_twice",
            "index_gaps",
            "hits_lost",
            "hits_repeated",
            "pages_stored_never_sent",
            "pages_acknowledged_twice",
        )
        if checks.get(name)
    ]
    if any(int(status.split()[-1]) >= 500 and not status.endswith(" 503") for status in statuses):
        problems.append("server_errors")  # 503 is how samtycke says "not ready" or "journal full"
    if failure:
        problems.append("failure")
    if any(c.clean is False for c in stops) or not final.get("clean_stop", False):
        problems.append("unclean_stop")

    def spread(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        return {
            "min": min(values),
            "median": round(statistics.median(values), 3),
            "max": max(values),
        }

    cpus = os.cpu_count() or 1
    return {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {cpus} CPUs, Python {platform.python_version()}",
        "backend": "ClickHouse server over HTTP" if args.clickhouse_url else "embedded chDB",
        "seconds": args.seconds,
        "elapsed_s": round(elapsed, 1),
        "seed": args.seed,
        "clients": CLIENTS,
        "in_flight_per_client": IN_FLIGHT,
        "consent_share": CONSENT_SHARE,
        "load_before_signal_s": list(SHORT_HOLD if args.short else HOLD),
        "code": code_version(),
        "cycles": len(cycles),
        "kills": len(kills),
        "clean_stops": len(stops),
        "clean_stops_that_were_clean": sum(1 for c in stops if c.clean),
        "receipts_acknowledged": len(ack.receipts),
        "hits_acknowledged": len(ack.pages),
        "cut_by_kills": {
            "receipts": sum(c.cut_receipts for c in kills),
            "hits": sum(c.cut_hits for c in kills),
        },
        "cut_during_clean_stops": {
            "receipts": sum(c.cut_receipts for c in stops),
            "hits": sum(c.cut_hits for c in stops),
        },
        "refused_at_connect": sum(c.refused for c in cycles),
        "cut_by_kills_how": dict(sum((Counter(c.cut_by) for c in kills), Counter())),
        "cut_during_clean_stops_how": dict(sum((Counter(c.cut_by) for c in stops), Counter())),
        "other_statuses": statuses,
        "server_log_levels": dict(sum((Counter(c.log_levels) for c in cycles), Counter())),
        "server_log_messages": sorted({m for c in cycles for m in c.log_messages}),
        "checks": checks,
        "problems": problems,
        "failure": failure,
        "start_to_ready_s": {
            "after_kill": spread(
                [c.start_to_ready_s for c in cycles[1:] if cycles[c.number - 1].end == "kill"]
            ),
            "after_clean_stop": spread(
                [c.start_to_ready_s for c in cycles[1:] if cycles[c.number - 1].end == "stop"]
            ),
            "first_start": cycles[0].start_to_ready_s if cycles else None,
            "final_start": final.get("start_to_ready_s"),
        },
        "receipts_per_s": spread([c.receipts_per_s for c in cycles]),
        "hits_per_s": spread([c.hits_per_s for c in cycles]),
        "clean_stop_s": spread([c.signal_to_exit_s for c in stops]),
        "final": final,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        # Shares of the machine's CPU time: the clients, the servers, and other work on the machine.
        "clients_cpu_share": round(own[0] / (elapsed * cpus), 3),
        "servers_cpu_share": round(own[1] / (elapsed * cpus), 3),
        "other_work_cpu_share": round(max(busy - sum(own), 0.0) / (elapsed * cpus), 3),
        "per_cycle": [asdict(c) for c in cycles],
    }


# -- the report --------------------------------------------------------------------------------------


def write_results(result: dict[str, Any]) -> None:
    checks, ready, hold = result["checks"], result["start_to_ready_s"], result["load_before_signal_s"]
    cut, cut_clean = result["cut_by_kills"], result["cut_during_clean_stops"]
    lost = checks["receipts_lost"] + checks["hits_lost"]
    repeated = checks["receipts_repeated"] + checks["hits_repeated"]
    outcome = (
        f"{lost} lost and {repeated} stored twice"
        if lost or repeated
        else "nothing acknowledged was lost or stored twice"
    )

    notes = ""
    if result["other_work_cpu_share"] > 0.25:
        notes += (
            f"Other work held {result['other_work_cpu_share']:.0%} of the machine's CPU time, so the rates\n"
            "are lower and the starts slower than they would be on an idle machine; the consent\n"
            "and collector sections measure the server's capacity with wrk.\n\n"
        )
    elif result["clients_cpu_share"] > result["servers_cpu_share"]:
        notes += (
            "The Python clients spent more CPU time than the servers: the rates are what they could\n"
            "drive on this machine, not the server's capacity (the consent and collector sections\n"
            "measure that with wrk).\n\n"
        )
    if sum(cut_clean.values()) and not checks["hits_cut_by_clean_stops_but_stored"]:
        notes += (
            "None of the hits cut by a clean stop was stored: a stopping uvicorn closes kept-alive\n"
            "connections that have no request in progress, and a request sent on one at that moment\n"
            "is never read.\n\n"
        )

    def how(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {n:,}" for name, n in counts.items()) or "none"

    def span(values: dict[str, float], unit: str = "", digits: int = 2) -> str:
        if not values:
            return "-"
        return (
            f"{values['median']:.{digits}f}{unit} ({values['min']:.{digits}f} to {values['max']:.{digits}f})"
        )

    rows = "\n".join(
        f"| {c['number']} | {c['end']} | {c['start_to_ready_s']:.2f} | {c['load_s']:.1f} | "
        f"{c['receipts']:,} | {c['hits']:,} | {c['receipts_per_s']:.0f} | {c['hits_per_s']:.0f} | "
        f"{c['cut_receipts'] + c['cut_hits']} | {c['signal_to_exit_s']:.2f} |"
        for c in result["per_cycle"]
    )
    section = f"""{MARKER}
Run {result["date"]} at commit `{result["code"]}`, {result["backend"]}, on {result["machine"]}:
{result["seconds"]:g} s of cycles, {result["elapsed_s"]} s with the final start and the checks.
Load average {result["load_average_before"][0]} at the start and {result["load_average_after"][0]} at the end.
Of the machine's CPU time during the run, the clients used {result["clients_cpu_share"]:.0%}, the servers
{result["servers_cpu_share"]:.0%} and other work {result["other_work_cpu_share"]:.0%}.
Numbers: `bench/restarts.json`.

One data directory and a real `samtycke serve`, started {result["cycles"]} times under load from
{result["clients"]} async httpx clients with {result["in_flight_per_client"]} requests in flight each
({result["consent_share"]:.0%} consent choices, the rest tracking hits, each hit for a page of its own).
After {hold[0]:g} to {hold[1]:g} s of load the server was stopped with SIGTERM or killed with
SIGKILL, in turn, while the clients went on sending. Then one more start (the journal
ships), a clean stop, and ClickHouse read directly by the benchmark.

| measure | result |
|---|---|
| cycles: clean stops / kills | {result["clean_stops"]} / {result["kills"]} \
(clean stops that exited cleanly: {result["clean_stops_that_were_clean"]}) |
| receipts acknowledged (201) / hits acknowledged (200) | \
{result["receipts_acknowledged"]:,} / {result["hits_acknowledged"]:,} |
| lost: receipts / hits | {checks["receipts_lost"]} / {checks["hits_lost"]} |
| stored twice: receipts / hits | {checks["receipts_repeated"]} / {checks["hits_repeated"]} |
| receipts at another index or leaf hash than their receipt says | \
{checks["receipts_at_another_index_or_leaf"]} |
| log indices handed out twice / gaps in the stored indices | \
{checks["indices_handed_out_twice"]} / {checks["index_gaps"]} (log of {checks["log_entries"]:,} entries) |
| requests cut by kills: receipts / hits | {cut["receipts"]} / {cut["hits"]} |
| requests cut by clean stops: receipts / hits | {cut_clean["receipts"]} / {cut_clean["hits"]} |
| cut but stored anyway: receipts (kills and clean stops) / hits cut by kills / by clean stops | \
{checks["receipts_stored_without_answer"]} / {checks["hits_cut_by_kills_but_stored"]} / \
{checks["hits_cut_by_clean_stops_but_stored"]} |
| how the cut requests failed: kills / clean stops | {how(result["cut_by_kills_how"])} / \
{how(result["cut_during_clean_stops_how"])} |
| other answers than 201 and 200 | {how(result["other_statuses"])} |
| server log lines at warning or above, all cycles | {how(result["server_log_levels"])} |
| acknowledged per second of load, per cycle: receipts / hits, median (min to max) | \
{span(result["receipts_per_s"], digits=0)} / {span(result["hits_per_s"], digits=0)} |
| start to ready after a kill, median (min to max) | {span(ready["after_kill"], " s")} |
| start to ready after a clean stop | {span(ready["after_clean_stop"], " s")} |
| start to ready, first start (empty data directory) / final start | \
{ready["first_start"]:.2f} s / {ready["final_start"]:.2f} s |
| SIGTERM to exit, clean stops | {span(result["clean_stop_s"], " s")} |

Result: {outcome}.

{notes}Per cycle (rates count what was acknowledged before the signal; cut: requests whose
connection broke after they were sent):

| cycle | end | start to ready s | load s | receipts | hits | receipts/s | hits/s | cut | signal to exit s |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}
"""
    results = HERE / "RESULTS.md"
    existing = results.read_text() if results.exists() else "# Benchmarks\n"
    if MARKER in existing:
        head, _, tail_ = existing.partition(MARKER)
        rest = tail_.split("\n## ", 1)
        existing = head + ("\n## " + rest[1] if len(rest) > 1 else "")
    results.write_text(existing.rstrip("\n") + "\n" + section)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=None, help=f"how long to cycle (default {SECONDS})")
    parser.add_argument(
        "--short",
        action="store_true",
        help=f"a {SHORT_SECONDS}-second smoke run; writes nothing under bench/",
    )
    parser.add_argument("--clickhouse-url", default="", help="a ClickHouse server (default: embedded chDB)")
    parser.add_argument(
        "--seed", type=int, default=6962, help="for the load mix and the moments of the signals"
    )
    parser.add_argument(
        "--work-dir",
        default="",
        help="keep the data directory and server logs here (default: a temporary one)",
    )
    parser.add_argument("--no-results-md", action="store_true", help="only write bench/restarts.json")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = SHORT_SECONDS if args.short else SECONDS
    result = run(args)
    print(json.dumps({k: v for k, v in result.items() if k != "per_cycle"}, indent=2), flush=True)
    if not args.short and not result["failure"]:
        (HERE / "restarts.json").write_text(json.dumps(result, indent=2) + "\n")
        if not args.no_results_md:
            write_results(result)
    if result["problems"]:
        print(f"FAILED: {', '.join(result['problems'])}", file=sys.stderr)
        if result["failure"]:
            print(result["failure"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
