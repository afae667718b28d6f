"""GeoIP from .mmdb files written here, and which address it sees behind proxies."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from analytics.ingestion.geo import UNKNOWN, GeoIP, Location
from tests.analytics.conftest import CHROME, AppFactory, hit, rows, write_mmdb


def test_detail_follows_the_site_setting(geoip_db: Path) -> None:
    geo = GeoIP(str(geoip_db))
    address = ipaddress.ip_address("81.230.9.9")
    assert geo.locate(address, "city") == Location("SE", "SE-AB", "Stockholm")
    assert geo.locate(address, "region") == Location("SE", "SE-AB", "")
    assert geo.locate(address, "country") == Location("SE", "", "")
    assert geo.locate(address, "none") == UNKNOWN
    assert geo.locate(ipaddress.ip_address("::ffff:81.230.9.9"), "country").country == "SE"
    assert geo.locate(ipaddress.ip_address("2a02:aa1::1"), "city") == Location("FI", "", "")
    assert geo.locate(ipaddress.ip_address("8.8.8.8"), "city") == UNKNOWN


def test_missing_or_broken_database_means_unknown(tmp_path: Path) -> None:
    assert not GeoIP(str(tmp_path / "absent.mmdb")).loaded
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    geo = GeoIP(str(broken))
    assert geo.locate(ipaddress.ip_address("81.230.9.9"), "city") == UNKNOWN
    assert GeoIP("").locate(ipaddress.ip_address("81.230.9.9"), "city") == UNKNOWN


def test_country_only_database(tmp_path: Path) -> None:
    path = write_mmdb(tmp_path / "country.mmdb", {"81.0.0.0/8": {"country": {"iso_code": "se"}}})
    assert GeoIP(str(path)).locate(ipaddress.ip_address("81.1.1.1"), "city") == Location("SE", "", "")


def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    make_client: AppFactory, geoip_db: Path
) -> None:
    forwarded = {"user-agent": CHROME, "x-forwarded-for": "81.230.1.1"}
    trusted = make_client(peer="127.0.0.1", analytics={"geoip_database": str(geoip_db)})
    trusted.get("/matomo.php", params=hit(), headers=forwarded)
    trusted.get(
        "/matomo.php",
        params=hit(),
        headers={**forwarded, "x-forwarded-for": "", "forwarded": "for=193.10.2.2"},
    )
    assert sorted(rows(trusted, "SELECT country, city FROM events")) == [("NO", "Oslo"), ("SE", "Stockholm")]
    # The demo site keeps cities; a site set to "country" keeps only that.
    untrusted = make_client(peer="193.10.9.9", analytics={"geoip_database": str(geoip_db)})
    untrusted.get("/matomo.php", params=hit(), headers=forwarded)
    assert rows(untrusted, "SELECT country FROM events") == [("NO",)]
