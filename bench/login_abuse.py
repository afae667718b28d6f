"""What abusive logins do to a running samtycke: event-loop stall, guessing rate, cross-site writes.

    python bench/login_abuse.py          # about a minute; prints the figures as JSON

It starts ``samtycke serve`` on a throw-away data directory and measures:

* **stall**: how long a tracking hit waits when sent together with 12 logins, and the
  longest a hit waited while a probe sent one every 5 ms during 12 concurrent logins;
* **guesses**: 200 wrong passwords for one account, each from a new IPv6 address (through
  the trusted proxy's ``X-Forwarded-For``), once within one /64 and once from a new /64
  each time; the figure is how many were checked rather than refused with 429;
* **cross-site purge**: a logged-in admin's cookie on ``POST /api/v1/audit/purge`` sent
  from another origin of the same site, as a browser sends it; the figure is the status.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from argon2 import PasswordHasher

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from samtycke.auth import hash_token  # noqa: E402
from samtycke.settings import loading  # noqa: E402
from tests.support.live import stop, wait_serving  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

PASSWORD = "correct horse battery"
ADMIN_TOKEN = secrets.token_urlsafe(24)
CONCURRENT = 12
GUESSES = 200


def config(data_dir: Path) -> dict[str, Any]:
    raw = loading.demo_config()
    raw["storage"] = {"data_dir": str(data_dir)}
    raw["server"] = {**raw.get("server", {}), "secret_keys": ["bench"], "log_level": "warning"}
    raw["users"] = [{"name": "anna", "role": "admin", "password_argon2": PasswordHasher().hash(PASSWORD)}]
    raw["tokens"] = [{"name": "ops", "role": "admin", "sha256": hash_token(ADMIN_TOKEN)}]
    return raw


async def stall(url: str) -> dict[str, float]:
    """How long the collector stood still while 12 logins ran at once, in seconds.

    ``burst``: a tracking hit sent right after the 12 logins; ``longest``: the longest any
    hit waited while a probe sent one every 5 ms during the logins.
    """
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        hit = {"idsite": "1", "rec": "1", "url": "http://localhost/", "send_image": "0"}
        await client.get("/matomo.php", params=hit)
        done = asyncio.Event()
        longest = 0.0

        async def timed_hit() -> float:
            began = time.perf_counter()
            response = await client.get("/matomo.php", params=hit)
            assert response.status_code < 300, response.text
            return time.perf_counter() - began

        async def probe() -> None:
            nonlocal longest
            while not done.is_set():
                longest = max(longest, await timed_hit())
                await asyncio.sleep(0.005)

        async def login(i: int) -> None:
            # Distinct names and addresses, so no throttle refuses them before the hash runs.
            await client.post(
                "/login",
                data={"name": f"user{i}", "password": PASSWORD},
                headers={"x-forwarded-for": f"198.51.100.{i + 1}"},
            )

        bursts = []
        for _ in range(3):
            logins = [asyncio.create_task(login(i)) for i in range(CONCURRENT)]
            await asyncio.sleep(0)  # the logins' requests go out first
            bursts.append(await timed_hit())
            await asyncio.gather(*logins)
        prober = asyncio.create_task(probe())
        await asyncio.sleep(0.05)
        await asyncio.gather(*(login(i) for i in range(CONCURRENT)))
        done.set()
        await prober
        return {"burst": round(max(bursts), 3), "longest": round(longest, 3)}


def guesses(url: str, same_network: bool) -> int:
    """Wrong passwords for one account checked (not refused with 429) out of 200."""
    checked = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        for i in range(GUESSES):
            network = "2001:db8:1:1" if same_network else f"2001:db8:{i // 65536:x}:{i % 65536:x}"
            address = f"{network}::{secrets.randbelow(65535) + 1:x}"
            response = client.post(
                "/login",
                data={"name": "anna", "password": f"guess {i}"},
                headers={"x-forwarded-for": address},
            )
            checked += response.status_code != 429
    return checked


def cross_site_purge(url: str) -> int:
    with httpx.Client(base_url=url, timeout=60) as client:
        login = client.post("/login", data={"token": ADMIN_TOKEN}, headers={"x-forwarded-for": "192.0.2.200"})
        assert login.status_code in (200, 303), login.text
        response = client.post(
            "/api/v1/audit/purge",
            headers={"origin": "http://www.demo.localhost:8080", "sec-fetch-site": "same-site"},
        )
        return response.status_code


def serve(work: Path, raw: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str]:
    path = work / "samtycke.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    port = free_port()
    log = work / "serve.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "samtycke", "serve", "--config", str(path), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
            env={k: v for k, v in os.environ.items() if k != "SAMTYCKE_CONFIG"},
        )
    url = f"http://127.0.0.1:{port}"
    wait_serving(process, url + "/readyz", log)
    return process, url


def main() -> None:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, run in (
            ("stall_seconds", lambda url: asyncio.run(stall(url))),
            ("guesses_checked_one_network", lambda url: guesses(url, same_network=True)),
            ("guesses_checked_rotating_networks", lambda url: guesses(url, same_network=False)),
            ("cross_site_purge_status", cross_site_purge),
        ):
            # A fresh server per figure, so one measurement's throttling does not bleed into the next.
            work = Path(tmp) / name
            work.mkdir()
            process, url = serve(work, config(work / "data"))
            try:
                results[name] = run(url)
            finally:
                stop(process)
    results["guesses_sent"] = GUESSES
    results["concurrent_logins"] = CONCURRENT
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
