"""A real server under load from many addresses: no raw IP anywhere on disk; the CLI."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.analytics.conftest import CHROME
from tests.support.live import LiveServer
from tests.support.tokens import ADMIN_TOKEN, MARKETER_TOKEN, TOKENS

# No zero bytes in the packed forms, which makes chance matches in binary files rarer.
IPV4 = [f"198.51.100.{n}" for n in range(100, 140)]
IPV6 = [f"2001:db8:5a:{n:x}::{n + 7:x}" for n in range(100, 140)]
ADDRESSES = IPV4 + IPV6
VISITOR = "0123456789abcdef"


def cli(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "samtycke",
            "visitor",
            *args,
            "--site",
            "1",
            "--config",
            str(server.config_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=server.data_dir.parent,
        check=False,
    )


def dump_tables(server: LiveServer) -> str:
    """Every row of every table in the server's database, as text (run in a child process)."""
    script = (
        "import sys, clickhouse_connect\n"
        "c = clickhouse_connect.get_client(dsn='chdb://' + sys.argv[1])\n"
        "for (t,) in c.query(\"SELECT name FROM system.tables WHERE database = 'samtycke' "
        "AND engine NOT LIKE '%View%'\").result_rows:\n"
        "    dump = c.raw_query(f'SELECT * FROM samtycke.`{t}` FORMAT TSV')\n"
        "    sys.stdout.write(dump.decode('utf-8', 'replace'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str((server.data_dir / "clickhouse").resolve())],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def visitors(server: LiveServer) -> int:
    body = {"site_id": 1, "metrics": ["visitors"], "date_range": "all"}
    answer = httpx.post(
        server.url + "/api/v1/stats/query", json=body, headers={"authorization": f"Bearer {MARKETER_TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["results"][0]["metrics"][0])


def wait_for_visitors(server: LiveServer, expected: int) -> None:
    deadline = time.monotonic() + 30
    while visitors(server) < expected:
        assert time.monotonic() < deadline, f"only {visitors(server)} of {expected} visitors arrived"
        time.sleep(0.1)


def test_no_raw_ip_on_disk_and_visitor_cli(live_server_factory: Any) -> None:
    server: LiveServer = live_server_factory(tokens=TOKENS)
    with httpx.Client(base_url=server.url) as client:
        for number, address in enumerate(ADDRESSES):
            params: dict[str, str] = {"idsite": "1", "rec": "1", "url": f"http://localhost/p{number % 7}"}
            if number == 0:
                params.update(_id=VISITOR, consent="1")
            headers = {"user-agent": CHROME, "x-forwarded-for": address}
            assert client.get("/matomo.php", params=params, headers=headers).status_code == 200
    wait_for_visitors(server, len(ADDRESSES))

    exported = cli(server, "export", VISITOR, "--server", server.url, "--token", ADMIN_TOKEN)
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["events"]) == 1
    no_token = cli(server, "export", VISITOR)
    assert no_token.returncode == 2 and "--token" in no_token.stderr

    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    files = [p for p in server.data_dir.rglob("*") if p.is_file()] + [server.log_path]
    assert any("journal" in p.parts for p in files) and any("clickhouse" in p.parts for p in files)
    tables = dump_tables(server)
    assert "/p3" in tables  # the dump does hold the events
    for address in ADDRESSES:
        text = address.encode()
        packed = ipaddress.ip_address(address).packed
        assert address not in tables
        for path in files:
            content = path.read_bytes()
            assert text not in content, f"{address} found in {path}"
            assert packed not in content, f"{address} (packed) found in {path}"
    assert "198.51.0.0" not in tables and "2001:db8::" not in tables  # no masked IPs either, by default

    # The server is gone: the CLI opens the embedded data itself.
    deleted = cli(server, "delete", VISITOR, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] == 1
    again = cli(server, "export", VISITOR)
    assert again.returncode == 0 and json.loads(again.stdout)["events"] == []
