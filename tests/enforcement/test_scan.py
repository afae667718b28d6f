"""The scanner against the deliberately bad demo site, directly and behind samtycke's proxy."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consent.scan.prerequisites import INSTALL_ONE
from tests.enforcement.processes import write_config
from tests.enforcement.stack import Stack
from tests.support.paths import ARTIFACTS
from tests.support.terminal import on_terminal, piped

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


class PlainSite(http.server.BaseHTTPRequestHandler):
    """A site of two linked pages with no banner and no cookies."""

    def do_GET(self) -> None:
        body = b'<!doctype html><title>plain</title><a href="/other">other</a>'
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def plain_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PlainSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def without_chromium(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds only the Python that runs samtycke, and no Playwright download."""
    empty = tmp_path / "no-browsers"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("SAMTYCKE_CONFIG", "SAMTYCKE_CHROMIUM")}
    return env | {"PATH": str(Path(sys.executable).parent), "PLAYWRIGHT_BROWSERS_PATH": str(empty)}


def test_without_a_chromium_the_scan_names_the_commands_that_install_one(tmp_path: Path) -> None:
    done = piped(
        [sys.executable, "-m", "consent.scan.cli", "http://127.0.0.1:1/", "--pages", "1"],
        env=without_chromium(tmp_path),
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"samtycke scan found no Chromium. {INSTALL_ONE}\n"
    assert "apt-get install chromium" in done.stderr
    assert "python -m playwright install chromium" in done.stderr


def test_a_chromium_named_but_absent_is_refused_with_the_same_advice(tmp_path: Path) -> None:
    missing = tmp_path / "chrome"
    for argv, extra in (
        (["--chromium", str(missing)], {}),
        ([], {"SAMTYCKE_CHROMIUM": str(missing)}),
    ):
        done = piped(
            [sys.executable, "-m", "consent.scan.cli", "http://127.0.0.1:1/", *argv],
            env=without_chromium(tmp_path) | extra,
        )
        assert done.returncode == 2
        assert (
            done.stderr
            == f"No Chromium at {missing} (from --chromium or $SAMTYCKE_CHROMIUM). {INSTALL_ONE}\n"
        )


@pytest.mark.browser
def test_the_browser_named_by_the_option_is_used_when_path_has_none(tmp_path: Path, plain_site: str) -> None:
    done = piped(
        [
            sys.executable,
            "-m",
            "consent.scan.cli",
            plain_site,
            "--pages",
            "2",
            "--chromium",
            "/usr/bin/chromium",
        ],
        env=without_chromium(tmp_path),
    )
    # No banner on the site: the scan ran and reports that as its one violation.
    assert done.returncode == 1, done.stderr
    assert done.stderr == "2 page(s), 1 violation(s), 0 warning(s)\n"
    assert done.stdout.startswith("VIOLATION -:")


@pytest.mark.browser
def test_on_a_terminal_the_scan_shows_its_progress(tmp_path: Path, plain_site: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SAMTYCKE_CONFIG", "SAMTYCKE_CHROMIUM")}
    done = on_terminal([sys.executable, "-m", "consent.scan.cli", plain_site, "--pages", "2"], env=env)
    assert done.returncode == 1, done.stdout
    for line in (
        f"scan: finding up to 2 page(s) from {plain_site}\n",
        "scan: scenario before-choice\n",
        "scan: scenario reject-all\n",
        "scan: 2/2 (100 %)\n",
        "2 page(s), 1 violation(s), 0 warning(s)\n",
    ):
        assert line in done.stdout, done.stdout
