"""A changed cookie declaration asks again: it cannot slip in under a version visitors already answered.

A visitor accepts everything; the operator then adds a third party's marketing cookie and
restarts on the same consent log.  Under the old notice version the consent log refuses to
open and says which change needs a new version; with the version bumped, the same browser
is asked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w
from playwright.sync_api import BrowserContext

from tests.browser.conftest import NOTICE, WWW, click_action, dialog_visible, open_demo
from tests.support.config import demo_raw
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

PIXEL = {
    "name": "demo_pixel",
    "category": "marketing",
    "provider": "Annonsnätverket AB",
    "purpose": "Följer dig mellan webbplatser för att visa annonser.",
    "lifetime": "13 months",
    "party": "third",
}


def serve(base: Path, version: str, extra_cookies: list[dict[str, Any]], ready: bool = True) -> LiveServer:
    raw = demo_raw(storage={"data_dir": str(base / "data")}, server={"secret_keys": ["declaration-key"]})
    site = raw["sites"][0]
    site["notice"]["version"] = version
    site["cookies"] = [*site["cookies"], *extra_cookies]
    config = base / f"samtycke-{version}-{len(site['cookies'])}.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return LiveServer(data_dir=base / "data", config_path=config).start(ready=ready)


def readiness_problem(server: LiveServer) -> str:
    """What /readyz reports once the consent log has made up its mind."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(server.url + "/readyz")
        if answer.status_code == 200 or "notice.version" in answer.text:
            return answer.text if answer.status_code != 200 else ""
        time.sleep(0.2)
    raise AssertionError(f"/readyz never settled: {httpx.get(server.url + '/readyz').text}")


def test_a_new_third_party_cookie_needs_a_new_version_and_asks_again(
    tmp_path: Path, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = context.new_page()
    first = serve(tmp_path, NOTICE, [])
    try:
        open_demo(page, f"http://{WWW}:{first.port}/demo")
        click_action(page, "accept-all")
    finally:
        first.stop()

    unbumped = serve(tmp_path, NOTICE, [PIXEL], ready=False)
    try:
        problem = readiness_problem(unbumped)
        consent = httpx.post(
            unbumped.url + "/api/v1/consent",
            json={
                "site_id": 1,
                "decisions": {"marketing": True},
                "method": "custom",
                "notice_version": NOTICE,
            },
            headers={"Origin": unbumped.url},
        )
    finally:
        unbumped.stop()
    assert "new cookie 'demo_pixel'" in problem and "sites[0].notice.version" in problem
    assert consent.status_code == 503, "no consent is recorded against a declaration it did not cover"

    bumped = serve(tmp_path, "2026-12-24", [PIXEL])
    try:
        open_demo(page, f"http://{WWW}:{bumped.port}/demo")
        assert dialog_visible(page), "the visitor who accepted the old declaration is asked again"
        page.click("[data-samtycke-action=settings]")
        assert "Annonsnätverket AB" in page.locator(".stk-d").inner_text()
    finally:
        bumped.stop()
