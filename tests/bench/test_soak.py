"""The soak benchmark, run short so that it keeps working: nothing acknowledged is lost or stored twice.

``bench/soak.py --short`` runs the whole script (a real ``samtycke serve`` on a fresh data
directory, the flat-out burst, paced wrk with marked page views, consent writes, stats
queries, a clean stop, a restart and ClickHouse read directly) for 30 seconds in three
intervals, on the embedded default and against a ClickHouse server.  What is checked here
is only what must hold on any machine: every acknowledged hit and receipt is stored exactly
once, the stops are clean, and the report has every part.
Its timings and its memory verdict depend on the machine and belong in bench/RESULTS.md.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import REPO

INTERVALS = 3  # 30 s in 10-second intervals


def written_under_bench() -> dict[str, float]:
    return {
        path.name: path.stat().st_mtime for path in (REPO / "bench").glob("soak*") if path.suffix != ".py"
    }


def run_short_soak(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    """A short run (with ``options``): its output and its report."""
    report = tmp_path / "soak.json"
    before = written_under_bench()
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "soak.py"),
            "--short",
            "--json",
            str(report),
            "--work-dir",
            str(tmp_path / "run"),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
        check=False,
    )
    assert report.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    assert written_under_bench() == before, "a short run writes nothing under bench/"
    return done, json.loads(report.read_text())


@pytest.fixture(scope="module")
def short_soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Any]:
    """One short run on the embedded default for the module's tests."""
    return run_short_soak(tmp_path_factory.mktemp("soak"))


def assert_nothing_lost_or_repeated(done: subprocess.CompletedProcess[str], result: Any) -> None:
    checks, acknowledged = result["checks"], result["acknowledged"]

    assert result["problems"] == [], done.stderr[-4000:]
    assert done.returncode == 0, done.stderr[-4000:]
    assert acknowledged["hits"] > 0 and acknowledged["receipts"] > 0 and acknowledged["stats_queries"] > 0
    assert acknowledged["hits"] == result["answers"]["hits"]["200"]
    assert acknowledged["receipts"] == result["answers"]["consent"]["201"]
    for name in (
        "hits_lost",
        "hits_repeated",
        "hits_stored_never_sent",
        "receipts_lost",
        "receipts_repeated",
    ):
        assert checks[name] == 0, name
    assert checks["receipts_at_another_index_or_leaf"] == 0
    assert checks["indices_handed_out_twice"] == checks["index_gaps"] == 0
    assert result["stop_after_soak"]["clean"] and result["restart"]["stop"]["clean"]
    # The journal held everything until ClickHouse had it: nothing quarantined or unconfirmed.
    assert result["journal_backlog"]["quarantined_segments_at_end"] == 0
    assert result["journal_backlog"]["unconfirmed_segments_at_end"] == 0


@pytest.mark.slow
def test_a_short_soak_counts_every_acknowledged_hit_and_receipt_once(short_soak: Any) -> None:
    assert_nothing_lost_or_repeated(*short_soak)


@pytest.mark.slow
def test_a_short_soak_against_a_clickhouse_server_counts_everything_once(
    clickhouse_http: Any, tmp_path: Path
) -> None:
    done, result = run_short_soak(tmp_path, "--clickhouse-url", f"{clickhouse_http.url}/")
    assert result["backend"] == "ClickHouse server over HTTP"
    assert_nothing_lost_or_repeated(done, result)


@pytest.mark.slow
def test_a_short_soak_reports_every_part(short_soak: Any) -> None:
    done, result = short_soak

    assert len(result["load_average_before"]) == len(result["load_average_after"]) == 3
    assert result["maximum"]["requests_per_second"] > 0
    assert result["target_hits_per_s"] == pytest.approx(result["maximum"]["requests_per_second"] / 2, abs=0.1)
    assert len(result["per_interval"]) == INTERVALS
    for row in result["per_interval"]:
        assert row["hits_per_s"] > 0 and row["consent_writes"] > 0 and row["stats_queries"] > 0
        assert None not in (row["hits_p99_ms"], row["consent_p99_ms"], row["stats_p99_ms"])
    memory = result["memory"]
    assert len(memory["rss_mb_mean_per_interval"]) == INTERVALS
    assert all(mb > 0 for mb in memory["rss_mb_mean_per_interval"])
    assert isinstance(memory["flat"], bool) and memory["change"] is not None
    assert len(memory["visits_in_memory_max_per_interval"]) == INTERVALS
    assert None not in memory["visits_in_memory_max_per_interval"]
    assert f"memory {'PASS' if memory['flat'] else 'FAIL'}" in done.stdout
    backlog = result["journal_backlog"]
    assert len(backlog["records_max_per_interval"]) == INTERVALS
    assert None not in backlog["records_max_per_interval"]
    assert result["samples"] and all("rss_mb" in s and "backlog_records" in s for s in result["samples"])
    load, target = result["load"], result["target_hits_per_s"]
    for row in result["per_interval"]:
        assert (row["interval"] in load["hits_short_in_intervals"]) == (row["hits_per_s"] < 0.9 * target)
        assert (row["interval"] in load["consent_slow_in_intervals"]) == (row["consent_p99_ms"] > 1000)
    assert load["kept"] == (not load["hits_short_in_intervals"] and not load["consent_slow_in_intervals"])
    assert f"the server {'kept' if load['kept'] else 'did not keep'} its target" in done.stdout


@pytest.mark.slow
def test_a_short_soaks_report_renders_as_a_results_section(
    short_soak: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, result = short_soak
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    soak = importlib.import_module("soak")
    monkeypatch.setattr(soak, "HERE", tmp_path)
    (tmp_path / "RESULTS.md").write_text("# Benchmarks\n\n## Other (`bench/other.py`)\n\nleft as it was\n")

    soak.write_results(result)
    soak.write_results(result)  # a second run replaces its own section and nothing else

    text = (tmp_path / "RESULTS.md").read_text()
    assert text.count("## Soak (`bench/soak.py`)") == 1 and "left as it was" in text
    verdict = "PASS" if result["memory"]["flat"] else "FAIL"
    assert f"| memory flat: last interval within 10 % of the second | **{verdict}**" in text
    assert "| lost / stored twice (hits and receipts) | 0 / 0 |" in text
    kept = "| the server kept its target: hits within 10 %, consent p99 under 1 s, every interval | "
    assert (kept + "yes |" in text) == result["load"]["kept"]
    assert f"Load average {result['load_average_before'][0]} at the start" in text
    assert text.count("\n| 1 |") == text.count("\n| 2 |") == text.count("\n| 3 |") == 1
