"""The smaller hardening rules: config names in DDL, CSV cells, /static, CORS, page headers,
the data directory's permissions and erasure of quarantined journal segments, and the
Docker deployment's trusted proxies.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from analytics.ingestion.pipeline import SitePolicy
from analytics.ingestion.salts import identified_hash
from analytics.schema import EVENTS
from samtycke import csvcells
from samtycke.journal import Record, quarantine, record, segment
from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.settings.loading import ConfigError
from samtycke.web.app import create_app
from tests.analytics.conftest import shipped
from tests.consent.helpers import choice
from tests.support.config import demo_raw
from tests.support.live import wait_ready
from tests.support.paths import REPO
from tests.support.tokens import ADMIN, MARKETER, TOKENS

# -- names written into DDL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"storage": {"cluster": "c` ON CLUSTER `x"}}, "storage.cluster"),
        ({"storage": {"cluster": "c; DROP DATABASE samtycke"}}, "storage.cluster"),
        ({"storage": {"database": "samtycke`.`events"}}, "storage.database"),
        ({"storage": {"database": ""}}, "storage.database"),
        ({"storage": {"clickhouse_url": "http://ch:8123/db`x"}}, "storage.clickhouse_url"),
    ],
)
def test_names_in_ddl_must_be_plain_clickhouse_names(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(demo_raw(**overrides))
    assert error.value.key == key
    assert "ClickHouse name" in error.value.message


@pytest.mark.parametrize("cluster", ["", "analytics", "prod_cluster-2"])
def test_plain_cluster_names_load(cluster: str) -> None:
    settings = configfile.from_mapping(demo_raw(storage={"cluster": cluster}))
    assert settings.storage.cluster == cluster


# -- /static serves files, never the demo pages --------------------------------------------------------


@pytest.mark.parametrize("demo", [True, False])
def test_static_never_serves_the_demo_pages(make_settings: Callable[..., Settings], demo: bool) -> None:
    client = TestClient(create_app(make_settings(server={"demo": demo})))
    for name in ("demo.html", "demo-embed.html", "tracker-demo.html"):
        assert client.get(f"/static/{name}").status_code == 404, name
    assert client.get("/static/site.css").status_code == 200
    assert client.get("/demo").status_code == (200 if demo else 404)


# -- CSV exports: no cell runs as a formula -----------------------------------------------------------

PACKAGES = ("samtycke", "consent", "analytics")
FORMULAS = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_cell_that_starts_a_formula_gets_an_apostrophe(cell: str) -> None:
    assert csvcells.text(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-3", "+1.5e3", "-0.25", 42, -7, 1.5, "plain", "a=b"])
def test_numbers_and_plain_text_stay_as_they_are(cell: object) -> None:
    assert csvcells.text(cell) == str(cell)


def test_every_csv_export_writes_its_cells_through_csvcells() -> None:
    """Every module that writes CSV (with the csv module or its own row function) escapes its cells."""
    writer = re.compile(r"^import csv$|^def _?csv_\w+\(", re.M)
    sources = {
        path: path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
    }
    writers = sorted(
        path.relative_to(REPO).as_posix() for path, text in sources.items() if writer.search(text)
    )
    assert writers == ["analytics/stats/runner.py", "consent/web/audit.py"]
    for name in writers:
        assert "csvcells.text(" in sources[REPO / name], f"{name} writes raw CSV cells"


def test_the_stats_csv_export_escapes_visitor_controlled_text(make_settings: Callable[..., Settings]) -> None:
    now = datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
    app = create_app(make_settings(tokens=TOKENS), now=lambda: now)
    with TestClient(app, base_url="http://localhost") as client:
        wait_ready(client)
        for category in FORMULAS:
            tracked = client.get(
                "/matomo.php",
                params={"idsite": 1, "rec": 1, "url": "http://localhost/", "e_c": category, "e_a": "x"},
                headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"},
            )
            assert tracked.status_code == 200
        shipped(client)
        answer = client.post(
            "/api/v1/stats/query",
            json={
                "site_id": 1,
                "metrics": ["events"],
                "date_range": ["2026-10-15", "2026-10-15"],
                "dimensions": ["event:category", "event:action"],
            },
            headers={**MARKETER, "Accept": "text/csv"},
        )
    assert answer.status_code == 200, answer.text
    names = {(row[0], row[1]) for row in list(csv.reader(io.StringIO(answer.text)))[1:]}
    assert names == {(f"'{category}", "x") for category in FORMULAS}


def test_the_dashboard_csv_download_escapes_formulas_as_the_server_does() -> None:
    script = (REPO / "analytics/dashboard/static/dashboard/dashboard.js").read_text(encoding="utf-8")
    function = re.search(r"  function csvText\(header, rows\) \{\n.*?\n  \}\n", script, re.S)
    assert function is not None, "dashboard.js has no csvText function"
    cells = [*FORMULAS, "-3", "+1.5e3", "plain"]
    program = function.group(0) + f"process.stdout.write(csvText([], [[{json.dumps(cells)[1:-1]}]]));"
    node = shutil.which("node")
    assert node, "this test runs the dashboard's CSV function in node"
    out = subprocess.run([node, "-e", program], capture_output=True, check=True).stdout.decode()
    header, written = csv.reader(io.StringIO(out, newline=""))
    assert header == []
    assert written == [csvcells.text(cell) for cell in cells]


# -- CORS: the sites' own pages, by the collector's rule for their domains -----------------------------


def test_cors_answers_pages_on_the_sites_domains_by_the_collectors_rule(
    make_settings: Callable[..., Settings],
) -> None:
    sites = demo_raw()["sites"]
    sites[0]["domains"] = ["exempel.se", "*.exempel.se"]
    settings = make_settings(sites=sites)
    client = TestClient(create_app(settings), base_url="http://consent.samtycke.test")
    allowed = ["https://exempel.se", "https://shop.exempel.se", "http://www.shop.exempel.se:8080"]
    refused = ["https://exempel.se.evil.test", "https://evilexempel.se", "https://localhost"]

    def answers(origin: str) -> list[str | None]:
        headers = {"origin": origin, "access-control-request-method": "POST"}
        preflights = [client.options(path, headers=headers) for path in ("/matomo.php", "/api/v1/consent")]
        note = client.get("/matomo.php", headers={"origin": origin})  # an actual request's answer
        return [r.headers.get("access-control-allow-origin") for r in (*preflights, note)]

    collector = SitePolicy.of(settings.sites[0])
    for origin in allowed:
        assert answers(origin) == [origin] * 3, origin
        assert collector.owns(urlsplit(origin).hostname or ""), "hits from the same page are counted"
    for origin in [*refused, "null"]:
        assert answers(origin) == [None] * 3, origin
    for origin in refused:
        assert not collector.owns(urlsplit(origin).hostname or "")
    own = client.get("/matomo.php", headers={"origin": "https://consent.samtycke.test"})
    assert own.headers["access-control-allow-credentials"] == "true"


# -- security headers on every page -------------------------------------------------------------------


def page_paths(app: Starlette) -> list[str]:
    """Every GET route of the app, with its path parameters filled in for site 1."""
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and route.methods and "GET" in route.methods:
            paths.append(route.path.replace("{site_id}", "1").replace("{visitor_id}", "v"))
    return [path for path in paths if "{" not in path]


def test_every_html_page_has_a_strict_policy_with_a_fresh_nonce(client: TestClient) -> None:
    browser = {"accept": "text/html", **MARKETER}
    pages = {}
    for path in [*page_paths(client.app), "/no-such-page"]:  # type: ignore[arg-type]
        response = client.get(path, headers=browser, follow_redirects=False)
        assert response.headers["x-content-type-options"] == "nosniff", path
        if response.headers.get("content-type", "").startswith("text/html"):
            pages[path] = response
    assert {"/", "/login", "/sites/1/cookies", "/sites/1/policy", "/demo", "/no-such-page"} <= set(pages)
    for path, response in pages.items():
        csp = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        nonce = re.search(r"'nonce-([^']+)'", directives["script-src"])
        assert nonce and directives["script-src"] == f"'self' 'nonce-{nonce[1]}'", path
        assert directives["style-src"] == f"'self' 'nonce-{nonce[1]}'", path
        assert "unsafe" not in csp, path
        assert directives["frame-ancestors"] == "'self'" and directives["object-src"] == "'none'", path
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        again = client.get(path, headers=browser, follow_redirects=False)
        assert again.headers["content-security-policy"] != csp, f"{path}: a nonce is used once"
    demo = pages["/demo"]
    nonce = re.search(r"'nonce-([^']+)'", demo.headers["content-security-policy"])
    assert nonce and f'<script nonce="{nonce[1]}">' in demo.text, "the demo's inline scripts carry its nonce"


# -- the data directory is private, and erasure reaches quarantined segments ----------------------------


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[path.relative_to(root).as_posix()] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_the_data_directory_is_private_and_an_old_one_is_tightened(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(tokens=TOKENS)
    data_dir = Path(settings.storage.data_dir)
    previous = os.umask(0o022)  # the usual umask: new files 0644, new folders 0755
    try:
        (data_dir / "journal" / "lane-0").mkdir(parents=True, mode=0o755)
        data_dir.chmod(0o755)
        (data_dir / "journal" / "lane-0" / "SEQ").write_text("0")  # as an earlier version left it
        with TestClient(create_app(settings), base_url="http://localhost") as client:
            wait_ready(client)
            assert client.post("/api/v1/consent", json=choice()).status_code == 201
            tracked = client.get("/matomo.php", params={"idsite": 1, "rec": 1, "url": "http://localhost/"})
            assert tracked.status_code == 200
            shipped(client)
            kept = quarantine.keep(client.app.state.services.journal.root, "rejected.seg", b"")  # type: ignore[attr-defined]
            found = modes(data_dir)
    finally:
        os.umask(previous)
    assert kept.relative_to(data_dir).as_posix() in found
    assert {"consent-keys", "journal/lane-0/LOCK", "consent-log.lock", "consent-log.checkpoint"} <= set(found)
    loose = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert loose == {}, "readable by other local users"
    assert {oct(mode) for name, mode in found.items() if (data_dir / name).is_dir()} == {"0o700"}
    assert {oct(mode) for name, mode in found.items() if (data_dir / name).is_file()} == {"0o600"}


@pytest.fixture
def admin_client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tokens=TOKENS)), base_url="http://localhost") as client:
        wait_ready(client)
        yield client


def test_a_visitors_erasure_reaches_quarantined_segments(admin_client: TestClient) -> None:
    client = admin_client
    services = client.app.state.services  # type: ignore[attr-defined]

    def event(visitor: str, identified: int = 1) -> Record:
        return record(
            EVENTS, {"site_id": 1, "visitor_id": identified_hash(1, visitor), "identified": identified}
        )

    rejected = [event("erase-me"), event("someone-else"), event("erase-me", identified=0), event("erase-me")]
    receipt = record("consent_log", {"idx": 7, "entry": "{}"})
    kept = quarantine.keep(services.journal.root, "lane-x-000001.seg", segment.encode([*rejected, receipt]))
    answer = client.delete("/api/v1/visitors/erase-me", params={"site_id": 1}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["deleted"] == 2
    tables, rows, _ = segment.scan(kept.read_bytes())
    assert tables == [EVENTS, EVENTS, "consent_log"]
    assert rows == [event("someone-else").row, rejected[2].row, receipt.row], (
        "only the visitor's identified events go"
    )
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    only = quarantine.keep(services.journal.root, "lane-x-000002.seg", segment.encode([event("erase-me")]))
    assert (
        client.delete("/api/v1/visitors/erase-me", params={"site_id": 1}, headers=ADMIN).json()["deleted"]
        == 1
    )
    assert not only.exists(), "a segment left empty is removed"
