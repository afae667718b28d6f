"""The dashboard benchmark, run small so that it keeps working: every report answers, with data.

``bench/dashboard.py --events 200000`` generates a year of traffic for a few sites and runs
every report through the stats API, next to its floor.  What is checked here holds on any
machine: each report answered on every site and range, found rows where the generated data
has them, and has a floor; a database kept with ``--keep`` is reused.  Its timings belong in
bench/RESULTS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import REPO

SCRIPT = REPO / "bench" / "dashboard.py"
# Reports over facts the busiest site has on any day of the generated year; the rest
# (e.g. names within one event category) may be empty on a small site's 30 days.
ALWAYS_FILLED = ("headline", "chart", "top_pages", "outlinks", "downloads", "search_keywords", "titles")


def written_under_bench() -> dict[str, float]:
    return {path.name: path.stat().st_mtime for path in (REPO / "bench").iterdir() if path.suffix != ".py"}


def run_bench(data: Path, *options: str) -> dict[str, Any]:
    before = written_under_bench()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "200000", "--sites", "4", "--repeat", "1", "--no-record",
         "--keep", str(data), *options],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert written_under_bench() == before, "--no-record writes nothing under bench/"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data = tmp_path_factory.mktemp("dashboard-bench") / "data"
    return data, run_bench(data)


def test_every_report_answers_on_every_site_and_range(first_run: tuple[Path, dict[str, Any]]) -> None:
    _, report = first_run
    assert not report["reused_database"]
    assert set(report["results"]) == {"busiest/30d", "busiest/12mo", "median/30d", "median/12mo"}
    for key, result in report["results"].items():
        assert set(result["queries"]) == set(report["reports"]), key
        for name, query in result["queries"].items():
            assert query["floor_p95_ms"] > 0, (key, name)
            assert query["p95_ms"] > 0, (key, name)
    for name in report["reports"]:
        # Over a year on the busiest site, every kind of fact has been tracked.
        assert report["results"]["busiest/12mo"]["queries"][name]["rows"] >= 1, name
    for name in ALWAYS_FILLED:
        assert report["results"]["busiest/30d"]["queries"][name]["rows"] >= 1, name


def test_generated_events_carry_every_kind_of_fact(first_run: tuple[Path, dict[str, Any]]) -> None:
    _, report = first_run
    kinds = {"pageview", "event", "goal", "search", "outlink", "download", "cart", "order"}
    assert set(report["events_by_kind"]) >= kinds
    assert 190_000 <= report["events"] <= 210_000
    # The shop visits went through the collector: every hit it accepted is stored.
    shop = report["shop_hits_tracked"]
    assert shop["tracked"] > 1000
    assert shop["invalid"] == 0
    assert shop["stored"] == shop["tracked"]


def test_a_kept_database_is_reused_and_only_named_reports_run(first_run: tuple[Path, dict[str, Any]]) -> None:
    data, report = first_run
    again = run_bench(data, "--only", "goals,outlinks")
    assert again["reused_database"]
    assert again["events"] == report["events"]
    assert again["reports"] == ["goals", "outlinks"]
    assert set(again["results"]["busiest/12mo"]["queries"]) == {"goals", "outlinks"}
