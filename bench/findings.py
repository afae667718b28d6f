"""The security review's measured findings, repeated on today's code: the "after" beside its "before".

    python bench/findings.py      # about a minute; writes bench/findings.json

The review measured what a few small requests did to samtycke; each figure below repeats
its measurement with the parts it named, in this process (so ``tracemalloc`` sees their
allocations):

* **cookie amplification** (review: 39.8 MB and about 160,000 ``Set-Cookie`` for 150 cookie
  names and a 150-label ``Host``; 120 headers, 11.5 KB, for 10 unknown cookies on
  ``minasidor.example.se/faktura/2026/11``): ``ConsentMiddleware`` in front of a page,
  configured with ``*.example.se`` so that the 150-label host is one it serves, then with
  the three plain names, where that host is refused;
* **decompression bomb** (review: 199 KiB of gzip became a 210 MB response and +570 MiB):
  ``samtycke proxy`` in front of an upstream that sends 200 MiB of HTML as gzip, fetched by
  a visitor who accepts gzip and by one who does not;
* **header caches** (review: 136 MiB kept after 30 requests with 4 MB ``User-Agent``,
  ``Accept-Language`` and ``Origin``): the full app with embedded ClickHouse, the same 30
  requests, and the bytes still allocated after a garbage collection;
* **flush amplification** (review: 50 reads of ``GET /api/v1/consent`` made 50 inserts into
  ``events``): the same app with shipments an hour apart, 50 tracking hits each followed
  by a read, then the inserts counted by ``/metrics``.

Logins (the event-loop stall, guessing across IPv6 addresses) and the cross-site purge are
measured against a running server by ``bench/login_abuse.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import re
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from consent.enforcement.middleware import ConsentMiddleware  # noqa: E402
from consent.enforcement.proxy import create_proxy  # noqa: E402
from samtycke.settings import Settings, loading  # noqa: E402
from samtycke.web.app import create_app  # noqa: E402
from tests.support.live import wait_ready  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

MiB = 1024 * 1024
BOMB_BYTES = 200 * MiB
DOMAINS = ["example.se", "www.example.se", "minasidor.example.se"]
HIT = {"idsite": "1", "rec": "1", "url": "http://localhost/", "_id": "0123456789abcdef"}
CHOICE: dict[str, Any] = {
    "site_id": 1,
    "decisions": {"preferences": False, "statistics": True, "marketing": False},
    "method": "custom",
    "notice_version": "2026-11-01",
    "lang": "sv",
}


def settings_in(data_dir: Path, **site: Any) -> Settings:
    raw = loading.demo_config()
    raw["storage"] = {
        "clickhouse_url": f"chdb://{data_dir / 'chdb'}",
        "database": f"f_{uuid.uuid4().hex[:8]}",
        "data_dir": str(data_dir / "data"),
    }
    raw["server"] = {**raw.get("server", {}), "secret_keys": ["bench"], "log_level": "warning"}
    raw["sites"][0].update(site)
    return loading.from_mapping(raw)


def cookies(count: int) -> str:
    return "; ".join(f"okand_{n:03d}=v{n}" for n in range(count))


def set_cookies(response: httpx.Response) -> dict[str, int]:
    headers = response.headers.get_list("set-cookie")
    return {"status": response.status_code, "set_cookie": len(headers), "bytes": sum(map(len, headers))}


def amplification(data_dir: Path) -> dict[str, Any]:
    long_host = "a." * 150 + "example.se"
    page = PlainTextResponse("sida")
    logs = LineCounter("samtycke.enforcement")

    def middleware(domains: list[str]) -> TestClient:
        settings = settings_in(data_dir, domains=domains, cookie_paths=[])
        return TestClient(ConsentMiddleware(page, settings, 1), base_url="http://example.se")

    wildcard = middleware(["*.example.se"])
    with logs:
        long = wildcard.get("/x" * 50, headers={"Host": long_host, "Cookie": cookies(150)})
    plain = middleware(DOMAINS)
    refused = plain.get("/", headers={"Host": long_host, "Cookie": cookies(150)})
    deep = plain.get("/faktura/2026/11", headers={"Host": "minasidor.example.se", "Cookie": cookies(10)})
    # The browser sends the cookies it still has: those not expired yet, until none is left.
    fresh = middleware(DOMAINS)
    responses = 0
    jar = {f"okand_{n:03d}": f"v{n}" for n in range(150)}
    while jar and responses < 20:
        sent = "; ".join(f"{k}={v}" for k, v in jar.items())
        answer = fresh.get("/", headers={"Host": "www.example.se", "Cookie": sent})
        for header in answer.headers.get_list("set-cookie"):
            jar.pop(header.partition("=")[0], None)
        responses += 1
    left = len(jar)
    return {
        "150 names, 150-label host under *.example.se, 50-segment path": {
            **set_cookies(long),
            "log_lines": logs.lines,
        },
        "150 names, 150-label host not configured": set_cookies(refused),
        "10 unknown cookies on minasidor.example.se/faktura/2026/11": set_cookies(deep),
        "responses until 150 cookies are all expired": {"responses": responses, "left": left},
    }


class LineCounter(logging.Handler):
    """Counts the log lines of one logger while in its block."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(name)
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1

    def __enter__(self) -> LineCounter:
        self.logger.addHandler(self)
        self.level_before = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level_before)


