"""The smaller hardening rules: config names in DDL, CSV cells, /static, CORS, page headers,
the data directory's permissions and erasure of quarantined journal segments, and the
Docker deployment's trusted proxies.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.settings import loading as configfile
from samtycke.settings.loading import ConfigError
from samtycke.web.app import create_app
from tests.support.config import demo_raw

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
