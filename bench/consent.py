"""Consent log benchmarks: durable receipts per second on one worker, proofs at 1M entries.

    python bench/consent.py                  # writes bench/consent.json, updates bench/RESULTS.md
    python bench/consent.py --no-results-md  # writes bench/consent.json only

1. Receipts (the headline): a real ``samtycke serve`` (one uvicorn worker, embedded
   ClickHouse, journal fsync on) driven by wrk posting a choice over keep-alive connections.
   A 201 means the receipt is durable (its journal group commit fsynced) and its leaf is in
   the tree; the log's tree size is read before and after, and must have grown by at least
   the number of 201s wrk counted.  The server's CPU time per receipt is read from /proc,
   which says more than the rate on a shared machine.
2. The same worker's capacity in-process: the app driven through raw ASGI calls, no HTTP.
3. Proofs: a tree of 1,000,000 leaves built in memory the way start-up rebuilds it, then
   inclusion and consistency proofs for random indices.

wrk and the server share the machine's CPUs (and whatever else runs there), so the load
average is recorded with each run.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Message

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from serving import bench_arguments, run_wrk, start_samtycke, thread_cpu_seconds  # noqa: E402  (bench/ is the script's own directory)

from consent.ledger.merkle import MerkleTree, leaf_hash  # noqa: E402

RECEIPTS = int(os.environ.get("BENCH_RECEIPTS", "6000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "128"))
DURATION = os.environ.get("BENCH_DURATION", "10s")
WRK_THREADS = 2
LEAVES = 1_000_000
UNLIMITED = 1_000_000_000  # consent writes per minute: all load comes from one network
CHOICE = {
    "site_id": 1,
    "decisions": {"statistics": True},
    "method": "custom",
    "notice_version": "1",
    "lang": "sv",
}

# Every request the same choice from a new visitor (no cookie): a new subject and a receipt.
BODY = json.dumps(CHOICE, separators=(",", ":"))
LUA = f"""
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""


def start_server(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_samtycke(
        base,
        f'[storage]\ndata_dir = "{base / "data"}"\n[server]\nsecret_keys = ["bench"]\nlog_level = "warning"\n'
        # Every request comes from this one machine; the per-network limit would measure itself.
        f"[consent]\nwrites_per_minute = {UNLIMITED}\n"
        '[[sites]]\nid = 1\nname = "Bench"\ndomains = ["localhost"]\n[sites.notice]\nversion = "1"\n',
    )


def wait_for_log(url: str, timeout: float = 120.0) -> None:
    """/readyz is up before the consent log has loaded; wait for a first 201."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.post(url + "/api/v1/consent", json=CHOICE, timeout=10).status_code == 201:
            return
        time.sleep(0.2)
    raise RuntimeError("the consent log did not become ready")


def tree_size(url: str) -> int:
    response = httpx.get(url + "/api/v1/log/checkpoint", params={"format": "json"}, timeout=30)
    response.raise_for_status()
    return int(response.json()["tree_size"])


def run_consent_wrk(url: str, script: Path, duration: str) -> dict[str, Any]:
    return run_wrk(url, script, connections=CONCURRENCY, duration=duration, threads=WRK_THREADS)


def wrk_receipts(duration: str = DURATION) -> dict[str, Any]:
    """The headline: durable receipts/s of one ``samtycke serve`` worker under wrk."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        script = base / "consent.lua"
        script.write_text(LUA, encoding="utf-8")
        process, url = start_server(base)
        try:
            wait_for_log(url)
            run_consent_wrk(url + "/api/v1/consent", script, "3s")  # warm-up: connections, caches, segments
            before, load = tree_size(url), os.getloadavg()
            cpu_before = thread_cpu_seconds(process.pid)
            result = run_consent_wrk(url + "/api/v1/consent", script, duration)
            cpu_after = thread_cpu_seconds(process.pid)
            grown = tree_size(url) - before
        finally:
            process.terminate()
            process.wait(60)
    served = result["requests"] - result["non_2xx"]
    if result["non_2xx"] or grown < served:
        raise SystemExit(f"not every 201 is a receipt in the log: {result}, tree grew by {grown}")
    return {
        **result,
        "threads": WRK_THREADS,
        "duration": duration,
        "tree_growth": grown,
        "server_cpu_us_per_receipt": round((sum(cpu_after) - sum(cpu_before)) / served * 1e6, 1),
        "server_main_thread_cpu_us_per_receipt": round((cpu_after[0] - cpu_before[0]) / served * 1e6, 1),
        "load_average_before": [round(x, 2) for x in load],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def bench_receipts() -> dict[str, Any]:
    over_http = wrk_receipts()
    print("receipts over HTTP (wrk):", json.dumps(over_http), flush=True)
    load = os.getloadavg()
    in_worker = asyncio.run(asgi_receipts(RECEIPTS, CONCURRENCY))
    return {
        "receipts_per_second": over_http["requests_per_second"],
        "wrk": over_http,
        "asgi": {
            "receipts": RECEIPTS,
            "concurrency": CONCURRENCY,
            "receipts_per_second": round(in_worker, 1),
            "load_average_before": [round(x, 2) for x in load],
        },
    }


async def asgi_receipts(count: int, concurrency: int) -> float:
    """The worker's own capacity: the app driven through ASGI, no HTTP client in the way."""
    from samtycke.settings import loading
    from samtycke.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = loading.from_mapping(
            {
                "storage": {"data_dir": str(Path(tmp) / "data")},
                "server": {"secret_keys": ["bench"], "log_level": "warning"},
                "consent": {"writes_per_minute": UNLIMITED},
                "sites": [{"id": 1, "name": "Bench", "domains": ["localhost"], "notice": {"version": "1"}}],
            }
        )
        app = create_app(settings)
        body = BODY.encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/consent",
            "raw_path": b"/api/v1/consent",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 5000),
            "server": ("localhost", 80),
        }

        async def one() -> int:
            status = 0

            async def receive() -> Message:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])

            await app(dict(scope), receive, send)
            return status

        async with app.router.lifespan_context(app):
            services = app.state.services
            while not services.state.migrated:
                await asyncio.sleep(0.1)
            while (await one()) != 201:
                await asyncio.sleep(0.2)
            remaining = count
            began = time.perf_counter()

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    status = await one()
                    if status != 201:
                        raise SystemExit(f"unexpected status {status}")

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return count / (time.perf_counter() - began)