def gzip_bomb() -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflate.compress(b"<!doctype html><html><head><title>bomb</title></head><body>")]
    spaces = b" " * MiB
    parts += [deflate.compress(spaces) for _ in range(BOMB_BYTES // MiB)]
    return b"".join([*parts, deflate.flush()])


class Serving:
    """uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port("127.0.0.1")
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def rss() -> int:
    status = Path("/proc/self/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) * 1024 if found else 0


def bomb(data_dir: Path) -> dict[str, Any]:
    body = gzip_bomb()

    async def page(request: Request) -> Response:
        return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})

    upstream_app = Starlette(routes=[Route("/bomb", page)])
    out: dict[str, Any] = {"gzip_bytes": len(body), "inflated_bytes": BOMB_BYTES}
    settings = settings_in(data_dir, domains=["127.0.0.1", "localhost"])
    with Serving(upstream_app) as upstream, Serving(create_proxy(settings, upstream, 1)) as proxy:
        for accept in ("gzip", "identity"):
            gc.collect()
            start_rss, peak_rss, size = rss(), rss(), 0
            tracemalloc.start()
            with httpx.stream("GET", proxy + "/bomb", headers={"Accept-Encoding": accept}, timeout=300) as r:
                coding = r.headers.get("content-encoding", "identity")
                for chunk in r.iter_raw():
                    size += len(chunk)
                    peak_rss = max(peak_rss, rss())
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out[f"visitor accepts {accept}"] = {
                "response_bytes": size,
                "content_encoding": coding,
                "python_peak_MiB": round(peak / MiB, 1),
                "rss_growth_MiB": round((peak_rss - start_rss) / MiB, 1),
            }
    return out


def retained(action: Callable[[], None]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        action()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def long_values(count: int, length: int) -> Iterator[str]:
    for n in range(count):
        yield (f"{n}-" + "x" * length)[:length]


def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        wait_ready(client, timeout=180)
        yield client


def header_caches(data_dir: Path) -> dict[str, Any]:
    statuses: dict[int, int] = {}

    def thirty(client: TestClient, length: int) -> Callable[[], None]:
        def send() -> None:
            for n, value in enumerate(long_values(30, length)):
                if n % 3 == 0:
                    r = client.get("/matomo.php", params=HIT, headers={"user-agent": value})
                elif n % 3 == 1:
                    r = client.get("/matomo.php", params=HIT, headers={"accept-language": "sv-" + value})
                else:
                    r = client.get(
                        "/api/v1/sites/1/consent-config", headers={"origin": f"https://{value}.se"}
                    )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        return send

    settings = settings_in(data_dir)
    for client in app_client(settings):
        huge = retained(thirty(client, 4 * MiB))
        huge_statuses = dict(statuses)
        statuses.clear()
        within = retained(thirty(client, 7 * 1024))  # each within the 8 KiB line limit: served
        return {
            "30 requests, 4 MB headers": {"retained_MiB": round(huge / MiB, 2), "statuses": huge_statuses},
            "30 requests, 7 KB headers": {"retained_MiB": round(within / MiB, 2), "statuses": dict(statuses)},
        }
    raise AssertionError("the app did not start")


def inserts(client: TestClient, table: str) -> int:
    found = re.search(rf'samtycke_ship_seconds_count\{{table="{table}"\}} (\S+)', client.get("/metrics").text)
    return int(float(found.group(1))) if found else 0


def flush_amplification(data_dir: Path) -> dict[str, Any]:
    usual = settings_in(data_dir)
    settings = dataclasses.replace(
        usual,
        journal=dataclasses.replace(usual.journal, ship_interval=3600.0),
        consent=dataclasses.replace(usual.consent, checkpoint_interval=3600.0),
    )
    for client in app_client(settings):
        assert client.post("/api/v1/consent", json=CHOICE).status_code == 201
        services = client.app.state.services  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(services.shipper.ship)
        before = inserts(client, "events")
        for n in range(50):
            client.get("/matomo.php", params={**HIT, "url": f"http://localhost/read-{n}"})
            assert client.get("/api/v1/consent").status_code == 200
        made = inserts(client, "events") - before
        client.portal.call(services.shipper.ship)
        return {
            "reads": 50,
            "inserts_into_events": made,
            "after_one_scheduled_shipment": inserts(client, "events") - before,
        }
    raise AssertionError("the app did not start")


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="samtycke-findings-") as tmp:
        base = Path(tmp)
        for name, measure in (
            ("cookie amplification", amplification),
            ("decompression bomb", bomb),
            ("header caches", header_caches),
            ("flush amplification", flush_amplification),
        ):
            folder = base / name.replace(" ", "-")
            folder.mkdir()
            started = time.monotonic()
            figures[name] = measure(folder)
            print(f"{name}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    text = json.dumps(figures, indent=2)
    (Path(__file__).parent / "findings.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
