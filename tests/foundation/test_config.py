"""Configuration: declared once, documented, strict, with errors that name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from samtycke.settings import loading as configfile
from samtycke.settings.loading import ConfigError
from samtycke.settings.table import markdown_table, rows
from tests.support.config import demo_raw
from tests.support.paths import REPO


def test_every_setting_has_help_text() -> None:
    missing = [row.key for row in rows() if len(row.help) < 10]
    assert missing == []


def test_the_readme_documents_every_setting_exactly_as_declared() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "regenerate with: samtycke settings --update-readme README.md"


def test_the_contract_keys_from_the_docs_load(tmp_path: Path) -> None:
    path = tmp_path / "samtycke.toml"
    path.write_text(
        """
[storage]
clickhouse_url = "chdb:///var/lib/samtycke/clickhouse"
data_dir = "/var/lib/samtycke"

[server]
trusted_proxies = ["127.0.0.1/32"]
secret_keys = ["old-key", "new-key"]

[[sites]]
id = 1
name = "Norrenergi"
domains = ["norrenergi.se", "www.norrenergi.se"]

[[sites.cookies]]
name = "_pk_id\\\\..*"
regex = true
category = "statistics"
provider = "Matomo (first party)"
purpose = "Distinguishes visits for anonymous statistics"
lifetime = "13 months"
party = "first"
domain = "example.se"
justification = ""

[[tokens]]
name = "marketing team"
role = "marketer"
sha256 = "3b5d5c3712955042212316173ccf37be800c1ba6fc8e4b6b5c8a1a1c2e5d2a4f"
""",
        encoding="utf-8",
    )
    settings = configfile.load(path, {})
    assert settings.server.secret_keys == ["old-key", "new-key"]
    assert settings.sites[0].cookies[0].name == r"_pk_id\..*"
    assert settings.tokens[0].role == "marketer"


def test_environment_overrides_secrets_and_url() -> None:
    settings = configfile.load(
        None, {"SAMTYCKE_CLICKHOUSE_URL": "http://u:p@ch:8123/db", "SAMTYCKE_SECRET_KEYS": "a, b"}
    )
    assert settings.storage.clickhouse_url == "http://u:p@ch:8123/db"
    assert settings.server.secret_keys == ["a", "b"]
    assert "u:p" not in repr(settings) and "'a'" not in repr(settings), "secrets stay out of reprs"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"storage": {"bogus": 1}}, "storage.bogus"),
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"storage": {"clickhouse_url": "mysql://x"}}, "storage.clickhouse_url"),
        ({"storage": {"clickhouse_url": "chdb://relative/path"}}, "storage.clickhouse_url"),
        ({"analytics": {"ip_mask_level": 7}}, "analytics.ip_mask_level"),
        ({"server": {"trusted_proxies": ["not-a-network"]}}, "server.trusted_proxies[0]"),
        ({"tokens": [{"name": "x", "role": "marketer", "sha256": "plain-token"}]}, "tokens[0].sha256"),
        ({"tokens": [{"name": "x", "role": "boss", "sha256": "0" * 64}]}, "tokens[0].role"),
    ],
)
def test_bad_values_name_their_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(demo_raw(**overrides))
    assert error.value.key == key


def test_site_rules_name_their_key() -> None:
    raw = demo_raw()
    raw["sites"][0]["cookies"].append({"name": "x", "category": "necessary"})
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(raw)
    assert error.value.key.endswith(".justification")
    raw = demo_raw()
    raw["sites"][0]["timezone"] = "Mars/Olympus"
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(raw)
    assert error.value.key == "sites[0].timezone"
    raw = demo_raw()
    raw["sites"][0]["cookie_paths"] = ["/demo/embed", "shop; Domain=evil.example"]
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(raw)
    assert error.value.key == "sites[0].cookie_paths[1]"


@pytest.mark.parametrize(
    ("dimensions", "key"),
    [
        ([{"id": 0, "name": "Plan"}], "sites[0].dimensions[0].id"),
        ([{"id": 1000, "name": "Plan"}], "sites[0].dimensions[0].id"),
        ([{"id": 1, "name": "Plan"}, {"id": 1, "name": "Ämne"}], "sites[0].dimensions[1].id"),
        ([{"id": 1, "name": "Plan"}, {"id": 2, "name": "plan"}], "sites[0].dimensions[1].name"),
        ([{"id": 1, "name": "12"}], "sites[0].dimensions[0].name"),
        ([{"id": 1, "name": "a:b"}], "sites[0].dimensions[0].name"),
        ([{"id": 1, "name": "Plan", "scope": "page"}], "sites[0].dimensions[0].scope"),
        ([{"id": 1}], "sites[0].dimensions[0].name"),
    ],
)
def test_custom_dimension_declarations_are_checked(dimensions: list[dict[str, object]], key: str) -> None:
    raw = demo_raw()
    raw["sites"][0]["dimensions"] = dimensions
    with pytest.raises(ConfigError) as error:
        configfile.from_mapping(raw)
    assert error.value.key == key


def test_custom_dimensions_load_with_their_scope() -> None:
    raw = demo_raw()
    raw["sites"][0]["dimensions"] = [{"id": 1, "name": "Plan", "scope": "visit"}, {"id": 4, "name": "Ämne"}]
    site = configfile.from_mapping(raw).sites[0]
    assert [(d.id, d.name, d.scope) for d in site.dimensions] == [(1, "Plan", "visit"), (4, "Ämne", "action")]


def test_a_bad_config_file_exits_2_with_one_paragraph_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nport = "x"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "samtycke", "migrate", "--config", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "`server.port`" in result.stderr
    assert result.stderr.strip().count("\n") == 0, "one paragraph"


def test_init_writes_a_config_that_loads_as_it_stands(tmp_path: Path) -> None:
    path = tmp_path / "samtycke.toml"
    subprocess.run([sys.executable, "-m", "samtycke", "init", str(path)], check=True, capture_output=True)
    settings = configfile.load(path, {})
    assert settings.sites and settings.sites[0].cookies
    again = subprocess.run(
        [sys.executable, "-m", "samtycke", "init", str(path)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "--force" in again.stderr
