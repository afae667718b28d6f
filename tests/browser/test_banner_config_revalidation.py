"""The banner's configuration is revalidated on every page load, so a new notice version asks
again on the very next page view instead of once a cached copy has run out.

One address, two deployments: the demo site is served, stopped, and served again on the same
port with a newer notice version, while the same Chromium context keeps its HTTP cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Site, click_action, dialog_visible, open_demo
from tests.support.config import demo_raw
from tests.support.live import LiveServer
from tests.support.ports import free_port

pytestmark = pytest.mark.browser


def deployment(base: Path, port: int, version: str) -> LiveServer:
    raw = demo_raw(server={"secret_keys": ["k"]})
    raw["sites"][0]["notice"]["version"] = version
    return LiveServer.of(base, raw, f"samtycke-{version}.toml", port=port)


@pytest.fixture
def redeployed(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    port = free_port()
    first, second = deployment(tmp_path, port, "2026-11-01"), deployment(tmp_path, port, "2026-12-01")
    yield first, second
    first.stop()
    second.stop()


def test_a_new_notice_version_asks_again_on_the_next_page_view(
    redeployed: tuple[LiveServer, LiveServer], page: Page
) -> None:
    first, second = redeployed
    site = Site(first.start())
    open_demo(page, site.url())
    config = page.evaluate(
        "fetch('/api/v1/sites/1/consent-config?lang=sv').then((r) => r.headers.get('cache-control'))"
    )
    assert config == "no-cache"
    click_action(page, "accept-all")
    open_demo(page, site.url("/demo?sida=kundservice"))
    assert not dialog_visible(page)  # decided, under the first version

    first.stop()
    second.start()
    open_demo(page, site.url())  # the same URL, the same browser cache
    assert page.evaluate("window.samtycke.get().decided") is False
    assert dialog_visible(page)
    assert page.evaluate("window.demoRan") is None
