"""docker-compose.yml, the Dockerfile, CI and the test environment's lock agree with the code.

No Docker engine runs here, so these read the files: the ClickHouse service the app is
pointed at must exist, speak HTTP on 8123, and have the database, user and password the
app's URL names; the app's configuration must load with that environment. CI runs the
README's test command as written, and that command installs from a lock that pins every
package within the ranges pyproject.toml declares.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from samtycke.settings import loading as configfile
from samtycke.storage import parse_url
from tests.support.paths import REPO


def compose() -> dict[str, object]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def substitute(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)(:\?[^}]*)?\}", lambda m: env[m.group(1)], value)


def test_the_app_points_at_the_compose_clickhouse_with_matching_credentials() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    clickhouse, app = services["clickhouse"], services["samtycke"]
    assert clickhouse["image"].startswith("clickhouse/clickhouse-server:")
    env = {"CLICKHOUSE_PASSWORD": "pw", "SAMTYCKE_SECRET_KEYS": "k"}
    target = parse_url(substitute(app["environment"]["SAMTYCKE_CLICKHOUSE_URL"], env), "unused")
    assert (target.scheme, target.host, target.port) == ("http", "clickhouse", 8123)
    ch_env = {k: substitute(str(v), env) for k, v in clickhouse["environment"].items()}
    assert target.database == ch_env["CLICKHOUSE_DB"]
    assert target.username == ch_env["CLICKHOUSE_USER"]
    assert target.password == ch_env["CLICKHOUSE_PASSWORD"]
    assert app["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    assert "8123/ping" in " ".join(clickhouse["healthcheck"]["test"])


def test_the_compose_config_loads_with_the_compose_environment(tmp_path: Path) -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    app = services["samtycke"]
    mount = next(v for v in app["volumes"] if v.endswith("/etc/samtycke/samtycke.toml:ro"))
    config = REPO / mount.split(":")[0]
    env = {
        k: substitute(v, {"CLICKHOUSE_PASSWORD": "pw", "SAMTYCKE_SECRET_KEYS": "k1"})
        for k, v in app["environment"].items()
    }
    settings = configfile.load(config, env)
    assert settings.storage.clickhouse_url.startswith("http://samtycke:pw@clickhouse:8123/")
    assert settings.server.secret_keys == ["k1"]
    assert "/etc/samtycke/samtycke.toml" in app["command"]
    assert "--host" in app["command"] and "0.0.0.0" in app["command"], "reachable from outside the container"


def test_the_dockerfile_installs_every_package_normally_and_runs_unprivileged() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("samtycke", "consent", "analytics"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    # The packages carry their templates and browser files (tests/foundation/test_wheel.py), so
    # a normal install serves them and the top-level static/ (sources, build scripts) stays out.
    assert "COPY static" not in dockerfile
    lines = dockerfile.splitlines()
    installs = [line for line in lines if line.startswith("RUN") and re.search(r"\bpip\b.* install ", line)]
    # From the copied tree, with no extra by default: the image works against a ClickHouse
    # server and leaves the embedded engine out (--build-arg EXTRAS=embedded adds it).
    assert installs and all(line.endswith(' install ".${EXTRAS:+[$EXTRAS]}"') for line in installs)
    assert 'ARG EXTRAS=""' in lines
    # The service's virtualenv has no pip of its own; the base image's installs into it.
    assert "RUN python -m venv --without-pip /opt/samtycke" in lines
    assert all(line.startswith("RUN pip --python /opt/samtycke/bin/python install ") for line in installs)
    assert not re.search(r"pip install .*(-e|--editable)\b", dockerfile)
    user = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("root", "0"), "the service runs as a user of its own"
    assert 'ENTRYPOINT ["samtycke"]' in dockerfile


def test_the_compose_app_runs_on_a_read_only_root_with_only_its_data_writable() -> None:
    app = compose()["services"]
    assert isinstance(app, dict)
    service = app["samtycke"]
    assert service["read_only"] is True
    assert service["tmpfs"] == ["/tmp"]
    assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    home = next(line.split()[1] for line in dockerfile if line.startswith("WORKDIR /var/"))
    volumes = [v.split(":") for v in service["volumes"]]
    writable = [target for _, target, *mode in volumes if "ro" not in mode]
    assert writable == [home], "the data directory is the one writable mount"


def test_the_first_command_installs_the_embedded_engine_and_the_scanner() -> None:
    first = readme_commands()[0]
    assert first == "pip install -e '.[embedded,scan]' && samtycke serve"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert [Requirement(text).name for text in extras["embedded"]] == ["chdb"]
    assert [Requirement(text).name for text in extras["scan"]] == ["playwright"]
    # The suite needs every part, so the test extra takes in the others.
    (itself,) = [Requirement(text) for text in extras["test"] if Requirement(text).name == "samtycke"]
    assert itself.extras == set(extras) - {"test"}


def test_the_readme_names_the_install_commands_the_error_messages_name() -> None:
    """A missing Playwright, Chromium or chDB is explained with the commands the README gives."""
    from consent.scan import prerequisites
    from samtycke.storage import engine

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    messages = [prerequisites.INSTALL_ONE, prerequisites.PLAYWRIGHT_MISSING, engine.MISSING]
    commands = {command for message in messages for command in re.findall(r"`([^`]+)`", message)}
    assert commands >= {
        "apt-get install chromium",
        "python -m playwright install chromium",
        "pip install 'samtycke[scan]'",
        "pip install 'samtycke[embedded]'",
    }
    for command in commands:
        assert f"`{command}`" in readme, command


def readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "the README opens with its commands in an sh block"
    return block.group(1).strip().splitlines()


def locked() -> dict[str, str]:
    """requirements/test.lock as {canonical name: version}; every line an exact pin."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements" / "test.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[A-Za-z0-9_.\-]+", name), f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_ci_runs_exactly_the_readmes_test_command_which_installs_from_the_lock() -> None:
    test_command = readme_commands()[1]
    assert test_command.startswith("pip install -c requirements/test.lock -e '.[test]' && "), test_command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci, ".ci/run runs the README's second command as written"


