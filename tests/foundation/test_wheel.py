"""A wheel install serves what a source checkout does, with its extras and without them.

The wheel is built from exactly what the Dockerfile copies (the three packages, pyproject.toml
and README.md), installed, not editable, into a fresh virtualenv, and run as ``samtycke serve``
from a folder outside the repository: every template and browser file must come from the
installed packages.  Third-party dependencies come from the running environment, added to
the new one's path as a plain folder, so the editable samtycke installed there stays out.

A second virtualenv gets the same wheel without the extras, as the Docker image has it: its
dependency folder links every package of the running environment but chDB and Playwright.
It serves against a ClickHouse server (the HTTP fixture), and says what to install when it
is asked for the embedded engine or a scan.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w
from packaging.requirements import Requirement

from tests.consent.helpers import choice
from tests.support.config import demo_raw
from tests.support.live import stop, wait_serving
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.terminal import Finished, piped
from tests.support.tokens import MARKETER, token_entries

PACKAGES = ("samtycke", "consent", "analytics")
SOURCES = ("pyproject.toml", "README.md", *PACKAGES)
# The folders whose files are served under /static/, in the repository.
STATIC_FOLDERS = (
    REPO / "samtycke" / "web" / "static",
    REPO / "consent" / "web" / "static",
    REPO / "analytics" / "ingestion" / "static",
    REPO / "analytics" / "dashboard" / "static",
)


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    argv = [str(part) for part in command]
    result = subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def clean_env() -> dict[str, str]:
    drop = {"SAMTYCKE_CONFIG", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH"}
    return {key: value for key, value in os.environ.items() if key not in drop}


def build_requirements_met() -> bool:
    """Whether the running environment can build the wheel itself (no download of setuptools)."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for text in pyproject["build-system"]["requires"]:
        requirement = Requirement(text)
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


def package_files() -> dict[str, Path]:
    """Every file the packages hold besides Python code, by its path inside the wheel."""
    files: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".py", ".pyc"):
                files[path.relative_to(REPO).as_posix()] = path
    return files


@dataclass
class Install:
    root: Path  # a folder outside the repository, holding all of the below
    venv: Path
    site_packages: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def outside(self) -> Path:
        path = self.root / "elsewhere"
        path.mkdir(exist_ok=True)
        return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO.resolve()), "the install must not sit in the repository"
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)

    isolation = ["--no-build-isolation"] if build_requirements_met() else []
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", root / "dist", source, cwd=root)
    (built,) = (root / "dist").glob("samtycke-*.whl")
    return built


def install_wheel(built: Path, root: Path, dependencies: list[str]) -> Install:
    """``built`` in a fresh virtualenv under ``root``, its third-party packages from ``dependencies``."""
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    run(*pip, "install", "--no-deps", "--no-index", built, cwd=root)
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    # A path line in a .pth file adds the folder only: the .pth files in it (the editable
    # install's finder among them) are not run, so samtycke itself comes from this venv alone.
    (site_packages / "dependencies.pth").write_text("\n".join(dependencies) + "\n", encoding="utf-8")
    return Install(root=root, venv=venv, site_packages=site_packages)


def running_environment() -> list[str]:
    return list(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))


@pytest.fixture(scope="module")
def install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Install:
    """The wheel with every dependency and extra, as the README's first command installs it."""
    return install_wheel(wheel, tmp_path_factory.mktemp("full"), running_environment())


# What the extras add (with their import names and metadata), left out of the plain install.
EXTRAS_ONLY = re.compile(r"(chdb|chdb_core|adbc_driver_chdb|playwright)([-.].*)?")


