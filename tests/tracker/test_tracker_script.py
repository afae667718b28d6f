"""The tracker script itself: what samtycke serves, and how small it is."""

from __future__ import annotations

import gzip

import httpx
import pytest

from tests.support.paths import REPO
from tests.tracker.conftest import Collector

BUILT = REPO / "analytics" / "ingestion" / "static" / "matomo.js"
GZIP_BUDGET = 4096  # bytes after gzip -9; Matomo's own matomo.js is about 23 KB


@pytest.mark.parametrize("path", ["/matomo.js", "/piwik.js"])
def test_samtycke_serves_the_built_tracker(collector: Collector, path: str) -> None:
    response = httpx.get(collector.url(path))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert response.content == BUILT.read_bytes()


def test_the_tracker_stays_small() -> None:
    code = BUILT.read_bytes()
    assert code.startswith(b"/*! samtycke matomo.js")  # the licence line survives minification
    assert len(gzip.compress(code, compresslevel=9, mtime=0)) <= GZIP_BUDGET
