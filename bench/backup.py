"""Backup and restore of a data directory with 1,000,000 events and 100,000 receipts.

    python bench/backup.py                  # writes bench/backup.json, updates bench/RESULTS.md
    python bench/backup.py --no-results-md  # writes bench/backup.json only
    BENCH_EVENTS=100000 BENCH_RECEIPTS=10000 python bench/backup.py --no-results-md   # smaller

1. Fill an embedded data directory, in a process of its own (chDB binds one data path per
   process): the events by one ``INSERT ... SELECT`` from ``numbers()`` with the columns a
   tracked pageview has (so the materialized views fill the rollups as they would), and the
   receipts through the consent service itself (``ConsentService.issue``, a thousand at a
   time, each a new visitor's choice), so that the log, its checkpoints and the subjects are
   the product's own.  The service stops cleanly and ships its journal.
2. ``samtycke backup DIR`` with nothing running (the command reads the data itself), then
   ``samtycke backup --verify DIR`` and ``samtycke restore DIR`` into a fresh data directory,
   each piped, as a cron job runs them: wall-clock time, the backup's size, rows per second.
3. Start the restored service in a process of its own: the consent log must load (it is
   checked against its kept checkpoint), its audit export must verify offline against its
   keys, and the tables must hold what the original held.

The machine may be shared, so the load average at the start is recorded with the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
RECEIPTS = int(os.environ.get("BENCH_RECEIPTS", "100000"))
BATCH = 1000  # receipts issued at once: the sequencer groups them into journal commits
AUDITOR_TOKEN = "bench-auditor-token"  # a throwaway data directory's
CHOICE = {
    "site_id": 1,
    "decisions": {"preferences": False, "statistics": True, "marketing": False},
    "method": "custom",
    "notice_version": "1",
    "lang": "sv",
}
# A pageview per row: a few hundred pages, visitors returning over 90 days, Swedish and
# Nordic countries, the usual browsers; visit facts as the pipeline computes them.
EVENT_ROWS = """
INSERT INTO events (site_id, timestamp, kind, visitor_id, identified, visit_id, is_entry, bounce_delta,
    duration_ms, entry_page, hostname, pathname, title, pv_id, referrer, source, channel, utm_medium,
    utm_source, utm_campaign, country, region, city, browser, browser_version, os, os_version, device,
    resolution, language)
SELECT 1,
    now64(3) - toIntervalMillisecond(number * 7776) AS ts,
    'pageview',
    cityHash64(number % 150000),
    0,
    cityHash64(number % 150000, intDiv(number, 1500000)),
    number % 4 = 0,
    multiIf(number % 4 = 0, 1, number % 4 = 1, -1, 0),
    if(number % 4 = 0, 0, 5000 + number % 60000),
    concat('/page-', toString(number % 300)),
    'www.example.se',
    concat('/page-', toString(number % 300)),
    concat('Sida ', toString(number % 300)),
    lower(hex(cityHash64(number))),
    ['', 'https://www.google.com/', 'https://www.bing.com/', 'https://news.ycombinator.com/'][number % 4 + 1],
    ['', 'Google', 'Bing', 'Hacker News'][number % 4 + 1],
    ['Direct', 'Organic Search', 'Organic Search', 'Referral'][number % 4 + 1],
    if(number % 10 = 0, 'email', ''),
    if(number % 10 = 0, 'newsletter', ''),
    if(number % 10 = 0, 'vinter', ''),
    ['SE', 'SE', 'SE', 'NO', 'DK', 'FI'][number % 6 + 1],
    '', '',
    ['Chrome', 'Safari', 'Firefox', 'Edge'][number % 4 + 1],
    toString(100 + number % 30),
    ['Windows', 'macOS', 'iOS', 'Android'][number % 4 + 1],
    toString(10 + number % 8),
    ['desktop', 'mobile', 'tablet'][number % 3 + 1],
    ['1920x1080', '390x844', '1440x900'][number % 3 + 1],
    ['sv-SE', 'en-US', 'sv'][number % 3 + 1]