def test_the_lock_pins_every_requirement_within_the_declared_ranges() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bounds = (REPO / "requirements" / "test.in").read_text(encoding="utf-8").splitlines()
    declared = [
        *project["dependencies"],
        *(text for extra in project["optional-dependencies"].values() for text in extra),
        *(line for line in bounds if line.strip() and not line.startswith("#")),
    ]
    pins = locked()
    for text in declared:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        if requirement.name == project["name"]:  # the test extra takes in the others by name
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in the lock: run requirements/refresh-lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"the lock pins {requirement.name}=={pins[name]}, outside {text!r}: run requirements/refresh-lock"
        )


def test_only_the_hosts_reverse_proxy_may_forward_addresses() -> None:
    """The port is published on loopback, and the one trusted proxy is the network's gateway.

    Docker hands every published connection to the container from the network's gateway,
    so trusting a Docker range while the port is open to all lets anyone forge
    X-Forwarded-For; on loopback only the host's own reverse proxy arrives that way.
    """
    data = compose()
    app = data["services"]["samtycke"]
    assert app["ports"] and all(str(port).startswith("127.0.0.1:") for port in app["ports"]), app["ports"]
    (network,) = data["networks"]["default"]["ipam"]["config"]
    gateway = ipaddress.ip_address(network["gateway"])
    assert gateway in ipaddress.ip_network(network["subnet"])
    env = {
        "SAMTYCKE_CLICKHOUSE_URL": "http://samtycke:pw@clickhouse:8123/samtycke",
        "SAMTYCKE_SECRET_KEYS": "k",
    }
    settings = configfile.load(REPO / "deploy" / "samtycke.toml", env)
    for trusted in map(ipaddress.ip_network, settings.server.trusted_proxies):
        assert trusted.is_loopback or list(trusted) == [gateway], f"{trusted} trusts more than the gateway"