def bench_proofs() -> dict[str, float]:
    rng = random.Random(6962)
    began = time.perf_counter()
    tree = MerkleTree.from_leaf_hashes(leaf_hash(i.to_bytes(8, "big")) for i in range(LEAVES))
    build = time.perf_counter() - began
    inclusion, consistency = [], []
    for _ in range(2000):
        index = rng.randrange(LEAVES)
        t0 = time.perf_counter()
        tree.inclusion_proof(index, LEAVES)
        inclusion.append((time.perf_counter() - t0) * 1000)
        first = rng.randrange(1, LEAVES)
        t0 = time.perf_counter()
        tree.consistency_proof(first, LEAVES)
        consistency.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    tree.append(leaf_hash(b"one more"))
    append_ms = (time.perf_counter() - t0) * 1000

    def p(values: list[float], q: float) -> float:
        return round(sorted(values)[int(q * (len(values) - 1))], 3)

    return {
        "leaves": LEAVES,
        "tree_build_seconds": round(build, 2),
        "inclusion_ms_median": round(statistics.median(inclusion), 3),
        "inclusion_ms_p99": p(inclusion, 0.99),
        "consistency_ms_median": round(statistics.median(consistency), 3),
        "consistency_ms_p99": p(consistency, 0.99),
        "append_ms": round(append_ms, 3),
    }


def main() -> int:
    args = bench_arguments(__doc__ or "", "consent.json")
    if args is None:
        return 2
    proofs = bench_proofs()
    print("proofs:", json.dumps(proofs), flush=True)
    receipts = bench_receipts()
    print("receipts:", json.dumps(receipts), flush=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "receipts": receipts,
        "proofs": proofs,
        "goals": {"receipts_per_second": 3000, "proof_ms": 5},
    }
    (REPO / "bench" / "consent.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_results_md:
        write_results(result)
    return 0


def write_results(result: dict[str, Any]) -> None:
    receipts, proofs = result["receipts"], result["proofs"]
    over_http, asgi = receipts["wrk"], receipts["asgi"]
    inclusion = f"{proofs['inclusion_ms_median']} / {proofs['inclusion_ms_p99']}"
    consistency = f"{proofs['consistency_ms_median']} / {proofs['consistency_ms_p99']}"
    load = over_http["load_average_before"][0]
    section = f"""
## Consent log (`bench/consent.py`)

Run {result["date"]} on {result["machine"]} (shared with other work; load average {load} at the
start; numbers vary with load).

| measure | result | goal |
|---|---|---|
| durable receipts/s, one `samtycke serve` worker, wrk {over_http["connections"]} connections | \
{over_http["requests_per_second"]:.0f} (p99 {over_http.get("p99_ms", 0)} ms) | ≥ 3,000 |
| server CPU per receipt, all threads / main thread | \
{over_http["server_cpu_us_per_receipt"]} / {over_http["server_main_thread_cpu_us_per_receipt"]} µs | |
| durable receipts/s in-process (ASGI calls, no HTTP), {asgi["concurrency"]} at once | \
{asgi["receipts_per_second"]:.0f} | |
| inclusion proof at 1M entries, median / p99 | {inclusion} ms | ≤ 5 ms |
| consistency proof at 1M entries, median / p99 | {consistency} ms | ≤ 5 ms |
| tree rebuild from 1M leaf hashes (start-up) | {proofs["tree_build_seconds"]} s | |

A 201 is sent only after the receipt's journal group commit is fsynced and its leaf is in the
tree; the tree grew by {over_http["tree_growth"]} during the {over_http["requests"]} requests wrk
completed. wrk runs on the same machine and competes for the same CPUs.
"""
    results = REPO / "bench" / "RESULTS.md"
    existing = results.read_text() if results.exists() else "# Benchmarks\n"
    marker = "\n## Consent log (`bench/consent.py`)\n"
    if marker in existing:
        head, _, tail = existing.partition(marker)
        rest = tail.split("\n## ", 1)
        existing = head + ("\n## " + rest[1] if len(rest) > 1 else "")
    results.write_text(existing.rstrip("\n") + "\n" + section)


if __name__ == "__main__":
    sys.exit(main())