@pytest.fixture(scope="module")
def plain_install(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Install:
    """The wheel without extras (``pip install samtycke``), as the Docker image installs it."""
    root = tmp_path_factory.mktemp("plain")
    dependencies = root / "dependencies"
    dependencies.mkdir()
    for folder in running_environment():
        for entry in Path(folder).iterdir():
            own = entry.name.startswith(("samtycke", "__editable__"))
            if not own and not EXTRAS_ONLY.fullmatch(entry.name) and not (dependencies / entry.name).exists():
                (dependencies / entry.name).symlink_to(entry)
    return install_wheel(wheel, root, [str(dependencies)])


@pytest.mark.slow
def test_the_packages_are_imported_from_the_install(install: Install) -> None:
    out = run(
        install.python,
        "-c",
        "import samtycke, consent, analytics; print(samtycke.__file__, consent.__file__, analytics.__file__)",
        cwd=install.outside,
    )
    for module_file in out.split():
        assert Path(module_file).resolve().is_relative_to(install.site_packages.resolve()), out


@pytest.mark.slow
def test_the_wheel_holds_every_template_asset_and_configuration(install: Install) -> None:
    files = package_files()
    for must in (
        "consent/web/static/banner.js",
        "analytics/ingestion/static/matomo.js",
        "analytics/dashboard/static/dashboard/dashboard.js",
        "analytics/dashboard/static/dashboard/funnel.js",
        "analytics/dashboard/static/dashboard/vendor/uplot.js",
        "samtycke/web/static/site.css",
        "samtycke/web/demo/demo.html",
        "samtycke/web/templates/layout.html",
        "consent/web/templates/policy.html",
        "analytics/dashboard/templates/dashboard.html",
        "samtycke/settings/demo/demo.toml",
    ):
        assert must in files
    for name, path in files.items():
        installed = install.site_packages / name
        assert installed.is_file(), f"{name} is not in the wheel"
        assert installed.read_bytes() == path.read_bytes(), name


# Runs a command in a mount namespace of its own where everything is read-only but the folder
# given first, as a container with a read-only root and a data volume (docker-compose.yml).
READ_ONLY_ROOT = [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount --bind "$1" "$1" && mount -o remount,bind,ro / && shift && exec "$@"',
    "read-only-root",
]


@contextlib.contextmanager
def serving(install: Install, name: str, *, read_only_root: bool = False, **storage: str) -> Iterator[str]:
    """``samtycke serve`` from the install, its console script, run from outside the repository.

    Its data directory is ``install.root / name`` and its log ``name.log`` beside it (each
    storage needs a data directory of its own: the consent log's checkpoint is kept there).
    With ``read_only_root`` it may write to its data directory alone.
    """
    data_dir = install.root / name
    data_dir.mkdir(exist_ok=True)
    wrapper = [*READ_ONLY_ROOT, str(data_dir)] if read_only_root else []
    raw = demo_raw(
        storage={"data_dir": str(data_dir), **storage},
        server={"secret_keys": ["wheel-test-key"]},
        tokens=token_entries("marketer"),
    )
    config = install.root / f"{name}.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = install.root / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                *wrapper,
                str(install.venv / "bin" / "samtycke"),
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            cwd=install.outside,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_serving(process, url + "/readyz", log_path, timeout=90, interval=0.2)
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def served(install: Install) -> Iterator[str]:
    with serving(install, "embedded") as url:
        yield url


def repository_file(static_path: str) -> Path:
    """The repository's file behind a ``/static/...`` URL."""
    relative = static_path.removeprefix("/static/")
    found = [folder / relative for folder in STATIC_FOLDERS if (folder / relative).is_file()]
    assert len(found) == 1, f"{static_path} should be in exactly one static folder: {found}"
    return found[0]


def static_links(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.slow
def test_the_installed_service_serves_the_scripts(served: str) -> None:
    banner = REPO / "static" / "banner.js"
    for path, built in (
        ("/banner.js", banner),
        ("/static/banner.js", banner),  # where the enforcement proxy fetches it
        ("/matomo.js", REPO / "analytics" / "ingestion" / "static" / "matomo.js"),
        ("/piwik.js", REPO / "analytics" / "ingestion" / "static" / "matomo.js"),
    ):
        response = httpx.get(served + path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/javascript"), path
        assert response.content == built.read_bytes(), path


@pytest.mark.slow
def test_the_installed_service_serves_the_dashboard_and_its_files(served: str) -> None:
    page = httpx.get(served + "/dashboard", headers=MARKETER)
    assert page.status_code == 200, page.text
    links = static_links(page.text)
    assert "/static/dashboard/dashboard.js" in links and "/static/site.css" in links, links
    for link in links:
        response = httpx.get(served + link)
        assert response.status_code == 200, link
        assert response.content == repository_file(link).read_bytes(), link


@pytest.mark.slow
def test_the_installed_service_serves_the_demo_and_the_policy(served: str) -> None:
    demo = httpx.get(served + "/demo")
    assert demo.status_code == 200, demo.text
    nonce = re.search(r"'nonce-([^']+)'", demo.headers["content-security-policy"])
    assert nonce, demo.headers["content-security-policy"]
    source = (REPO / "samtycke" / "web" / "demo" / "demo.html").read_text(encoding="utf-8")
    assert demo.text == source.replace("{{nonce}}", nonce.group(1))
    for path in ("/demo/embed?kind=video", "/demo/tracker"):
        assert httpx.get(served + path).status_code == 200, path

    policy = httpx.get(served + "/sites/1/policy")
    assert policy.status_code == 200, policy.text
    assert policy.headers["content-type"].startswith("text/html")
    assert "Demo Energi AB" in policy.text
    for link in static_links(policy.text):
        response = httpx.get(served + link)
        assert response.status_code == 200 and response.content == repository_file(link).read_bytes(), link


def test_the_repository_keeps_static_banner_js_as_a_link_to_the_built_banner() -> None:
    link = REPO / "static" / "banner.js"
    assert link.is_symlink(), "static/banner.js links to the file the consent package serves"
    assert os.readlink(link) == "../consent/web/static/banner.js"
    assert link.resolve() == (REPO / "consent" / "web" / "static" / "banner.js").resolve()


def samtycke(install: Install, *args: str | Path, env: dict[str, str] | None = None) -> Finished:
    """The install's console script, run from outside the repository with its output piped."""
    return piped([install.venv / "bin" / "samtycke", *args], env=env or clean_env(), cwd=install.outside)


@pytest.mark.slow
def test_a_plain_install_has_neither_extra(plain_install: Install) -> None:
    out = run(
        plain_install.python,
        "-c",
        "import importlib.util as u, samtycke; print(samtycke.__file__, "
        "u.find_spec('chdb'), u.find_spec('playwright'), u.find_spec('starlette') is not None)",
        cwd=plain_install.outside,
    )
    module_file, chdb, playwright, starlette = out.split()
    assert Path(module_file).resolve().is_relative_to(plain_install.site_packages.resolve())
    assert (chdb, playwright, starlette) == ("None", "None", "True")


@pytest.mark.slow
def test_a_plain_install_serves_against_a_clickhouse_server(
    plain_install: Install, clickhouse_http: Any
) -> None:
    with serving(plain_install, "server", clickhouse_url=f"{clickhouse_http.url}/plain") as url:
        assert httpx.get(url + "/dashboard", headers=MARKETER).status_code == 200
        hit = httpx.get(url + "/matomo.php", params={"idsite": 1, "rec": 1, "url": "http://localhost/"})
        assert hit.status_code in (200, 204), hit.text
    log = (plain_install.root / "server.log").read_text(encoding="utf-8")
    assert "samtycke: ClickHouse server at http://127.0.0.1" in log, log


@pytest.mark.slow
def test_a_plain_install_runs_on_a_read_only_root_writing_only_its_data_directory(
    plain_install: Install, clickhouse_http: Any
) -> None:
    readonly = f"{clickhouse_http.url}/readonly"
    with serving(plain_install, "read-only", read_only_root=True, clickhouse_url=readonly) as url:
        recorded = httpx.post(url + "/api/v1/consent", json=choice(), headers={"origin": url})
        assert recorded.status_code == 201, recorded.text[:500]
        hit = httpx.get(url + "/matomo.php", params={"idsite": 1, "rec": 1, "url": "http://localhost/"})
        assert hit.status_code in (200, 204), hit.text
        assert httpx.get(url + "/readyz").status_code == 200
    log = (plain_install.root / "read-only.log").read_text(encoding="utf-8")
    assert "Read-only file system" not in log and "Traceback" not in log, log
    written = {path.name for path in (plain_install.root / "read-only").iterdir()}
    assert "journal" in written, written


@pytest.mark.slow
def test_a_plain_install_asked_for_the_embedded_engine_says_what_to_install(plain_install: Install) -> None:
    demo = {k: v for k, v in clean_env().items() if k != "SAMTYCKE_CLICKHOUSE_URL"}
    explicit = demo | {"SAMTYCKE_CLICKHOUSE_URL": f"chdb://{plain_install.root / 'ch'}"}
    for args, env in (
        (("serve", "--port", str(free_port())), demo),  # the built-in demo: embedded by default
        (("migrate",), explicit),
        (("visitor", "export", "0123456789abcdef", "--site", "1"), explicit),
    ):
        done = samtycke(plain_install, *args, env=env)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("The embedded ClickHouse (chDB) is not installed"), done.stderr
        assert "`pip install 'samtycke[embedded]'`" in done.stderr
        assert "SAMTYCKE_CLICKHOUSE_URL" in done.stderr
    assert not (plain_install.outside / "samtycke-data" / "clickhouse").exists()


@pytest.mark.slow
def test_a_plain_install_asked_to_scan_says_what_to_install(plain_install: Install) -> None:
    done = samtycke(plain_install, "scan", "http://127.0.0.1:1/")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(
        "samtycke scan needs Playwright, which the scan extra installs: `pip install 'samtycke[scan]'`"
    )
    assert "apt-get install chromium" in done.stderr


@pytest.mark.slow
@pytest.mark.browser
def test_the_full_install_scans_a_site(install: Install, served: str) -> None:
    report = install.root / "scan.json"
    done = samtycke(install, "scan", served + "/demo", "--pages", "1", "--json", report)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr.endswith(" warning(s)\n") and done.stderr.count("\n") == 1, done.stderr
    scenarios = [s["name"] for s in json.loads(report.read_text(encoding="utf-8"))["scenarios"]]
    assert scenarios[:2] == ["before-choice", "reject-all"] and len(scenarios) > 2, scenarios