FROM numbers({events})
"""
# Events, rollup pageviews and log entries must survive a restore as they were; checkpoints
# only grow (the restored service signs its own), so they are reported, not compared.
COUNTS = (
    "SELECT (SELECT count() FROM events), (SELECT sum(pageviews) FROM stats_hourly),"
    " (SELECT count() FROM consent_log FINAL), (SELECT count() FROM consent_checkpoints)"
)


def configuration(base: Path, name: str) -> Path:
    from samtycke.auth import hash_token

    raw = {
        "storage": {"data_dir": str(base / name)},
        "server": {"secret_keys": ["bench"], "log_level": "warning"},
        "tokens": [{"name": "auditor", "role": "auditor", "sha256": hash_token(AUDITOR_TOKEN)}],
        "sites": [{"id": 1, "name": "Bench", "domains": ["localhost"], "notice": {"version": "1"}}],
    }
    path = base / f"{name}.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def running(config: Path) -> Any:
    """The app's lifespan on ``config``, and its consent service once the log is ready."""
    from samtycke.settings import loading
    from samtycke.web.app import create_app

    app = create_app(loading.load(config, {}))
    # The consent part starts its service when storage is ready; that bound method is the
    # one handle on the service the app runs.
    (consent,) = [part for part in app.state.parts if part.name == "consent"]
    service = consent.on_storage_ready[0].__self__
    return app, service


async def wait_ready(service: Any) -> None:
    while not service.log.ready:
        if service.log.problem and "loading" not in service.log.problem:
            raise SystemExit(f"the consent log did not load: {service.log.problem}")
        await asyncio.sleep(0.1)


def counts(services: Any) -> list[int]:
    return [int(value) for value in services.storage.query(COUNTS)[0]]


async def fill(config: Path) -> dict[str, Any]:
    from consent.recording.choice import parse_choice

    app, service = running(config)
    async with app.router.lifespan_context(app):
        services = app.state.services
        await wait_ready(service)
        began = time.perf_counter()
        await asyncio.to_thread(services.storage.command, EVENT_ROWS.format(events=EVENTS))
        events_s = time.perf_counter() - began
        choice = parse_choice(services.settings, CHOICE, False, "sv")
        began = time.perf_counter()
        for start in range(0, RECEIPTS, BATCH):
            size = min(BATCH, RECEIPTS - start)
            await asyncio.gather(*(service.issue(choice, None) for _ in range(size)))
        receipts_s = time.perf_counter() - began
    # Stopped: the journal is shipped and the log's checkpoint is kept; read what is stored.
    app, service = running(config)
    async with app.router.lifespan_context(app):
        await wait_ready(service)
        stored = counts(app.state.services)
    return {"events_s": round(events_s, 1), "receipts_s": round(receipts_s, 1), "counts": stored}


async def check(config: Path, folder: Path) -> dict[str, Any]:
    """The restored service: the log loads, its audit export verifies offline, the counts."""
    import httpx

    from consent.ledger.keys import parse_public_keys
    from consent.ledger.verify import verify_export

    app, service = running(config)
    async with app.router.lifespan_context(app):
        await wait_ready(service)
        stored = counts(app.state.services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost", timeout=600) as client:
            headers = {"authorization": f"Bearer {AUDITOR_TOKEN}"}
            export = await client.get("/api/v1/audit/export", headers=headers)
            keys = await client.get("/api/v1/log/keys")
        if export.status_code != 200 or keys.status_code != 200:
            raise SystemExit(f"the restored service answered {export.status_code} / {keys.status_code}")
    (folder / "export.jsonl").write_bytes(export.content)
    report = verify_export(export.text.splitlines(), parse_public_keys(keys.text))
    return {"counts": stored, "log_verifies": report.ok, "log_report": report.text().splitlines()[0]}


def timed(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "samtycke", *args], capture_output=True, text=True, check=False, cwd=REPO
    )
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"samtycke {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, done


