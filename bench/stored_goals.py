"""Stored goals on the goals report's path, as ratios within one run.

    python bench/stored_goals.py [--events 1000000] [--sites 40] [--repeat 30] [--no-record]

The stats API now reads a site's goals through the store of goals managed in samtycke
(``analytics.managed.store``: an in-process cache, refreshed every few seconds) before it
builds the goals report.  This measures the goals report (the dashboard benchmark's, on the
busiest site, over 30 days and 12 months) four ways:

* ``configured``: the site as configured (two goals), the report as before: the baseline;
* ``through_store``: the same site read through the store, which holds no goals for it yet;
* ``configured_4``: four goals, all configured;
* ``stored_2_of_4``: the same four goals, two of them stored and read through the store.

The first two alternate in each round, then two goals are stored, then the last two alternate.

``through_store / configured`` and ``stored_2_of_4 / configured_4`` are the store's cost on
the path; ``configured_4 / configured`` is what two more goals cost the report.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import (  # bench/ is the script's own directory
    DATABASE,
    NOW,
    REPORTS,
    SITE_GOALS,
    START,
    budget_of,
    open_storage,
    percentile,
    site_of,
)

from analytics.dashboard.sample import Traffic, generate
from analytics.managed.definitions import GoalDefinition
from analytics.managed.store import Definitions
from analytics.schema import EVENTS
from analytics.stats import parser, runner
from samtycke.accounts.events import AccountEvents
from samtycke.accounts.store import MIGRATIONS as ACCOUNT_MIGRATIONS
from samtycke.settings import Goal, Site
from samtycke.storage import Layout, Storage, migrations

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Stored goals on the goals report's path"
EXTRA = [
    Goal(id=3, name="Solceller", page="/solceller*"),
    Goal(id=4, name="Kontakt", page="/kontakt*"),
]


def now() -> datetime:
    return NOW


async def add_goals(store: Definitions, site_id: int) -> None:
    """Store the two extra goals for the site."""
    for goal in EXTRA:
        definition = GoalDefinition(name=goal.name, page=goal.page, id=goal.id)
        await store.create_goal(site_of(site_id), definition, actor="bench")


def variants(
    storage: Storage, site_id: int, date_range: Any, store: Definitions, stored: bool
) -> dict[str, Callable[[], Awaitable[Any]]]:
    query = parser.parse({"site_id": site_id, "date_range": date_range, **REPORTS["goals"]}, {site_id})
    configured = site_of(site_id)

    def direct(site: Site) -> Callable[[], Awaitable[Any]]:
        async def run() -> Any:
            return await runner.run(budget_of(storage), query, site, NOW)

        return run

    async def through() -> Any:
        return await runner.run(budget_of(storage), query, await store.site(configured), NOW)

    if not stored:
        return {"configured": direct(configured), "through_store": through}
    configured_4 = dataclasses.replace(configured, goals=[*SITE_GOALS, *EXTRA])
    return {"configured_4": direct(configured_4), "stored_2_of_4": through}


async def rounds(runs: dict[str, Callable[[], Awaitable[Any]]], repeat: int) -> dict[str, list[float]]:
    answers = {name: sorted(map(str, (await run()).rows)) for name, run in runs.items()}  # warm-up
    assert len({str(a) for a in answers.values()}) == 1, "every way gives the same answer"
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            await run()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def measure(storage: Storage, site_id: int, repeat: int) -> dict[str, dict[str, Any]]:
    store = Definitions(storage, AccountEvents(storage, now), now)
    samples: dict[str, dict[str, list[float]]] = {}
    for range_name in ("30d", "12mo"):  # first with nothing stored for the site
        samples[range_name] = await rounds(
            variants(storage, site_id, range_name, store, stored=False), repeat
        )
    await add_goals(store, site_id)
    for range_name in ("30d", "12mo"):
        samples[range_name] |= await rounds(
            variants(storage, site_id, range_name, store, stored=True), repeat
        )
    out: dict[str, dict[str, Any]] = {}
    for range_name, measured in samples.items():
        p95 = {name: percentile(values, 0.95) for name, values in measured.items()}
        out[range_name] = {
            name: {"p50_ms": round(statistics.median(values), 1), "p95_ms": round(p95[name], 1)}
            for name, values in measured.items()
        } | {
            "ratios": _ratios(p95),
            "p50_ratios": _ratios({name: statistics.median(values) for name, values in measured.items()}),
        }
    return out


def _ratios(value: dict[str, float]) -> dict[str, float]:
    return {
        "through_store/configured": round(value["through_store"] / value["configured"], 3),
        "stored_2_of_4/configured_4": round(value["stored_2_of_4"] / value["configured_4"], 3),
        "configured_4/configured": round(value["configured_4"] / value["configured"], 3),
    }


def markdown(
    events: int, sites: int, site_id: int, site_events: int, repeat: int, out: dict[str, Any]
) -> str:
    lines = [
        SECTION,
        "",
        f"`python bench/stored_goals.py --events {events} --sites {sites} --repeat {repeat}`: about "
        f"{events:,} generated events, the busiest site (site {site_id}, {site_events:,} events); the goals "
        "report's p50 / p95 (ms), the variants of a pair measured in turn in every round, and the "
        "ratios of their p50 (p95).",
        "",
        "| range | configured (2 goals) | through the store (none stored) | 4 goals configured "
        "| 4 goals, 2 stored | store / configured | 2 stored / 4 configured | 4 goals / 2 goals |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = ("configured", "through_store", "configured_4", "stored_2_of_4")
    pairs = ("through_store/configured", "stored_2_of_4/configured_4", "configured_4/configured")
    for range_name, result in out.items():
        times = " | ".join(f"{result[n]['p50_ms']} / {result[n]['p95_ms']}" for n in names)
        ratios = " | ".join(f"{result['p50_ratios'][p]} ({result['ratios'][p]})" for p in pairs)
        lines.append(f"| {range_name} | {times} | {ratios} |")
    lines += [
        "",
        "The last ratio compares the two phases (before and after two goals are stored), so it also "
        f"carries the machine's drift between them. Load average at the end: {os.getloadavg()[0]:.1f}.",
    ]
    return "\n".join(lines) + "\n"


def record(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if SECTION in current:
        before, _, after = current.partition(SECTION)
        rest = after.split("\n## ", 1)
        current = before + (("## " + rest[1]) if len(rest) > 1 else "")
    RESULTS.write_text(current.rstrip("\n") + "\n\n" + text, encoding="utf-8")


def main() -> int:
    arguments = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    arguments.add_argument("--events", type=int, default=1_000_000, help="approximate number of events")
    arguments.add_argument("--sites", type=int, default=40)
    arguments.add_argument("--repeat", type=int, default=30)
    arguments.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    options = arguments.parse_args()
    with tempfile.TemporaryDirectory(prefix="samtycke-bench-goals-") as directory:
        storage = open_storage(Path(directory))
        migrations.apply(storage, Layout(DATABASE, ""), ACCOUNT_MIGRATIONS)  # the change record
        sites = list(range(1, options.sites + 1))
        generate(
            storage,
            Traffic(
                sites=sites,
                visits=int(options.events / 3.03),
                start=START,
                end=NOW,
                seed=3,
                retention_months=600,
            ),
        )
        for (table,) in storage.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
        ):
            storage.command(f"OPTIMIZE TABLE `{table}` FINAL")
        site_id, site_events = storage.query(
            f"SELECT site_id, count() FROM {EVENTS} GROUP BY site_id ORDER BY count() DESC LIMIT 1"
        )[0]
        out = asyncio.run(measure(storage, int(site_id), options.repeat))
        storage.close()
    text = markdown(options.events, options.sites, int(site_id), int(site_events), options.repeat, out)
    print(text)
    if not options.no_record:
        record(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
