"""The scanner against the deliberately bad demo site, directly and behind samtycke's proxy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.enforcement.processes import write_config
from tests.enforcement.stack import Stack
from tests.support.paths import ARTIFACTS

SEEDED = {
    ("demo_lang", "no-consent"),
    ("_pk_id.1.abcd", "no-consent"),
    ("demo_ads", "no-consent"),
    ("demo_stats", "no-consent"),
    ("tracker_uid", "undeclared"),
}


def scan(url: str, tmp_path: Path, name: str) -> tuple[int, dict[str, Any], str]:
    config = write_config(tmp_path)
    out_json, out_html = tmp_path / f"{name}.json", tmp_path / f"{name}.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "consent.scan.cli",
            url,
            "--pages",
            "3",
            "--site",
            "1",
            "--config",
            str(config),
            "--json",
            str(out_json),
            "--html",
            str(out_html),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"scan-{name}.html").write_text(out_html.read_text(encoding="utf-8"), encoding="utf-8")
    assert done.stderr.count("\n") <= 2, done.stderr  # piped: no progress lines, just the summary
    return (
        done.returncode,
        json.loads(out_json.read_text(encoding="utf-8")),
        out_html.read_text(encoding="utf-8"),
    )


@pytest.mark.browser
def test_scanner_finds_every_seeded_violation(stack: Stack, tmp_path: Path) -> None:
    code, report, html = scan(stack.direct("/"), tmp_path, "bad-site")
    assert code == 1
    before = {(v["cookie"], v["kind"]) for v in report["violations"] if v["scenario"] == "before-choice"}
    assert before >= SEEDED
    for violation in report["violations"]:
        assert {"cookie", "page", "reason"} <= set(violation)
    assert [v["scenario"] for v in report["violations"] if v["kind"] == "banner"] == ["reject-all"]
    assert len(report["pages"]) == 3 and all("demo.localhost" in p for p in report["pages"])
    lifetimes = {w["cookie"] for w in report["warnings"] if w["kind"] == "lifetime"}
    assert "demo_stats" in lifetimes  # declared 6 months, lives two years
    assert "problem(s) found" in html and "tracker_uid" in html


@pytest.mark.browser
def test_the_same_site_behind_the_proxy_is_clean(stack: Stack, tmp_path: Path) -> None:
    code, report, html = scan(stack.public("/"), tmp_path, "behind-proxy")
    assert report["violations"] == [], report["violations"]
    assert code == 0
    by_name = {s["name"]: s for s in report["scenarios"]}
    assert set(by_name) == {
        "before-choice",
        "reject-all",
        "accept-preferences",
        "accept-statistics",
        "accept-marketing",
    }
    assert "demo_ads" in by_name["accept-marketing"]["cookies"]
    assert "127.0.0.2" in by_name["accept-marketing"]["third_party_hosts"]
    assert by_name["before-choice"]["third_party_hosts"] == []
    assert "No problems found" in html


def test_scan_refuses_bad_arguments(tmp_path: Path) -> None:
    for args in (["not-a-url"], ["http://127.0.0.1:1/", "--pages", "0"]):
        done = subprocess.run(
            [sys.executable, "-m", "consent.scan.cli", *args], capture_output=True, text=True
        )
        assert done.returncode == 2 and done.stderr.strip()
