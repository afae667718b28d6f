"""What the crawl saw: the pages visited in each scenario and what each page stored.

Plain data, apart from the crawl, so that judging and reporting need no browser and no
Playwright: a scan can be judged and reported wherever samtycke is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageVisit:
    url: str
    cookies: list[dict[str, Any]]
    local_storage: list[str]
    session_storage: list[str]
    third_party: list[str]
    seen_at: float


@dataclass
class Scenario:
    name: str
    visits: list[PageVisit] = field(default_factory=list)
    note: str = ""
    after_withdrawal: list[PageVisit] = field(default_factory=list)
