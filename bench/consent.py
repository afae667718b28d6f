"""Consent log benchmarks: durable receipts per second on one worker, proofs at 1M entries.

    python bench/consent.py            # writes bench/consent.json, appends to bench/RESULTS.md

1. Receipts: a real ``samtycke serve`` (one worker, embedded ClickHouse, journal fsync on)
   and an asyncio client posting choices over HTTP with many connections.  A 201 means the
   receipt is durable (journalled and fsynced) and in the tree.
2. Proofs: a tree of 1,000,000 leaves built in memory the way start-up rebuilds it, then
   inclusion and consistency proofs for random indices.
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

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from serving import start_samtycke  # noqa: E402  (bench/ is the script's own directory)

from consent.merkle import MerkleTree, leaf_hash  # noqa: E402

RECEIPTS = int(os.environ.get("BENCH_RECEIPTS", "6000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "128"))
HTTP_RECEIPTS = int(os.environ.get("BENCH_HTTP_RECEIPTS", "1000"))
LEAVES = 1_000_000


def start_server(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_samtycke(
        base,
        f'[storage]\ndata_dir = "{base / "data"}"\n[server]\nsecret_keys = ["bench"]\nlog_level = "warning"\n'
        '[[sites]]\nid = 1\nname = "Bench"\ndomains = ["localhost"]\n[sites.notice]\nversion = "1"\n',
    )


async def post_receipts(url: str, count: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = {
        "site_id": 1,
        "decisions": {"statistics": True},
        "method": "custom",
        "notice_version": "1",
        "lang": "sv",
    }
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        queue = list(range(count))

        async def worker() -> None:
            while queue:
                queue.pop()
                response = await client.post("/api/v1/consent", json=body)
                if response.status_code != 201:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text}")

        await asyncio.gather(*(worker() for _ in range(min(concurrency, 16))))  # warm-up connections
        queue = list(range(count))
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - began)


def bench_receipts() -> dict[str, float]:
    in_worker = asyncio.run(asgi_receipts(RECEIPTS, CONCURRENCY))
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp))
        try:
            over_http = asyncio.run(post_receipts(url, HTTP_RECEIPTS, CONCURRENCY))
        finally:
            process.terminate()
            process.wait(60)
    return {
        "receipts": RECEIPTS,
        "concurrency": CONCURRENCY,
        "receipts_per_second": round(in_worker, 1),
        "http_receipts": HTTP_RECEIPTS,
        "http_receipts_per_second": round(over_http, 1),
    }


async def asgi_receipts(count: int, concurrency: int) -> float:
    """The worker's own capacity: the app driven through ASGI, no HTTP client in the way."""
    from samtycke import configfile
    from samtycke.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = configfile.from_mapping(
            {
                "storage": {"data_dir": str(Path(tmp) / "data")},
                "server": {"secret_keys": ["bench"], "log_level": "warning"},
                "sites": [{"id": 1, "name": "Bench", "domains": ["localhost"], "notice": {"version": "1"}}],
            }
        )
        app = create_app(settings)
        body = json.dumps(
            {"site_id": 1, "decisions": {"statistics": True}, "method": "custom", "notice_version": "1"}
        ).encode()
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

            async def receive() -> dict[str, object]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, object]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(str(message["status"]))

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


def main() -> None:
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
    inclusion = f"{proofs['inclusion_ms_median']} / {proofs['inclusion_ms_p99']}"
    consistency = f"{proofs['consistency_ms_median']} / {proofs['consistency_ms_p99']}"
    section = f"""
## Consent log (`bench/consent.py`)

Run {result["date"]} on {result["machine"]} (shared with other work; numbers vary with load).

| measure | result | goal |
|---|---|---|
| durable receipts/s, one worker, ASGI, {CONCURRENCY} at once | {receipts["receipts_per_second"]} | ≥ 3,000 |
| the same over HTTP with an httpx client on the same CPUs | {receipts["http_receipts_per_second"]} | |
| inclusion proof at 1M entries, median / p99 | {inclusion} ms | ≤ 5 ms |
| consistency proof at 1M entries, median / p99 | {consistency} ms | ≤ 5 ms |
| tree rebuild from 1M leaf hashes (start-up) | {proofs["tree_build_seconds"]} s | |

A 201 is sent only after the receipt's journal group commit is fsynced and its leaf is in the
tree. The client runs on the same machine and competes for the same CPUs.
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
    main()
