"""docker-compose.yml and the Dockerfile agree with what the code expects.

No Docker engine runs here, so these read the files: the ClickHouse service the app is
pointed at must exist, speak HTTP on 8123, and have the database, user and password the
app's URL names; the app's configuration must load with that environment.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from samtycke.settings import loading as configfile
from samtycke.storage import parse_url
from tests.conftest import REPO


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


def test_the_dockerfile_installs_every_package_and_the_static_assets() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    for folder in ("samtycke", "consent", "analytics", "static"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert 'ENTRYPOINT ["samtycke"]' in dockerfile