def child(step: str, *args: Path) -> dict[str, Any]:
    """Run ``step`` of this script in a process of its own; its JSON answer."""
    done = subprocess.run(
        [sys.executable, __file__, f"--{step}", *map(str, args)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stdout}{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def bench() -> dict[str, Any]:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        original, restored = configuration(base, "original"), configuration(base, "restored")
        filled = child("fill", original)
        print("filled:", json.dumps(filled), flush=True)
        backup_s, made = timed("backup", str(base / "copy"), "--config", str(original))
        manifest = json.loads((base / "copy" / "manifest.json").read_text())
        rows = sum(table["rows"] for table in manifest["tables"])
        verify_s, _ = timed("backup", "--verify", str(base / "copy"))
        restore_s, _ = timed("restore", str(base / "copy"), "--config", str(restored))
        checked = child("check", restored, base)
        print("restored:", json.dumps(checked), flush=True)
        if checked["counts"][:3] != filled["counts"][:3] or not checked["log_verifies"]:
            raise SystemExit("the restored data directory differs from the original")
        return {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "load_average_before": [round(x, 2) for x in load],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "code": git_commit(),
            "events": EVENTS,
            "receipts": RECEIPTS,
            "fill": filled,
            "rows_backed_up": rows,
            "tables": {table["name"]: table["rows"] for table in manifest["tables"] if table["file"]},
            "data_dir_bytes": size(base / "original"),
            "backup_bytes": size(base / "copy"),
            "backup_s": round(backup_s, 1),
            "backup_rows_per_s": round(rows / backup_s),
            "verify_s": round(verify_s, 1),
            "restore_s": round(restore_s, 1),
            "restore_rows_per_s": round(rows / restore_s),
            "restored": checked,
            "summary": made.stdout.strip(),
        }


def git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return done.stdout.strip()


def write_results(result: dict[str, Any]) -> None:
    mib = 1 << 20
    load = result["load_average_before"]
    sizes = f"{result['data_dir_bytes'] / mib:.0f} MiB / {result['backup_bytes'] / mib:.0f} MiB"
    backup = f"{result['backup_s']} s ({result['backup_rows_per_s']:,} rows/s)"
    restore = f"{result['restore_s']} s ({result['restore_rows_per_s']:,} rows/s)"
    events, pageviews, entries, checkpoints = result["restored"]["counts"]
    section = f"""
## Backup and restore (`bench/backup.py`)

Run {result["date"]} on {result["machine"]}, commit `{result["code"]}`, on a machine shared with
other work (load average {load[0]} / {load[1]} / {load[2]} at the start,
{result["load_average_after"][0]} at the end), once; times are wall-clock and move with the load.
An embedded data directory with {result["events"]:,} events (one `INSERT ... SELECT`, rollups fed
by their views) and {result["receipts"]:,} receipts issued by the consent service in batches of
{BATCH:,}; each command run piped, as a cron job runs it.

| measure | result |
|---|---|
| rows in the backup (all tables) | {result["rows_backed_up"]:,} |
| data directory / backup size | {sizes} |
| `samtycke backup DIR` (nothing running) | {backup} |
| `samtycke backup --verify DIR` (checksums, rows, the consent log's proof) | {result["verify_s"]} s |
| `samtycke restore DIR` (verifies first) | {restore} |
| filling: events / receipts | {result["fill"]["events_s"]} s / {result["fill"]["receipts_s"]} s |

After the restore the service loads its consent log against the kept checkpoint, its audit
export verifies offline ({result["restored"]["log_report"]}), and the restored tables hold the
original's {events:,} events, {pageviews:,} rollup pageviews and {entries:,} log entries
({checkpoints} signed checkpoints, the restored service's own among them).
"""
    results = REPO / "bench" / "RESULTS.md"
    existing = results.read_text() if results.exists() else "# Benchmarks\n"
    marker = "\n## Backup and restore (`bench/backup.py`)\n"
    if marker in existing:
        head, _, tail = existing.partition(marker)
        rest = tail.split("\n## ", 1)
        existing = head + ("\n## " + rest[1] if len(rest) > 1 else "")
    results.write_text(existing.rstrip("\n") + "\n" + section)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-results-md", action="store_true", help="only write bench/backup.json")
    parser.add_argument("--fill", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        print(json.dumps(asyncio.run(fill(args.fill))))
        return 0
    if args.check:
        print(json.dumps(asyncio.run(check(*args.check))))
        return 0
    result = bench()
    (REPO / "bench" / "backup.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_results_md:
        write_results(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
