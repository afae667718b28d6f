"""A live samtycke with receipts and hits to back up, and the commands that back it up.

Backup tests on either storage make the same traffic, run the same piped commands and
compare the same answers before and after a restore.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from tests.analytics.conftest import CHROME
from tests.support.config import DEMO_CHOICE, demo_raw
from tests.support.live import LiveServer
from tests.support.tokens import AUDITOR, MARKETER, TOKENS

STATS = {
    "site_id": 1,
    "metrics": ["visitors", "pageviews"],
    "date_range": "all",
    "dimensions": ["event:page"],
}
RECEIPTS = 6
HITS = 12


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SAMTYCKE_CONFIG", "SAMTYCKE_TOKEN")}


def cli(base: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command piped, as a script or cron job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "samtycke", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=base,
        env=environment(),
        check=False,
    )


def config(base: Path, name: str, **storage: str) -> Path:
    """A configuration whose data directory is ``base/name``; ``storage`` adds settings (a server)."""
    raw = demo_raw(
        storage={"data_dir": str(base / name), **storage},
        server={"secret_keys": ["backup-test-key"]},
        tokens=TOKENS,
    )
    path = base / f"{name}.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def stats(server: LiveServer) -> Any:
    answer = httpx.post(server.url + "/api/v1/stats/query", json=STATS, headers=MARKETER, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]


def consent(server: LiveServer) -> dict[str, Any]:
    answer = httpx.post(server.url + "/api/v1/consent", json=DEMO_CHOICE, timeout=30)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def export(server: LiveServer, folder: Path) -> tuple[Path, Path]:
    """The audit export and the public keys, as files for ``samtycke log verify``."""
    entries = httpx.get(server.url + "/api/v1/audit/export", headers=AUDITOR, timeout=60)
    keys = httpx.get(server.url + "/api/v1/log/keys", timeout=30)
    assert entries.status_code == keys.status_code == 200, entries.text
    folder.mkdir(exist_ok=True)
    (folder / "log.jsonl").write_bytes(entries.content)
    (folder / "keys.json").write_bytes(keys.content)
    return folder / "log.jsonl", folder / "keys.json"


@dataclass
class Traffic:
    receipts: list[dict[str, Any]]
    stats: Any  # the statistics once every hit is counted
    state: Path  # what an online ``samtycke log verify`` saw, to check later growth against


def make_traffic(server: LiveServer, base: Path) -> Traffic:
    """Receipts and hits, waited for until the statistics count every hit, and an online log check."""
    receipts = [consent(server) for _ in range(RECEIPTS)]
    for n in range(HITS):
        hit: dict[str, str | int] = {
            "idsite": 1,
            "rec": 1,
            "url": f"http://localhost/page-{n % 4}",
            "_id": f"{n:016x}",
        }
        answer = httpx.get(server.url + "/matomo.php", params=hit, headers={"user-agent": CHROME})
        assert answer.status_code in (200, 204), answer.text
    deadline = time.monotonic() + 30
    while sum(row["metrics"][1] for row in stats(server)) < HITS:
        assert time.monotonic() < deadline, stats(server)
        time.sleep(0.2)
    state = base / "log-state.json"
    online = cli(base, "log", "verify", "--url", server.url, "--state", str(state))
    assert online.returncode == 0, online.stdout + online.stderr
    return Traffic(receipts, stats(server), state)


def check_restored(server: LiveServer, base: Path, traffic: Traffic) -> None:
    """The restored service answers the same statistics, its log verifies offline and grows consistently."""
    assert stats(server) == traffic.stats
    entries, keys = export(server, base / f"offline-{server.port}")
    offline = cli(base, "log", "verify", str(entries), "--public-key", str(keys))
    assert offline.returncode == 0, offline.stdout + offline.stderr
    for receipt in traffic.receipts:
        assert receipt["receipt"]["receipt_id"] in entries.read_text()
    consent(server)
    grown = cli(base, "log", "verify", "--url", server.url, "--state", str(traffic.state))
    assert grown.returncode == 0, grown.stdout + grown.stderr
