"""Location from the full IP address, looked up in memory before the address is discarded.

The database is a MaxMind-format ``.mmdb`` (GeoLite2/GeoIP2 City or Country, DB-IP,
or one written with mmdb-writer), loaded whole into memory at start.  Without one, or
with one that cannot be read, every location is unknown and nothing else changes.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

from samtycke.clientip import unmapped

logger = logging.getLogger("samtycke.analytics.geo")


@dataclass(frozen=True)
class Location:
    country: str = ""  # ISO 3166-1 alpha-2
    region: str = ""  # ISO 3166-2 subdivision code, e.g. "SE-AB"
    city: str = ""


UNKNOWN = Location()


class GeoIP:
    def __init__(self, path: str) -> None:
        self._reader: Any = None
        if not path:
            return
        try:
            self._reader = maxminddb.open_database(str(Path(path)), maxminddb.MODE_MEMORY)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            logger.warning(
                "GeoIP database unusable; locations will be unknown", extra={"reason": str(exc)[:200]}
            )

    @property
    def loaded(self) -> bool:
        return self._reader is not None

    def locate(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address, detail: str) -> Location:
        if self._reader is None or detail == "none":
            return UNKNOWN
        try:
            found = self._reader.get(unmapped(address))
        except (ValueError, maxminddb.InvalidDatabaseError):
            return UNKNOWN
        if not isinstance(found, dict):
            return UNKNOWN
        country = _text(found.get("country"), "iso_code").upper()[:2]
        region = city = ""
        if detail in ("region", "city"):
            subdivisions = found.get("subdivisions")
            if isinstance(subdivisions, list) and subdivisions:
                code = _text(subdivisions[0], "iso_code")
                region = f"{country}-{code}" if code and country else code
        if detail == "city":
            city = _name(found.get("city"))
        return Location(country, region[:16], city[:100])

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _text(record: Any, key: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, str) else ""


def _name(record: Any) -> str:
    names = record.get("names") if isinstance(record, dict) else None
    if not isinstance(names, dict):
        return ""
    value = names.get("en") or next(iter(names.values()), "")
    return value if isinstance(value, str) else ""
