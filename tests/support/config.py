"""Test configurations: the built-in demo with overrides, and a database of one's own."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from samtycke.settings import loading as configfile


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def demo_raw(**overrides: Any) -> dict[str, Any]:
    """The built-in demo configuration as a dict, with overrides merged in."""
    return deep_merge(configfile.demo_config(), overrides)


# A choice the built-in demo's site 1 records: its notice version, a decision on every optional category.
DEMO_CHOICE: dict[str, Any] = {
    "site_id": 1,
    "decisions": {"preferences": False, "statistics": True, "marketing": False},
    "method": "custom",
    "notice_version": "2026-11-01",
    "lang": "sv",
}


def unique_database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def split_url(url: str) -> tuple[str, str]:
    """``chdb://path#db`` carries the test database after the fragment mark."""
    if url.startswith("chdb://") and "#" in url:
        base, database = url.split("#", 1)
        return base, database
    return url, "samtycke"
